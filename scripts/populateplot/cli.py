"""plot.py's command line: which CSVs to read, which charts to draw, exit codes."""

import argparse
import sys
from pathlib import Path

from . import needs, schema as schemas
from .cancel import plot_cancel, plot_guest_writes
from .config import panels_of
from .load import InputError, PlotError, is_watch_samples, load_results, load_table, unit_problems
from .memory import plot_memory, plot_plugged_sweep
from .numa import plot_numa
from .qemu import QEMU_STRATEGIES, plot_qemu
from .series import plot_snapshot, plot_watch
from .stalls import plot_stalls
from .timing import plot_times


def default_samples(results):
    name = results.name[:-4] if results.name.endswith(".csv") else results.name
    return results.with_name(f"{name}-samples.csv")


def default_stalls(results):
    name = results.name[:-4] if results.name.endswith(".csv") else results.name
    return results.with_name(f"{name}-stalls.csv")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="plot.py", description="Charts of a PopulateBench results CSV.")
    parser.add_argument("results", type=Path, metavar="RESULTS.csv", nargs="?")
    parser.add_argument("--watch", type=Path, metavar="SAMPLES.csv",
                        help="a bench watch samples CSV: draw its time series (RESULTS.csv is then optional)")
    parser.add_argument("--samples", type=Path, metavar="SAMPLES.csv",
                        help="snapshot samples [RESULTS-samples.csv when it exists]")
    parser.add_argument("--stalls", type=Path, metavar="STALLS.csv",
                        help="write-stall distributions [RESULTS-stalls.csv when it exists]")
    parser.add_argument("--out", type=Path, default=Path("results/plots"), metavar="DIR",
                        help="where the charts go [results/plots/]")
    parser.add_argument("--check-schema", action="store_true",
                        help="check that every column the charts read is in docs/columns.json, then exit "
                             "(0 all there, 1 otherwise); needs no matplotlib")
    return parser.parse_args(argv)


def check_schema():
    """--check-schema: 0 when every declared column is in the schema (in a unit its reader can draw),
    1 naming each one that is not."""
    schema = schemas.load()
    n, missing = needs.check(schema)
    missing += schemas.problems(schema) + unit_problems(schema)
    if missing:
        for line in missing:
            print(f"plot.py: {line}", file=sys.stderr)
        return 1
    print(f"plot.py: {n} columns, all in {schema.path.relative_to(schemas.ROOT)}")
    return 0


def run(args):
    if args.results is None and args.watch is None:
        raise InputError("give RESULTS.csv, --watch SAMPLES.csv, or both")
    from .figures import skip  # exits 1 here if matplotlib is missing, before any input is read
    schema = schemas.load()
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PlotError(f"cannot create {args.out}: {e.strerror}")
    if args.watch is not None:
        plot_watch(schema, load_table(args.watch, schema, "watch"), args.out)
        if args.results is None:
            return
    rows = load_results(args.results, schema)
    samples_path = args.samples or default_samples(args.results)
    samples = None
    if args.samples or samples_path.exists():
        # bench qemu's samples are the QEMU process's, as bench watch's: a time series of their own.
        if is_watch_samples(samples_path, schema):
            if args.watch is None:
                plot_watch(schema, load_table(samples_path, schema, "watch"), args.out)
        else:
            samples = load_table(samples_path, schema, "samples")
    plot_qemu(schema, rows, args.out)
    plot_cancel(schema, rows, args.out)
    plot_guest_writes(schema, rows, args.out)
    # The real rows have their own chart; the emulation's rows are ordinary runs for the others.
    rows = [r for r in rows if r["strategy"] not in QEMU_STRATEGIES] or rows
    panels = panels_of(rows)
    plot_memory(schema, panels, args.out)
    plot_plugged_sweep(schema, rows, args.out)
    plot_times(schema, panels, args.out)
    if samples is None:
        skip("snapshot", f"no snapshot samples CSV ({samples_path} does not exist or is a watch CSV; "
                         "--samples names one)")
    else:
        plot_snapshot(schema, samples, rows, args.out)
    stalls_path = args.stalls or default_stalls(args.results)
    stalls = None
    if args.stalls or stalls_path.exists():
        try:
            stalls = load_table(stalls_path, schema, "stalls")
        except InputError:
            if args.stalls:
                raise
    if not stalls:
        skip("stalls", f"no stall distributions ({stalls_path} is missing or has no rows; --stalls names one)")
    else:
        plot_stalls(schema, stalls, args.out)
    if rows[0]["numa"] is None:
        skip("numa", "the CSV has no numa_pages column")
    else:
        plot_numa(schema, panels, args.out)


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.check_schema:
            return check_schema()
        run(args)
    except InputError as e:
        print(f"plot.py: {e}", file=sys.stderr)
        return 2
    except (PlotError, schemas.SchemaError) as e:
        print(f"plot.py: {e}", file=sys.stderr)
        return 1
    return 0
