#!/usr/bin/env python3
"""Charts of a PopulateBench results CSV (its columns are described in docs/cli.md).

usage: python3 scripts/plot.py RESULTS.csv [--samples SAMPLES.csv] [--stalls STALLS.csv] [--out DIR]
       python3 scripts/plot.py --watch SAMPLES.csv [--out DIR]

Writes PNG and SVG for each chart the data supports and says, in one line each, why it skipped the
others: memory (cost by kind against the model), plugged-sweep (cost against the plugged fraction),
times (seconds of populate and protect), snapshot (the samples CSV over time), stalls (the CDF of
how long the guest's writes waited during the snapshot, per strategy, from the stalls CSV), numa
(pages per node), qemu (a `bench qemu` CSV: the real QEMU's gains beside the emulation's and the
model's) and watch (a `bench watch` or `bench qemu` samples CSV over time). Only rows with status `ok`
count. Exit codes: 0 done, 2 unusable input (missing or empty CSV, missing columns), 1 any other error.
"""

import argparse
import csv
import math
import statistics
import sys
import textwrap
from collections import Counter, defaultdict
from pathlib import Path
from typing import NamedTuple

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, NullFormatter
except ImportError:
    sys.exit("plot.py: matplotlib is missing: install it with scripts/setup.sh --plot")

REQUIRED = [
    "host", "kernel", "backend", "page_bytes", "region_bytes", "block_bytes", "layout", "thp",
    "plugged_fraction", "resident_fraction", "strategy", "repetition", "phase", "status",
    "pte_bytes", "rss_anon_bytes", "rss_shmem_bytes", "hugetlb_bytes", "seconds",
    "expected_pte_bytes", "expected_data_bytes",
]
INT_COLUMNS = [
    "page_bytes", "region_bytes", "block_bytes", "repetition", "pte_bytes", "rss_anon_bytes",
    "rss_shmem_bytes", "hugetlb_bytes", "expected_pte_bytes", "expected_data_bytes",
]
FLOAT_COLUMNS = ["plugged_fraction", "resident_fraction", "seconds"]
MODEL_COLUMNS = ["expected_pte_bytes", "expected_data_bytes"]
SAMPLE_REQUIRED = ["trial", "phase", "t_seconds", "rss_bytes", "pte_bytes"]
# bench watch and bench qemu samples: the snapshot samples' columns, then the process's pid.
WATCH_REQUIRED = SAMPLE_REQUIRED + ["pid", "rss_anon_bytes", "rss_shmem_bytes", "hugetlb_bytes"]
# bench qemu's real rows (docs/cli.md): their emulation is the preset named in emulated_by.
QEMU_STRATEGIES = ["qemu-real", "qemu-real-ram"]

BACKENDS = ["anon-private", "anon-shared", "memfd-shmem", "memfd-hugetlb", "hugetlbfs"]
STRATEGIES = [
    "none", "full-touch", "full-madvise", "discard-touch", "discard-madvise",
    "qemu-6.1", "qemu-6.2", "qemu-7.2", "qemu-8.0", "wp-unpopulated",
]
STRATEGY_COLORS = dict(zip(STRATEGIES, plt.get_cmap("tab10").colors))
KIND_COLORS = {"page tables": "#d62728", "anon": "#1f77b4", "shmem": "#2ca02c", "hugetlb": "#9467bd"}
MODEL_STYLE = {"color": "black", "linewidth": 2.5}
MAX_PANELS = 12
TIME_FLOOR = 1e-6  # the CSV's resolution: a phase reported as 0 s is drawn here on the log axis

plt.rcParams.update({
    "font.size": 10, "axes.titlesize": 10.5, "axes.labelsize": 10, "xtick.labelsize": 9,
    "ytick.labelsize": 9, "legend.fontsize": 10, "figure.titlesize": 13,
    "svg.fonttype": "none", "axes.spines.top": False, "axes.spines.right": False,
})


class InputError(Exception):
    """The input cannot be read as a results CSV: exit code 2."""


class PlotError(Exception):
    """Anything else that stops the charts: exit code 1."""


class Config(NamedTuple):
    backend: str
    page_bytes: int
    region_bytes: int
    block_bytes: int
    layout: str
    thp: str
    plugged: float | None  # None where a chart puts the plugged fraction on an axis
    resident: float
    numa: str = ""  # the NUMA settings when not the default, e.g. "numa=bind:1 populate-node=1"


# ---------------------------------------------------------------- reading


