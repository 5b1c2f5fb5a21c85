#!/usr/bin/env python3
"""Charts of a PopulateBench results CSV (its columns are described in docs/cli.md; their schema,
docs/columns.json, is what the charts read them by).

usage: python3 scripts/plot.py RESULTS.csv [--samples SAMPLES.csv] [--stalls STALLS.csv] [--out DIR]
       python3 scripts/plot.py --watch SAMPLES.csv [--out DIR]
       python3 scripts/plot.py --check-schema

Writes PNG and SVG for each chart the data supports and says, in one line each, why it skipped the
others: memory (cost by kind against the model), plugged-sweep (cost against the plugged fraction),
times (seconds of populate and protect), snapshot (the samples CSV over time), stalls (the CDF of
how long the guest's writes waited during the snapshot, per strategy, from the stalls CSV), numa
(pages per node), qemu (a `bench qemu` CSV: the real QEMU's gains beside the emulation's and the
model's) and watch (a `bench watch` or `bench qemu` samples CSV over time). Only rows with status `ok`
count. Exit codes: 0 done, 2 unusable input (missing or empty CSV, missing columns), 1 any other error.

--check-schema (no matplotlib needed) checks that every column the charts read is in
docs/columns.json, in a unit they can draw: 0 and one line when all are, 1 and a line per missing one.

The charts live in scripts/populateplot/ (one function per chart); this file is its entry point.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from populateplot.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
