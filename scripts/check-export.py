#!/usr/bin/env python3
"""Reads `bench export` output with the reference parsers; exits 1 on the first thing they refuse.

    scripts/check-export.py --openmetrics FILE.om --influx FILE.influx [--csv RAW.csv]

OpenMetrics goes through prometheus_client's OpenMetrics parser (the Python reference
implementation) and influx through line-protocol-parser. With --csv, every exported value of a
config with one ok repetition must equal that row's column, so a parse that succeeds on wrong
numbers fails too. Needs `pip install prometheus_client line-protocol-parser`.
"""
import argparse
import csv
import sys

try:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
    import line_protocol_parser
except ImportError as error:
    sys.exit(f"check-export: {error}: pip install prometheus_client line-protocol-parser")

CONFIG = ["run_id", "host", "kernel", "backend", "page_bytes", "region_bytes", "block_bytes", "layout", "thp",
          "plugged_fraction", "resident_fraction", "strategy", "phase"]
RENAMED = {"duration_seconds": "seconds"}


def column_of(metric):
    name = metric[len("populatebench_"):]
    return RENAMED.get(name, name)


def single_repetition_rows(path):
    """Rows of configs that ran once and were ok, keyed by their config: the values export must copy."""
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    counts = {}
    for row in rows:
        key = tuple(row[c] for c in CONFIG)
        counts[key] = counts.get(key, 0) + 1
    return {tuple(row[c] for c in CONFIG): row for row in rows
            if counts[tuple(row[c] for c in CONFIG)] == 1 and row["status"] == "ok"}


def check_openmetrics(path, expected):
    text = open(path).read()
    samples = compared = 0
    families = list(text_string_to_metric_families(text))
    for family in families:
        if family.type != "gauge":
            raise ValueError(f"{family.name}: type {family.type}, expected gauge")
        for sample in family.samples:
            samples += 1
            row = expected.get(tuple(sample.labels.get(c, "") for c in CONFIG))
            column = column_of(sample.name)
            if row is None or column in ("trials", "numa_pages") or not row.get(column):
                continue
            if float(row[column]) != sample.value:
                raise ValueError(f"{sample.name}{sample.labels}: {sample.value}, the CSV has {row[column]}")
            compared += 1
    print(f"openmetrics: {path}: {len(families)} families, {samples} samples parsed"
          + (f", {compared} equal to the CSV" if expected else ""))


def check_influx(path, expected):
    points = compared = 0
    for number, line in enumerate(open(path), 1):
        if not line.strip():
            continue
        try:
            point = line_protocol_parser.parse_line(line)
        except line_protocol_parser.LineFormatError as error:
            raise ValueError(f"line {number}: {error}: {line.strip()}")
        points += 1
        tags = point["tags"]
        row = expected.get(tuple(tags.get(c, "") for c in CONFIG))
        column = tags.get("metric")
        if row is None or point["measurement"] != "populatebench" or column == "numa_pages" or not row.get(column):
            continue
        if float(row[column]) != point["fields"]["value"]:
            raise ValueError(f"line {number}: value {point['fields']['value']}, the CSV has {row[column]}")
        compared += 1
    print(f"influx: {path}: {points} points parsed" + (f", {compared} equal to the CSV" if expected else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openmetrics", help="output of bench export --format openmetrics")
    parser.add_argument("--influx", help="output of bench export --format influx")
    parser.add_argument("--csv", help="the raw CSV both were exported from")
    args = parser.parse_args()
    if not args.openmetrics and not args.influx:
        parser.error("give --openmetrics, --influx or both")
    expected = single_repetition_rows(args.csv) if args.csv else {}
    try:
        if args.openmetrics:
            check_openmetrics(args.openmetrics, expected)
        if args.influx:
            check_influx(args.influx, expected)
    except ValueError as error:
        print(f"check-export: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