def read_table(path, required):
    """Rows of a CSV file as dicts; InputError if it is missing, empty or lacks a required column."""
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
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(f"{path}: missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    if not rows:
        raise InputError(f"{path}: a header but no rows")
    return rows


def number(row, column, kind, path, line):
    """row[column] as kind (int or float); PlotError naming the file, line and column otherwise."""
    if row[column] is None:
        raise PlotError(f"{path}, line {line}: fewer fields than the header (no {column})")
    try:
        return kind(row[column])
    except ValueError:
        raise PlotError(f"{path}, line {line}: {column} '{row[column]}' is not a number")


def load_results(path):
    """The ok rows of a results CSV, numbers converted and each with its Config under 'config'."""
    raw = read_table(path, REQUIRED)
    rows = []
    for line, r in enumerate(raw, start=2):
        if r["status"] != "ok":
            continue
        row = dict(r)
        for column in INT_COLUMNS:
            # The model predicts population and protection only: snapshot rows leave it empty.
            if column in MODEL_COLUMNS and r["phase"] == "snapshot" and r[column] == "":
                row[column] = None
                continue
            row[column] = number(r, column, int, path, line)
        for column in FLOAT_COLUMNS:
            row[column] = number(r, column, float, path, line)
        row["config"] = Config(row["backend"], row["page_bytes"], row["region_bytes"], row["block_bytes"],
                               row["layout"], row["thp"], row["plugged_fraction"], row["resident_fraction"],
                               numa_settings(r))
        row["numa"] = parse_numa(r["numa_pages"], path, line) if "numa_pages" in r else None
        rows.append(row)
    if not rows:
        statuses = ", ".join(f"{n} {s}" for s, n in Counter(r["status"] for r in raw).items())
        raise PlotError(f"{path}: no row has status ok ({statuses})")
    return rows


def numa_settings(row):
    """The trial's NUMA settings as a label, empty for the default (local, no pinning); CSVs written
    before these columns existed have none."""
    parts = []
    if row.get("numa_policy") not in (None, "", "local"):
        parts.append(f"numa={row['numa_policy']}")
    for column, name in (("guest_node", "guest-node"), ("populate_node", "populate-node")):
        if row.get(column):
            parts.append(f"{name}={row[column]}")
    return " ".join(parts)


def load_samples(path):
    """Rows of a samples CSV with t_seconds, rss_bytes and pte_bytes as numbers."""
    rows = []
    for line, r in enumerate(read_table(path, SAMPLE_REQUIRED), start=2):
        rows.append({"trial": r["trial"], "phase": r["phase"],
                     **{c: number(r, c, float, path, line) for c in ("t_seconds", "rss_bytes", "pte_bytes")}})
    return rows


def parse_numa(text, path, line):
    """numa_pages ('0:1234;1:5678;zero:N;none:N') as {key: pages}; {} when empty."""
    pages = {}
    for item in filter(None, (text or "").split(";")):
        key, sep, value = item.partition(":")
        if not sep or not value.strip().isdigit():
            raise PlotError(f"{path}, line {line}: numa_pages '{text}' is not like 0:12;1:34;zero:N;none:N")
        pages[key.strip()] = int(value)
    return pages


# ---------------------------------------------------------------- formatting


def size(n):
    """Bytes as the largest binary unit that divides them: '1 GiB', '2 MiB', '4 KiB'."""
    for shift, unit in ((30, "GiB"), (20, "MiB"), (10, "KiB")):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} B"


def percent(fraction):
    return f"{fraction * 100:g}%"


def byte_unit(largest):
    """(divisor, name) of KiB, MiB or GiB for axis values up to largest bytes."""
    for divisor, name in ((1 << 30, "GiB"), (1 << 20, "MiB")):
        if largest >= divisor:
            return divisor, name
    return (1 << 10, "KiB") if largest > 0 else (1 << 20, "MiB")


def human(n):
    """Bytes for a label, in the unit of their own magnitude: '4 KiB', '1.5 MiB', '225 MiB'."""
    if n == 0:
        return "0"
    divisor, unit = byte_unit(abs(n))
    value = n / divisor
    return f"{value:.0f} {unit}" if abs(value) >= 100 else f"{value:.3g} {unit}"


def duration(seconds, _=None):
    """A log-axis tick: '0.1 s', '10 ms', '0.1 ms', '10 µs'."""
    seconds = float(f"{seconds:.6g}")  # a tick at 10**-1 may arrive as 0.09999…
    if seconds >= 0.1:
        return f"{seconds:g} s"
    if seconds >= 1e-4:
        return f"{seconds * 1e3:g} ms"
    return f"{seconds * 1e6:g} µs"


