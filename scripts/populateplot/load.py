"""Reading the harness's CSVs: each header is checked against its table in docs/columns.json for the
columns the charts declare (populateplot/needs.py), and values are converted by the schema's units.
Nothing here imports matplotlib."""

import csv
from collections import Counter

from . import config, needs
from .numa import NUMA_PAGES

NEEDS = needs.declare("load", raw=("status",))
# How values are converted by their unit in the schema; "text" stays as it is.
NUMBERS = {"bytes": int, "count": int, "seconds": float, "microseconds": float, "fraction": float}


class InputError(Exception):
    """The input cannot be read as the CSV it should be: exit code 2."""


class PlotError(Exception):
    """Anything else that stops the charts: exit code 1."""


def unit_problems(schema):
    """Lines naming columns whose unit this loader does not know how to convert."""
    return [f"{table.name}.{c.name}: unit '{c.unit}' is not one populateplot/load.py converts"
            for table in schema.tables.values() for c in table.own if c.unit not in NUMBERS and c.unit != "text"]


def read_csv(path):
    """(header, rows as dicts) of a CSV file; InputError if it is missing or empty."""
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames
            rows = list(reader)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file")
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"{path}: cannot read: {e}")
    if not header:
        raise InputError(f"{path}: empty file (expected a header line and rows)")
    return header, rows


def check_header(path, header, schema, table, tables):
    """The columns to convert (name -> True if every row read must have a value) after checking that
    header has every column the charts need from tables; InputError naming the missing ones, the
    charts that need them and, when the header is another table's, which."""
    required, blank, optional = {}, {}, {}
    for t in tables:
        r, b, o = needs.of(t)
        for into, part in ((required, r), (blank, b), (optional, o)):
            for name, owners in part.items():
                into.setdefault(name, []).extend(owners)
    missing = [n for n in list(required) + list(blank) if n not in header]
    if missing:
        owners = sorted({o for n in missing for o in required.get(n, blank.get(n, []))} - {"config", "load"})
        hint = f"; needed by {', '.join(owners)}" if owners else ""
        other = schema.identify(header)
        if other is not None and other.name != table.name and other.name not in tables:
            hint += f"; its header is {schema.path.name}'s {other.name} table ({other.file})"
        s = "s" if len(missing) > 1 else ""
        raise InputError(f"{path}: missing column{s}: {', '.join(missing)}{hint}")
    columns = {n: True for n in required}
    columns.update({n: False for n in list(blank) + list(optional) if n in header and n not in columns})
    return columns


def convert(row, columns, table, path, line):
    """row with columns (name -> value required) converted by their unit in table; a blank number is
    None where allowed; PlotError naming the file, line and column otherwise."""
    for column, required in columns.items():
        value = row.get(column)
        if value is None:
            raise PlotError(f"{path}, line {line}: fewer fields than the header (no {column})")
        kind = NUMBERS.get(table.unit(column)) if column in table else None
        if kind is None:
            continue
        if value == "":
            if required:
                raise PlotError(f"{path}, line {line}: {column} is empty")
            row[column] = None
            continue
        try:
            row[column] = kind(value)
        except ValueError:
            try:
                row[column] = float(value)  # a count or byte value written as 1.5e6
            except ValueError:
                raise PlotError(f"{path}, line {line}: {column} '{value}' is not a number")
    return row


def load_results(path, schema):
    """The ok rows of a results CSV (bench run or bench qemu), numbers converted by the schema, each
    with its Config under 'config' and its numa_pages parsed under 'numa' (None without the column)."""
    table = schema["qemu"]  # the raw columns, then bench qemu's
    header, raw = read_csv(path)
    columns = check_header(path, header, schema, table, ("raw", "qemu"))
    kind = config.config_type(schema)
    for c in kind._fields:
        if c in header and c not in columns:
            columns[c] = False
    if not raw:
        raise InputError(f"{path}: a header but no rows")
    rows = []
    for line, r in enumerate(raw, start=2):
        if r["status"] != "ok":
            continue
        row = convert(dict(r), columns, table, path, line)
        row["config"] = config.config_of(kind, row)
        row["numa"] = parse_numa(r[NUMA_PAGES], path, line) if NUMA_PAGES in r else None
        rows.append(row)
    if not rows:
        statuses = ", ".join(f"{n} {s}" for s, n in Counter(r["status"] for r in raw).items())
        raise PlotError(f"{path}: no row has status ok ({statuses})")
    return rows


def load_table(path, schema, name):
    """Every row of a samples, watch or stalls CSV, reduced to the columns the charts read from that
    table (converted by the schema's units)."""
    table = schema[name]
    header, raw = read_csv(path)
    columns = check_header(path, header, schema, table, (name,))
    if not raw:
        raise InputError(f"{path}: a header but no rows")
    return [convert({c: r.get(c) for c in columns}, columns, table, path, line)
            for line, r in enumerate(raw, start=2)]


def is_watch_samples(path, schema):
    """Whether a samples CSV is bench watch's or bench qemu's: its header is the watch table's
    (the snapshot samples' columns, then the process's)."""
    try:
        with open(path, newline="") as f:
            header = csv.DictReader(f).fieldnames or []
    except OSError:
        return False
    table = schema.identify(header)
    return table is not None and table.name == "watch"


def parse_numa(text, path, line):
    """numa_pages ('0:1234;1:5678;zero:N;none:N') as {key: pages}; {} when empty."""
    pages = {}
    for item in filter(None, (text or "").split(";")):
        key, sep, value = item.partition(":")
        if not sep or not value.strip().isdigit():
            raise PlotError(f"{path}, line {line}: numa_pages '{text}' is not like 0:12;1:34;zero:N;none:N")
        pages[key.strip()] = int(value)
    return pages
