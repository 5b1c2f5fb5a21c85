#!/usr/bin/env python3
"""Checks one kernel's results from scripts/kernels.sh: kernel-check.py DIR LABEL...

Every row of every run must be ok, or skipped for a feature the kernel is too old for (its reason
names the Linux version that brought it, and that version is newer than the guest's); an ok row's
memory figures must equal the model's (page tables within 5%, exactly 0 where the model says 0;
data within 5%, or within the 64 pages per-CPU RSS counters lag by where the model says 0); the
snapshot strategies that protect every plugged page must be consistent. bench doctor must have
exited 0 (DIR/doctor.rc; results without it: doctor.txt must hold its report). A row that a
truncated or damaged CSV left unreadable is a FAIL line naming the row and the column, never a
traceback. Prints one line a check and a summary; exits 1 if any check fails, 2 on bad usage.
"""
import csv
import os
import re
import sys

MODEL_TOLERANCE = 0.05
RSS_LAG_BYTES = 64 * 4096
# Strategies whose snapshot holds no lost write on any backend where they run.
CONSISTENT = {"qemu-7.2", "qemu-8.0", "wp-unpopulated", "qemu-7.2-wp-unpopulated", "qemu-7.2.0"}


def version_tuple(text):
    match = re.match(r"(\d+)\.(\d+)", text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


class Malformed(Exception):
    """A row a truncated or damaged CSV left unreadable."""


def row_name(r):
    """Where a row is: its CSV line, backend/strategy/phase#repetition."""
    where = "/".join(str(r.get(c)) for c in ("backend", "strategy", "phase")) + f"#{r.get('repetition')}"
    return f"line {r['_line']} ({where})" if "_line" in r else where


def field(r, column):
    """r[column], or Malformed naming the row and the column (a header without it)."""
    try:
        value = r[column]
    except (KeyError, TypeError):
        raise Malformed(f"{row_name(r)}: no column {column}") from None
    if value is None:
        raise Malformed(f"{row_name(r)}: column {column} is missing (a truncated row)")
    return value


def number(r, column):
    """The integer in r[column], or Malformed naming the row and the column."""
    value = field(r, column)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Malformed(f"{row_name(r)}: column {column} is {value!r}, not a whole number") from None


def read_rows(path):
    """The rows of a CSV, each with its line ('_line'); Malformed for a row with too few or too many
    cells (the first such, and the first column it lacks) or a file csv cannot read."""
    if not os.path.exists(path) or not os.path.getsize(path):
        return []
    rows = []
    try:
        with open(path, newline="", errors="replace") as f:
            reader = csv.DictReader(f)
            for r in reader:
                r["_line"] = reader.line_num
                rows.append(r)
            columns = reader.fieldnames or []
    except csv.Error as problem:
        raise Malformed(f"{os.path.basename(path)}: {problem}") from None
    short = [r for r in rows if None in r.values()]
    long = [r for r in rows if None in r]
    if short:
        r = short[0]
        lacking = next(c for c in columns if r.get(c) is None)
        raise Malformed(f"{len(short)} row(s) with too few cells, the first {row_name(r)}: "
                        f"no value from column {lacking} on")
    if long:
        raise Malformed(f"{len(long)} row(s) with more cells than the header, the first {row_name(long[0])}")
    return rows


def main():
    if len(sys.argv) < 3:
        print("usage: kernel-check.py DIR LABEL...   (e.g. kernel-check.py results/kernels/6.1 run snapshot)",
              file=sys.stderr)
        return 2
    out, labels = sys.argv[1], sys.argv[2:]
    results = []

    def check(name, ok, detail=""):
        results.append(bool(ok))
        print(f"  {'PASS' if ok else 'FAIL'}  {name}" + (f": {detail}" if detail else ""))

    def read(name):
        path = os.path.join(out, name)
        # A serial console may carry bytes that are no UTF-8.
        return open(path, errors="replace").read() if os.path.exists(path) else None

    uname = (read("uname.txt") or "").strip()
    kernel = version_tuple(uname)
    check("the kernel said its release", kernel is not None, uname or "no uname block on the console")
    doctor = read("doctor.txt")
    doctor_rc = (read("doctor.rc") or "").strip()
    if doctor_rc:
        check("bench doctor exited 0", doctor_rc == "0" and doctor is not None,
              "" if doctor_rc == "0" else f"exit {doctor_rc} (see doctor.txt)")
    else:
        # Results of an older kernels.sh have no doctor.rc: its report's text is all there is.
        check("bench doctor ran", doctor is not None and "kernel" in doctor,
              "" if doctor else "no doctor block on the console")

    for label in labels:
        try:
            check_label(label, out, read, check, kernel, uname)
        except (Malformed, KeyError, TypeError, ValueError, IndexError) as problem:
            check(f"{label}: every row is readable", False,
                  f"{label}.csv: {problem}" if isinstance(problem, Malformed) else f"{label}.csv: {problem!r}")

    failed = results.count(False)
    print(f"  {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def check_label(label, out, read, check, kernel, uname):
    """The checks of one bench run's rows (run.csv, snapshot.csv)."""
    rc = (read(f"{label}.rc") or "none (the guest never got there)").strip()
    path = os.path.join(out, f"{label}.csv")
    try:
        rows = read_rows(path)
    except Malformed:
        check(f"{label}: bench run exited 0 and wrote rows", False, f"exit {rc}, unreadable rows")
        raise
    check(f"{label}: bench run exited 0 and wrote rows", rc == "0" and rows,
          f"exit {rc}, {len(rows)} rows" + ("" if rc == "0" else f" (see {label}.txt)"))
    # Every column read below, checked once on every row: a damaged row is named here.
    for r in rows:
        for column in ("status", "backend", "strategy", "phase", "repetition", "reason"):
            field(r, column)
    ok = [r for r in rows if r["status"] == "ok"]
    skipped = [r for r in rows if r["status"] == "skipped"]
    failed = [r for r in rows if r["status"] not in ("ok", "skipped")]
    print(f"        {label}: {len(ok)} ok, {len(skipped)} skipped, {len(failed)} failed rows")
    check(f"{label}: no row failed", not failed,
          "; ".join(f"{r['backend']}/{r['strategy']}/{r['phase']}: {r['reason']}" for r in failed[:4]))

    # A skip is honest when it names a Linux version newer than this one.
    reasons = {}
    unexplained = []
    for r in skipped:
        reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
        needed = [version_tuple(v) for v in re.findall(r"Linux (\d+\.\d+)", r["reason"])]
        if not needed or kernel is None or not any(v > kernel for v in needed):
            unexplained.append(f"{r['backend']}/{r['strategy']}: {r['reason']}")
    for reason, count in sorted(reasons.items()):
        print(f"        skipped x{count}: {reason}")
    check(f"{label}: every skip names a feature newer than {uname or 'the kernel'}", not unexplained,
          "; ".join(sorted(set(unexplained))[:4]))

    # The model: only rows it predicts (a snapshot with writers leaves expected_* empty).
    off = []
    modelled = 0
    for r in ok:
        if field(r, "expected_pte_bytes") == "" or field(r, "expected_data_bytes") == "":
            continue
        modelled += 1
        where = f"{r['backend']}/{r['strategy']}/{r['phase']}#{r['repetition']}"
        pte, expected_pte = number(r, "pte_bytes"), number(r, "expected_pte_bytes")
        data = number(r, "rss_bytes") + (number(r, "hugetlb_bytes") if r.get("hugetlb_bytes") else 0)
        expected_data = number(r, "expected_data_bytes")
        if expected_pte > 0 and abs(pte - expected_pte) > MODEL_TOLERANCE * expected_pte:
            off.append(f"{where}: VmPTE {pte} vs model {expected_pte}")
        if expected_pte == 0 and pte != 0:
            off.append(f"{where}: VmPTE {pte} vs model 0")
        if expected_data > 0 and abs(data - expected_data) > MODEL_TOLERANCE * expected_data:
            off.append(f"{where}: data {data} vs model {expected_data}")
        if expected_data <= 0 and abs(data - expected_data) > RSS_LAG_BYTES:
            off.append(f"{where}: data {data} vs model {expected_data}")
    if modelled:
        check(f"{label}: the memory figures of {modelled} modelled ok rows equal the model", not off,
              f"{len(off)} off: " + "; ".join(off[:6]) if off else "")

    # numa_pages accounts for every page of the region once: no count below zero, and their sum
    # is the region's pages (nodes, zeropage and absent together).
    miscounted = []
    for r in ok:
        if not r.get("numa_pages"):
            continue
        try:
            counts = [int(part.rpartition(":")[2]) for part in r["numa_pages"].split(";") if part]
        except ValueError:
            raise Malformed(f"{row_name(r)}: column numa_pages is {r['numa_pages']!r}") from None
        pages = number(r, "region_bytes") // max(1, number(r, "page_bytes"))
        if any(c < 0 for c in counts) or sum(counts) != pages:
            miscounted.append(f"{r['backend']}/{r['strategy']}/{r['phase']}#{r['repetition']}: "
                              f"{r['numa_pages']} for {pages} pages")
    placed = sum(1 for r in ok if r.get("numa_pages"))
    if placed:
        check(f"{label}: numa_pages of {placed} ok rows counts every page once", not miscounted,
              f"{len(miscounted)} off: " + "; ".join(miscounted[:4]) if miscounted else "")

    snapshots = [r for r in ok if r["phase"] == "snapshot"]
    if snapshots:
        lost = [f"{r['backend']}/{r['strategy']}#{r['repetition']}: {field(r, 'inconsistent_pages')} pages"
                for r in snapshots if r["strategy"] in CONSISTENT and field(r, "inconsistent_pages") not in ("", "0")]
        check(f"{label}: the strategies that protect every plugged page lose no write", not lost, "; ".join(lost[:4]))
        for r in snapshots:
            if r["strategy"] not in CONSISTENT:
                print(f"        {r['backend']}/{r['strategy']}#{r['repetition']}: "
                      f"{r['inconsistent_pages'] or '-'} inconsistent pages")


if __name__ == "__main__":
    sys.exit(main())