def count(value, _=None):
    """A page-count tick: '64', '50k', '1.5M'."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def config_parts(config):
    """{field: text} describing a config, without its backend; a field set to None is left out."""
    parts = {
        "region": size(config.region_bytes), "page": f"{size(config.page_bytes)} pages",
        "block": f"block {size(config.block_bytes)}",
        "plugged": None if config.plugged is None else f"{percent(config.plugged)} plugged",
        "resident": f"{percent(config.resident)} resident", "layout": f"{config.layout} layout",
        "thp": f"thp={config.thp}",
        "numa": config.numa or None,
    }
    return {k: v for k, v in parts.items() if v is not None}


def titles(what, rows, configs, note=None):
    """The figure title (what, host and kernel, the config every panel shares, note) and a title per
    panel (its backend and what differs between panels)."""
    parts = [config_parts(c) for c in configs]
    common = {k: v for k, v in parts[0].items() if all(p.get(k) == v for p in parts)}
    panels = [textwrap.fill(f"{c.backend}  " + ", ".join(v for k, v in p.items() if k not in common), 50)
              for c, p in zip(configs, parts)]
    return "\n".join(filter(None, [f"{what} — {where(rows)}", ", ".join(common.values()), note])), panels


def where(rows):
    """'host vm, kernel 6.18…' (every distinct pair, joined)."""
    pairs = sorted({(r["host"], r["kernel"]) for r in rows})
    return "; ".join(f"host {h}, kernel {k}" for h, k in pairs)


def repetitions_note(groups):
    """'medians of 3 repetitions' over groups of rows (one group per bar or point)."""
    counts = sorted({len({r["repetition"] for r in g}) for g in groups})
    span = str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    return f"medians of {span} repetition{'s' if counts[-1] > 1 else ''}"


def rank(order, name):
    return (order.index(name), name) if name in order else (len(order), name)


def strategy_palette(strategies):
    """{strategy: colour}: the fixed tab10 colour of a known strategy, light tab20 ones for the rest."""
    extra = iter(plt.get_cmap("tab20").colors[1::2])
    return {s: STRATEGY_COLORS.get(s) or next(extra, "grey") for s in strategies}


def config_key(config):
    return (rank(BACKENDS, config.backend), config[1:])


# ---------------------------------------------------------------- grouping


def group(rows, key):
    groups = defaultdict(list)
    for r in rows:
        groups[key(r)].append(r)
    return groups


def median(rows, column):
    return statistics.median(r[column] for r in rows) if rows else 0


def panels_of(rows):
    """[(config, rows)] in backend order: every config, or the most common one per backend past MAX_PANELS."""
    by_config = group(rows, lambda r: r["config"])
    configs = sorted(by_config, key=config_key)
    if len(configs) > MAX_PANELS:
        counts = Counter(r["config"] for r in rows)
        best = {}
        for config in by_config:  # file order, so ties go to the first seen
            current = best.get(config.backend)
            if current is None or counts[config] > counts[current]:
                best[config.backend] = config
        configs = sorted(best.values(), key=config_key)
        print(f"note: {len(by_config)} configurations are too many panels; memory, times and numa show "
              f"the most common one per backend ({len(by_config) - len(configs)} left out)")
    return [(c, by_config[c]) for c in configs]


def strategies_of(rows):
    return sorted({r["strategy"] for r in rows}, key=lambda s: rank(STRATEGIES, s))


def memory_cost(rows):
    """({kind: median bytes}, model bytes) of one strategy's rows: what populate and protect cost."""
    populate = [r for r in rows if r["phase"] == "populate"]
    protect = [r for r in rows if r["phase"] == "protect"]
    kinds = {
        "page tables": median(populate, "pte_bytes") + median(protect, "pte_bytes"),
        "anon": median(populate, "rss_anon_bytes"),
        "shmem": median(populate, "rss_shmem_bytes"),
        "hugetlb": median(populate, "hugetlb_bytes"),
    }
    model = (median(populate, "expected_pte_bytes") + median(protect, "expected_pte_bytes")
             + median(populate, "expected_data_bytes"))
    return kinds, model


def total(kinds):
    """The cost of all kinds together, a negative median (counter lag) counted as zero."""
    return sum(max(v, 0) for v in kinds.values())


# ---------------------------------------------------------------- figures


def figure(n, ncols, panel_size, title):
    """A constrained figure: n panels in ncols columns and a full-width strip below for the legend."""
    nrows = math.ceil(n / ncols)
    mosaic = [[str(i * ncols + j) if i * ncols + j < n else "." for j in range(ncols)] for i in range(nrows)]
    mosaic.append(["legend"] * ncols)
    width, height = panel_size
    title = "\n".join(textwrap.fill(line, int(width * ncols * 9)) for line in title.split("\n"))
    fig, axes = plt.subplot_mosaic(
        mosaic, figsize=(width * ncols, height * nrows + 0.7), layout="constrained",
        gridspec_kw={"height_ratios": [height] * nrows + [0.45]})
    fig.suptitle(title)
    axes["legend"].axis("off")
    return fig, [axes[str(i)] for i in range(n)], axes["legend"]


def panel_width(panels):
    """Inches for a panel with a bar or box per strategy, wide enough for its title."""
    return max(4.2, 0.62 * max(len(strategies_of(rows)) for _, rows in panels) + 1.4)


def legend_strip(ax, handles):
    ax.legend(handles=handles, loc="center", ncol=min(len(handles), 6), frameon=False)


def strategy_axis(ax, strategies):
    ax.set_xticks(range(len(strategies)))
    ax.set_xticklabels(strategies, rotation=35, ha="right", rotation_mode="anchor")
    ax.set_xlim(-0.6, len(strategies) - 0.4)


def save(fig, out, name):
    """Write name.png and name.svg into out, print their paths."""
    paths = [out / f"{name}.png", out / f"{name}.svg"]
    try:
        for path in paths:
            fig.savefig(path, dpi=120)
    except OSError as e:
        raise PlotError(f"cannot write {e.filename or out}: {e.strerror}")
    finally:
        plt.close(fig)
    for path in paths:
        print(path)


