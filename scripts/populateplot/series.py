"""Time series: snapshot (a run's snapshot samples CSV) and watch (a bench watch or bench qemu
samples CSV)."""

import textwrap

from . import text
from .config import BACKENDS, MAX_PANELS, STRATEGIES, group, rank, where
from .needs import chart

T = "t_seconds"
# The snapshot chart's rows: RSS on top, page tables below.
SNAPSHOT_ROWS = (("rss_bytes", "RSS"), ("pte_bytes", "page tables"))


def trait(label, names):
    """The longest of names that occurs in label, or None."""
    found = [n for n in names if n in label]
    return max(found, key=len) if found else None


@chart("snapshot", samples=("trial", "phase", T) + tuple(c for c, _ in SNAPSHOT_ROWS),
       raw=("host", "kernel", "backend", "strategy"), units={T: ("seconds",)})
def plot_snapshot(schema, samples, rows, out):
    """snapshot: the samples CSV over time: RSS (top row) and page tables (bottom row) against
    t_seconds, one line per trial label (and phase), one column per backend named in the labels;
    lines share a colour per strategy when the labels name one."""
    from .figures import figure, legend_strip, plt, save, strategy_palette
    table = schema["samples"]
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
        for row, (column, what) in enumerate(SNAPSHOT_ROWS):
            ax = axes[row * len(names) + col]
            keys = sorted(columns[name])
            divisor, unit = text.scale(table, column, max(abs(s[column]) for k in keys for s in lines[k]))
            for i, (trial, phase) in enumerate(keys):
                label = (trait(trial, strategies) if by_strategy
                         else trial + (f" ({phase})" if len(phases) > 1 else ""))
                color = colors[label] if by_strategy else palette[i % len(palette)]
                pts = sorted(lines[(trial, phase)], key=lambda s: s[T])
                handles[label] = ax.plot([s[T] for s in pts], [s[column] / divisor for s in pts],
                                         color=color, linewidth=1.6, alpha=0.85, label=label)[0]
            ax.set_ylabel(f"{what} ({unit})")
            ax.set_xlabel(text.scale(table, T)[1])
            ax.set_title(f"{name}: {what}")
    legend_strip(strip, list(handles.values()))
    save(fig, out, "snapshot")


# The watched process's data by kind, stacked: the column and the legend's name (its colour is the
# memory chart's for that kind).
WATCH_DATA = (("rss_anon_bytes", "anon"), ("rss_shmem_bytes", "shmem"), ("hugetlb_bytes", "hugetlb"))
WATCH_PTE = "pte_bytes"


# bench qemu's samples carry QEMU's own trace events: the real program's steps, each between two
# of them (the first of each label; a RAM block's start is the last of them), shaded in its colour.
QEMU_EVENTS = "qemu_events"
QEMU_STEPS = (("populate", "migrate_set_state:setup", "savevm_state_header", "#b7d7f0"),
              ("stop and protect", "migration_thread_setup_complete", "ram_write_tracking_ramblock_start", "#f4b6b6"),
              ("copy", "ram_write_tracking_ramblock_start", "migration_thread_after_loop", "#fde0c5"))


def qemu_events(samples):
    """[(label, seconds)] of the samples' qemu_events cells (`LABEL@SECONDS;...`), in time order."""
    events = []
    for s in samples:
        for item in (s.get(QEMU_EVENTS) or "").split(";"):
            label, at, seconds = item.rpartition("@")
            if at:
                try:
                    events.append((label, float(seconds)))
                except ValueError:
                    pass
    return sorted(events, key=lambda e: e[1])


def qemu_steps(events):
    """[(step, start, end, colour)] of the QEMU_STEPS both of whose events are there."""
    def first(prefix):
        return next((t for label, t in events if label == prefix or label.startswith(prefix + ":")), None)

    def last(prefix):
        return next((t for label, t in reversed(events) if label.startswith(prefix + ":")), None)
    protected = last("ram_write_tracking_ramblock_start")
    bounds = {"populate": (first("migrate_set_state:setup"), first("savevm_state_header")),
              "stop and protect": (first("migration_thread_setup_complete"), protected),
              "copy": (protected, first("migration_thread_after_loop"))}
    return [(step, *bounds[step], colour) for step, _, _, colour in QEMU_STEPS
            if None not in bounds[step] and bounds[step][1] >= bounds[step][0]]


@chart("watch", watch=("trial", "phase", T, WATCH_PTE) + tuple(c for c, _ in WATCH_DATA),
       optional={"watch": (QEMU_EVENTS,)},
       units={T: ("seconds",), **{c: ("bytes",) for c, _ in WATCH_DATA}})
def plot_watch(schema, samples, out):
    """watch: each watched process (trial) over time: its data (RssAnon, RssShmem, HugetlbPages
    stacked) and its page tables (VmPTE); the phases bench qemu names (before, snapshot, after) are
    shaded, and within the snapshot the real QEMU's own steps (populate, stop and protect, copy)
    from its trace events, each event a dotted line; one column per trial (at most MAX_PANELS)."""
    from .figures import KIND_COLORS, Patch, figure, legend_strip, save
    table = schema["watch"]
    trials = list(dict.fromkeys(s["trial"] for s in samples))[:MAX_PANELS]
    # One trial's panels get the width of two: its legend has up to seven entries.
    fig, axes, strip = figure(2 * len(trials), len(trials), (max(5.0, 9.0 / len(trials)), 3.0),
                              "Memory of the watched process over time")
    kinds = [(c, k, KIND_COLORS[k]) for c, k in WATCH_DATA]
    shades = {"snapshot": "#fde0c5"}
    stepped, plain_snapshot = {}, False
    for col, trial in enumerate(trials):
        pts = sorted((s for s in samples if s["trial"] == trial), key=lambda s: s[T])
        t = [s[T] for s in pts]
        for row in range(2):
            ax = axes[row * len(trials) + col]
            steps = qemu_steps(qemu_events(pts))
            for phase, color in shades.items():
                span = [s[T] for s in pts if s["phase"] == phase]
                if span and not steps:
                    ax.axvspan(min(span), max(span), color=color, zorder=0)
                    plain_snapshot = True
            for step, start, end, color in steps:
                ax.axvspan(start, end, color=color, zorder=0)
                stepped.setdefault(step, color)
            for _, seconds in qemu_events(pts):
                ax.axvline(seconds, color="#555555", linewidth=0.6, linestyle=":", zorder=1)
            if row == 0:
                largest = max(sum(s[c] for c, _, _ in kinds) for s in pts)
                divisor, unit = text.scale(table, kinds[0][0], largest)
                ax.stackplot(t, *[[s[c] / divisor for s in pts] for c, _, _ in kinds],
                             colors=[c for _, _, c in kinds], alpha=0.85)
                ax.set_title(textwrap.shorten(trial, 48) + ": data")
            else:
                divisor, unit = text.scale(table, WATCH_PTE, max(s[WATCH_PTE] for s in pts))
                ax.plot(t, [s[WATCH_PTE] / divisor for s in pts], color=KIND_COLORS["page tables"], linewidth=1.6)
                ax.set_title("page tables (VmPTE)")
            ax.set_ylabel(unit)
            ax.set_xlabel(text.scale(table, T)[1])
    handles = [Patch(color=c, label=k) for _, k, c in kinds] + [Patch(color=KIND_COLORS["page tables"], label="VmPTE")]
    handles += [Patch(color=color, label=f"QEMU: {step}") for step, color in stepped.items()]
    if plain_snapshot:
        handles.append(Patch(color=shades["snapshot"], label="background snapshot"))
    legend_strip(strip, handles)
    save(fig, out, "watch")