def skip(name, why):
    print(f"skipped {name}: {why}")


def plot_memory(panels, out):
    """memory: per backend and config, what populate + protect cost per strategy, stacked by kind
    (page tables of both phases, then the populate phase's RssAnon, RssShmem and HugetlbPages),
    medians over repetitions, with the model's expectation as a black line across each bar.
    A negative median (the RSS counters lag by a few pages) is drawn as zero."""
    width = panel_width(panels)
    all_rows = [r for _, rows in panels for r in rows]
    bars = [g for _, rows in panels for g in group(rows, lambda r: r["strategy"]).values()]
    title, panel_titles = titles("Memory cost of populate + protect", all_rows, [c for c, _ in panels],
                                 repetitions_note(bars))
    fig, axes, strip = figure(len(panels), min(len(panels), 3), (width, 3.8), title)
    used = set()
    for ax, panel_title, (_, rows) in zip(axes, panel_titles, panels):
        strategies = strategies_of(rows)
        costs = [memory_cost([r for r in rows if r["strategy"] == s]) for s in strategies]
        largest = max(max(total(kinds), model) for kinds, model in costs)
        divisor, unit = byte_unit(largest)
        bottom = [0.0] * len(strategies)
        for kind, color in KIND_COLORS.items():
            heights = [max(kinds[kind], 0) / divisor for kinds, _ in costs]
            if any(heights):
                used.add(kind)
                ax.bar(range(len(strategies)), heights, 0.7, bottom=bottom, color=color)
                bottom = [b + h for b, h in zip(bottom, heights)]
        for x, (top, (_, model)) in enumerate(zip(bottom, costs)):
            ax.hlines(model / divisor, x - 0.42, x + 0.42, **MODEL_STYLE, zorder=3)
            ax.annotate(human(round(top * divisor)), (x, max(top, model / divisor)), xytext=(0, 3),
                        textcoords="offset points", ha="center", va="bottom", fontsize=7.5)
        ax.margins(y=0.15)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(unit)
        ax.set_title(panel_title)
        strategy_axis(ax, strategies)
    handles = [Patch(color=KIND_COLORS[k], label=k) for k in KIND_COLORS if k in used]
    legend_strip(strip, handles + [Line2D([], [], **MODEL_STYLE, label="model (expected)")])
    save(fig, out, "memory")


def sweeps_of(rows):
    """[(config with plugged=None, {strategy: {plugged: rows}})] for configs with ≥2 plugged fractions."""
    sweeps = []
    by_rest = group(rows, lambda r: r["config"]._replace(plugged=None))
    for rest in sorted(by_rest, key=config_key):
        if len({r["plugged_fraction"] for r in by_rest[rest]}) >= 2:
            by_strategy = group(by_rest[rest], lambda r: r["strategy"])
            sweeps.append((rest, {s: group(by_strategy[s], lambda r: r["plugged_fraction"])
                                  for s in strategies_of(by_rest[rest])}))
    return sweeps


def plot_plugged_sweep(rows, out):
    """plugged-sweep: per backend (and the rest of its config), the total memory cost of populate +
    protect (page tables + the backend's data) against the plugged fraction, one line per strategy,
    medians over repetitions; the model's expectation as black ticks at each point."""
    sweeps = sweeps_of(rows)
    if not sweeps:
        return skip("plugged-sweep", "no backend was run at two or more plugged fractions")
    points = [g for _, lines in sweeps for by_plugged in lines.values() for g in by_plugged.values()]
    title, panel_titles = titles("Memory cost against plugged fraction", rows, [c for c, _ in sweeps],
                                 repetitions_note(points))
    fig, axes, strip = figure(len(sweeps), min(len(sweeps), 3), (5.2, 3.8), title)
    colors = strategy_palette(strategies_of([r for g in points for r in g]))
    styles = {s: {"color": c, "marker": "osD^vP*X<>"[i % 10], "linestyle": ("-", "--", "-.", ":")[i % 4],
                  "markerfacecolor": "none", "markersize": 8, "markeredgewidth": 1.8, "linewidth": 2}
              for i, (s, c) in enumerate(colors.items())}
    for ax, panel_title, (_, lines) in zip(axes, panel_titles, sweeps):
        series = {s: sorted((p, memory_cost(g)) for p, g in by_plugged.items())
                  for s, by_plugged in lines.items()}
        largest = max(max(total(k), m) for pts in series.values() for _, (k, m) in pts)
        divisor, unit = byte_unit(largest)
        for strategy, pts in series.items():
            xs = [p * 100 for p, _ in pts]
            ax.plot(xs, [total(k) / divisor for _, (k, _) in pts], **styles[strategy])
            ax.plot(xs, [m / divisor for _, (_, m) in pts], linestyle="none", marker="_", markersize=14,
                    markeredgewidth=2, color="black", zorder=3)
        ax.set_xlabel("plugged (% of blocks)")
        ax.set_ylabel(unit)
        ax.set_ylim(bottom=0)
        ax.set_title(panel_title)
    handles = [Line2D([], [], label=s, **style) for s, style in styles.items()]
    model = Line2D([], [], color="black", marker="_", markersize=14, markeredgewidth=2, linestyle="none",
                   label="model (expected)")
    legend_strip(strip, handles + [model])
    save(fig, out, "plugged-sweep")


def plot_times(panels, out):
    """times: per backend and config, the wall seconds of the populate and protect phases per strategy,
    as box plots over repetitions (each repetition a dot), on a log axis so that fast strategies stay
    visible; a phase reported as 0 s (below the CSV's 1 µs resolution) is drawn at 1 µs."""
    width = panel_width(panels)
    all_rows = [r for _, rows in panels for r in rows]
    note = "box and dots over repetitions; log scale, a phase timed as 0 s is drawn at 1 µs"
    title, panel_titles = titles("Populate and protect time", all_rows, [c for c, _ in panels], note)
    fig, axes, strip = figure(len(panels), min(len(panels), 3), (width, 3.8), title)
    phases = {"populate": ("#1f77b4", -0.19), "protect": ("#ff7f0e", 0.19)}
    for ax, panel_title, (_, rows) in zip(axes, panel_titles, panels):
        strategies = strategies_of(rows)
        for phase, (color, shift) in phases.items():
            of_phase = group([r for r in rows if r["phase"] == phase], lambda r: r["strategy"])
            data = [[max(r["seconds"], TIME_FLOOR) for r in of_phase[s]] for s in strategies]
            positions = [x + shift for x, d in enumerate(data) if d]
            data = [d for d in data if d]
            if not data:
                continue
            boxes = ax.boxplot(data, positions=positions, widths=0.32, patch_artist=True, showfliers=False,
                               medianprops={"color": "black"}, manage_ticks=False)
            for box in boxes["boxes"]:
                box.set(facecolor=color, alpha=0.55)
            for x, d in zip(positions, data):
                ax.plot([x] * len(d), d, linestyle="none", marker=".", color=color, markersize=5)
        log_axis(ax, [max(r["seconds"], TIME_FLOOR) for r in rows])
        ax.set_ylabel("wall time")
        ax.set_title(panel_title)
        strategy_axis(ax, strategies)
    legend_strip(strip, [Patch(color=c, alpha=0.7, label=p) for p, (c, _) in phases.items()])
    save(fig, out, "times")


def log_axis(ax, values):
    """A log y axis a little past the decades around the values, ticks as durations."""
    ax.set_yscale("log")
    low, high = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    ax.set_ylim(10 ** (low - 0.25), 10 ** (high + 0.25))
    ax.yaxis.set_major_formatter(FuncFormatter(duration))
    ax.yaxis.set_minor_formatter(NullFormatter())


def trait(label, names):
    """The longest of names that occurs in label, or None."""
    found = [n for n in names if n in label]
    return max(found, key=len) if found else None


def plot_snapshot(samples, rows, out):
    """snapshot: the samples CSV over time: RSS (top row) and page tables (bottom row) against
    t_seconds, one line per trial label (and phase), one column per backend named in the labels;
    lines share a colour per strategy when the labels name one."""
    backends = sorted(set(BACKENDS) | {r["backend"] for r in rows}, key=lambda b: rank(BACKENDS, b))
    strategies = sorted(set(STRATEGIES) | {r["strategy"] for r in rows}, key=lambda s: rank(STRATEGIES, s))
    colors = strategy_palette(strategies)
    phases = {s["phase"] for s in samples}
    lines = group(samples, lambda s: (s["trial"], s["phase"]))
    columns = group(lines, lambda key: trait(key[0], backends) or "trials")
    names = sorted(columns, key=lambda b: rank(backends, b))
    by_strategy = all(trait(trial, strategies) for trial, _ in lines)
    palette = plt.get_cmap("tab10").colors
    fig, axes, strip = figure(2 * len(names), len(names), (5.5, 3.2),
                              f"Snapshot phase over time — {where(rows)}")
    handles = {}
    for col, name in enumerate(names):
        for row, (column, what) in enumerate((("rss_bytes", "RSS"), ("pte_bytes", "page tables"))):
            ax = axes[row * len(names) + col]
            keys = sorted(columns[name])
            divisor, unit = byte_unit(max(abs(s[column]) for k in keys for s in lines[k]))
            for i, (trial, phase) in enumerate(keys):
                label = (trait(trial, strategies) if by_strategy
                         else trial + (f" ({phase})" if len(phases) > 1 else ""))
                color = colors[label] if by_strategy else palette[i % len(palette)]
                pts = sorted(lines[(trial, phase)], key=lambda s: s["t_seconds"])
                handles[label] = ax.plot([s["t_seconds"] for s in pts], [s[column] / divisor for s in pts],
                                         color=color, linewidth=1.6, alpha=0.85, label=label)[0]
            ax.set_ylabel(f"{what} ({unit})")
            ax.set_xlabel("seconds")
            ax.set_title(f"{name}: {what}")
    legend_strip(strip, list(handles.values()))
    save(fig, out, "snapshot")


def load_stalls(path):
    """Rows of a stalls CSV: every stall value a trial recorded (stall_us) and how often (count)."""
    rows = read_table(path, ["trial", "backend", "strategy", "fault_service", "stall_us", "count"])
    for line, row in enumerate(rows, start=2):
        row["stall_us"] = number(row, "stall_us", float, path, line)
        row["count"] = number(row, "count", int, path, line)
    return rows


def plot_stalls(stalls, out):
    """stalls: for each backend (and fault service), the share of stalled writes that waited at most
    x microseconds, one line per strategy over all its repetitions; x is logarithmic."""
    strategies = sorted({s["strategy"] for s in stalls}, key=lambda s: rank(STRATEGIES, s))
    colors = strategy_palette(strategies)
    panels = group(stalls, lambda s: (s["backend"], s["fault_service"]))
    names = sorted(panels, key=lambda k: (rank(BACKENDS, k[0]), k[1]))
    fig, axes, strip = figure(len(names), len(names), (5.5, 3.6), "Write stalls during the snapshot (CDF)")
    handles = {}
    for ax, name in zip(axes, names):
        for strategy, members in sorted(group(panels[name], lambda s: s["strategy"]).items(),
                                        key=lambda item: rank(STRATEGIES, item[0])):
            counts = Counter()
            for s in members:
                counts[s["stall_us"]] += s["count"]
            values = sorted(counts)
            total_count = sum(counts.values())
            seen, ys = 0, []
            for v in values:
                seen += counts[v]
                ys.append(seen / total_count)
            handles[strategy] = ax.step(values, ys, where="post", color=colors[strategy], linewidth=1.6,
                                        label=strategy)[0]
        ax.set_xscale("log")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("stall (µs)")
        ax.set_ylabel("share of stalled writes")
        ax.set_title(f"{name[0]}, {name[1] or 'sync'}")
    legend_strip(strip, list(handles.values()))
    save(fig, out, "stalls")


def numa_bar(rows, keys):
    """Median pages per key of numa_pages over rows (0 without rows)."""
    return {k: statistics.median([r["numa"].get(k, 0) for r in rows]) if rows else 0 for k in keys}


def plot_numa(panels, out):
    """numa: where the region's pages are after each phase (numa_pages), per backend and config:
    a pair of stacked bars per strategy (populate left, protect right and hatched) of pages on each
    node, on the zeropage and absent, medians over repetitions."""
    all_rows = [r for _, rows in panels for r in rows]
    if not any(sum(k.isdigit() for k in r["numa"]) > 1 for r in all_rows):
        return skip("numa", "no row has pages on more than one NUMA node")
    nodes = sorted({k for r in all_rows for k in r["numa"] if k.isdigit()}, key=int)
    keys = nodes + [k for k in ("zero", "none") if any(k in r["numa"] for r in all_rows)]
    colors = dict(zip(nodes, plt.get_cmap("tab10").colors))
    colors.update({"zero": "#c7c7c7", "none": "#f2f2f2"})
    names = {"zero": "zeropage", "none": "absent"}
    width = panel_width(panels)
    bars = [g for _, rows in panels for g in group(rows, lambda r: r["strategy"]).values()]
    title, panel_titles = titles("Pages per NUMA node after each phase", all_rows, [c for c, _ in panels],
                                 repetitions_note(bars))
    fig, axes, strip = figure(len(panels), min(len(panels), 3), (width, 3.8), title)
    for ax, panel_title, (_, rows) in zip(axes, panel_titles, panels):
        strategies = strategies_of(rows)
        for phase, shift, hatch in (("populate", -0.2, None), ("protect", 0.2, "//")):
            of_phase = group([r for r in rows if r["phase"] == phase], lambda r: r["strategy"])
            medians = [numa_bar(of_phase[s], keys) for s in strategies]
            bottom = [0.0] * len(strategies)
            for k in keys:
                heights = [m[k] for m in medians]
                ax.bar([x + shift for x in range(len(strategies))], heights, 0.38, bottom=bottom,
                       color=colors[k], edgecolor="#555555", linewidth=0.4, hatch=hatch)
                bottom = [b + h for b, h in zip(bottom, heights)]
        ax.yaxis.set_major_formatter(FuncFormatter(count))
        ax.set_ylabel("pages")
        ax.set_title(panel_title)
        strategy_axis(ax, strategies)
    handles = [Patch(facecolor=colors[k], edgecolor="#555555", label=names.get(k, f"node {k}"))
               for k in keys]
    handles += [Patch(facecolor="white", edgecolor="#555555", label="left: populate"),
                Patch(facecolor="white", edgecolor="#555555", hatch="//", label="right: protect")]
    legend_strip(strip, handles)
    save(fig, out, "numa")


def qemu_cases(rows):
    """bench qemu's real rows with their emulation: {backend: [(case label, real rows, emulated sums)]}
    where an emulation is the populate + protect rows of the preset with the same configuration and
    repetition (bench qemu copies the emulation's identity columns into the real row)."""
    emulated = defaultdict(lambda: [0, 0, 0, 0, 0])  # pte, data, model pte, model data, phases
    for r in rows:
        if r["phase"] in ("populate", "protect") and r["strategy"] not in QEMU_STRATEGIES:
            e = emulated[(r["config"]._replace(plugged=None), r["strategy"], r["repetition"])]
            e[0] += r["pte_bytes"]
            e[1] += r["rss_anon_bytes"] + r["rss_shmem_bytes"] + r["hugetlb_bytes"]
            e[2] += r["expected_pte_bytes"] or 0
            e[3] += r["expected_data_bytes"] or 0
            e[4] += 1
    cases = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["strategy"] not in QEMU_STRATEGIES:
            continue
        label = "plain RAM" if r["strategy"] == "qemu-real-ram" else f"{percent(r['plugged_fraction'])} plugged"
        twin = emulated.get((r["config"]._replace(plugged=None), r.get("emulated_by", ""), r["repetition"]))
        data = r["rss_anon_bytes"] + r["rss_shmem_bytes"] + r["hugetlb_bytes"]
        device = int(r["device_data_bytes"]) if r.get("device_data_bytes") else None
        cases[r["backend"]][(r["strategy"] == "qemu-real-ram", r["plugged_fraction"], label)].append(
            (r["pte_bytes"], data, device, twin if twin and twin[4] == 2 else None))
    return {b: [(key[2], entries) for key, entries in sorted(c.items())] for b, c in cases.items()}


def plot_qemu(rows, out):
    """qemu: per backend, the real QEMU process's gains over its background snapshot (page tables
    top, data below; data split into the tested memory's own mapping and the rest, QEMU's own
    allocations) beside the emulation's populate + protect and the model's, per plugged fraction and
    for the plain-RAM control, medians over repetitions."""
    cases = qemu_cases(rows)
    if not cases:
        return skip("qemu", "no bench qemu rows (strategy qemu-real or qemu-real-ram)")
    backends = sorted(cases, key=lambda b: rank(BACKENDS, b))
    first = next(r for r in rows if r["strategy"] in QEMU_STRATEGIES)
    title = (f"Real QEMU {first.get('qemu_version', '')} ({first.get('accelerator', '')}) against its emulation "
             f"({first.get('emulated_by', '')}) and the model\n{size(first['region_bytes'])}; {where(rows)}; "
             "labels: real − emulation")
    width = max(5.5, 1.2 * max(len(c) for c in cases.values()) + 1.5)
    fig, axes, strip = figure(2 * len(backends), len(backends), (width, 3.4), title)
    colors = {"real QEMU": "#d62728", "real, in the tested memory": "#ff9896", "emulation": "#1f77b4"}
    for col, backend in enumerate(backends):
        labels = [label for label, _ in cases[backend]]
        for row, (index, what) in enumerate(((0, "page tables"), (1, "data"))):
            ax = axes[row * len(backends) + col]
            def med(values):
                values = [v for v in values if v is not None]
                return statistics.median(values) if values else float("nan")
            real = [med([e[index] for e in entries]) for _, entries in cases[backend]]
            emul = [med([e[3][index] if e[3] else None for e in entries]) for _, entries in cases[backend]]
            model = [med([e[3][index + 2] if e[3] else None for e in entries]) for _, entries in cases[backend]]
            finite = [v for v in real + emul + model if not math.isnan(v)]
            divisor, unit = byte_unit(max([abs(v) for v in finite] or [1]))
            xs = range(len(labels))
            ax.bar([x - 0.2 for x in xs], [v / divisor for v in real], 0.38, color=colors["real QEMU"])
            if index == 1:
                device = [med([e[2] for e in entries]) for _, entries in cases[backend]]
                ax.bar([x - 0.2 for x in xs], [v / divisor for v in device], 0.38,
                       color=colors["real, in the tested memory"])
            ax.bar([x + 0.2 for x in xs], [v / divisor for v in emul], 0.38, color=colors["emulation"])
            for x, m in zip(xs, model):
                if not math.isnan(m):
                    ax.hlines(m / divisor, x - 0.42, x + 0.42, **MODEL_STYLE, zorder=3)
            for x, r, e in zip(xs, real, emul):
                if not math.isnan(r) and not math.isnan(e):
                    ax.annotate(("+" if r >= e else "-") + human(abs(round(r - e))), (x, max(r, e) / divisor),
                                xytext=(0, 3), textcoords="offset points", ha="center", va="bottom", fontsize=7)
            ax.set_xticks(list(xs))
            ax.set_xticklabels(labels, rotation=20, ha="right", rotation_mode="anchor")
            ax.margins(y=0.18)
            ax.set_ylabel(unit)
            ax.set_title(f"{backend}: {what} gained")
    handles = [Patch(color=c, label=k) for k, c in colors.items()]
    handles.append(Line2D([], [], **MODEL_STYLE, label="model (expected)"))
    strip.legend(handles=handles, loc="center", ncol=2, frameon=False)
    save(fig, out, "qemu")


def load_watch(path):
    """Rows of a bench watch / bench qemu samples CSV with the counters as numbers."""
    rows = []
    columns = ("t_seconds", "rss_bytes", "pte_bytes", "rss_anon_bytes", "rss_shmem_bytes", "hugetlb_bytes")
    for line, r in enumerate(read_table(path, WATCH_REQUIRED), start=2):
        rows.append({"trial": r["trial"], "phase": r["phase"], **{c: number(r, c, float, path, line) for c in columns}})
    return rows


def plot_watch(samples, out):
    """watch: each watched process (trial) over time: its data (RssAnon, RssShmem, HugetlbPages
    stacked) and its page tables (VmPTE); the phases bench qemu names (before, snapshot, after) are
    shaded, one column per trial (at most MAX_PANELS)."""
    trials = list(dict.fromkeys(s["trial"] for s in samples))[:MAX_PANELS]
    fig, axes, strip = figure(2 * len(trials), len(trials), (5.0, 3.0), "Memory of the watched process over time")
    kinds = (("rss_anon_bytes", "anon", KIND_COLORS["anon"]), ("rss_shmem_bytes", "shmem", KIND_COLORS["shmem"]),
             ("hugetlb_bytes", "hugetlb", KIND_COLORS["hugetlb"]))
    shades = {"snapshot": "#fde0c5"}
    for col, trial in enumerate(trials):
        pts = sorted((s for s in samples if s["trial"] == trial), key=lambda s: s["t_seconds"])
        t = [s["t_seconds"] for s in pts]
        for row in range(2):
            ax = axes[row * len(trials) + col]
            for phase, color in shades.items():
                span = [s["t_seconds"] for s in pts if s["phase"] == phase]
                if span:
                    ax.axvspan(min(span), max(span), color=color, zorder=0)
            if row == 0:
                divisor, unit = byte_unit(max(s["rss_anon_bytes"] + s["rss_shmem_bytes"] + s["hugetlb_bytes"] for s in pts))
                ax.stackplot(t, *[[s[c] / divisor for s in pts] for c, _, _ in kinds],
                             colors=[c for _, _, c in kinds], alpha=0.85)
                ax.set_title(textwrap.shorten(trial, 48) + ": data")
            else:
                divisor, unit = byte_unit(max(s["pte_bytes"] for s in pts))
                ax.plot(t, [s["pte_bytes"] / divisor for s in pts], color=KIND_COLORS["page tables"], linewidth=1.6)
                ax.set_title("page tables (VmPTE)")
            ax.set_ylabel(unit)
            ax.set_xlabel("seconds")
    handles = [Patch(color=c, label=k) for _, k, c in kinds] + [Patch(color=KIND_COLORS["page tables"], label="VmPTE")]
    if any(s["phase"] == "snapshot" for s in samples):
        handles.append(Patch(color=shades["snapshot"], label="background snapshot"))
    legend_strip(strip, handles)
    save(fig, out, "watch")


# ---------------------------------------------------------------- main


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
    return parser.parse_args(argv)


def is_watch_samples(path):
    try:
        with open(path, newline="") as f:
            return "pid" in (csv.DictReader(f).fieldnames or [])
    except OSError:
        return False


def run(args):
    if args.results is None and args.watch is None:
        raise InputError("give RESULTS.csv, --watch SAMPLES.csv, or both")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PlotError(f"cannot create {args.out}: {e.strerror}")
    if args.watch is not None:
        plot_watch(load_watch(args.watch), args.out)
        if args.results is None:
            return
    rows = load_results(args.results)
    samples_path = args.samples or default_samples(args.results)
    samples = None
    if args.samples or samples_path.exists():
        # bench qemu's samples are the QEMU process's, as bench watch's: a time series of their own.
        if is_watch_samples(samples_path):
            if args.watch is None:
                plot_watch(load_watch(samples_path), args.out)
        else:
            samples = load_samples(samples_path)
    plot_qemu(rows, args.out)
    # The real rows have their own chart; the emulation's rows are ordinary runs for the others.
    rows = [r for r in rows if r["strategy"] not in QEMU_STRATEGIES] or rows
    panels = panels_of(rows)
    plot_memory(panels, args.out)
    plot_plugged_sweep(rows, args.out)
    plot_times(panels, args.out)
    if samples is None:
        skip("snapshot", f"no snapshot samples CSV ({samples_path} does not exist or is a watch CSV; "
                         "--samples names one)")
    else:
        plot_snapshot(samples, rows, args.out)
    stalls_path = args.stalls or default_stalls(args.results)
    stalls = None
    if args.stalls or stalls_path.exists():
        try:
            stalls = load_stalls(stalls_path)
        except InputError:
            if args.stalls:
                raise
    if not stalls:
        skip("stalls", f"no stall distributions ({stalls_path} is missing or has no rows; --stalls names one)")
    else:
        plot_stalls(stalls, args.out)
    if rows[0]["numa"] is None:
        skip("numa", "the CSV has no numa_pages column")
    else:
        plot_numa(panels, args.out)


def main(argv=None):
    args = parse_args(argv)
    try:
        run(args)
    except InputError as e:
        print(f"plot.py: {e}", file=sys.stderr)
        return 2
    except PlotError as e:
        print(f"plot.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
