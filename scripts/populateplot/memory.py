"""Memory charts of a results CSV: memory (cost per strategy) and plugged-sweep (cost against the
plugged fraction)."""

from . import text
from .config import group, median, repetitions_note, strategies_of, titles, config_key
from .needs import chart

PTE = "pte_bytes"
# The data a phase adds, by kind: the legend's name and the column holding it.
DATA = {"anon": "rss_anon_bytes", "shmem": "rss_shmem_bytes", "hugetlb": "hugetlb_bytes"}
MODEL = ("expected_pte_bytes", "expected_data_bytes")  # blank in snapshot rows: the model predicts
COST = ("phase", "strategy", "repetition", PTE) + tuple(DATA.values())  # population and protection
BYTES = {c: ("bytes",) for c in (PTE, *DATA.values(), *MODEL)}  # stacked together on one axis


def memory_cost(rows):
    """({kind: median bytes}, model bytes) of one strategy's rows: what populate and protect cost."""
    populate = [r for r in rows if r["phase"] == "populate"]
    protect = [r for r in rows if r["phase"] == "protect"]
    kinds = {"page tables": median(populate, PTE) + median(protect, PTE)}
    kinds.update({kind: median(populate, column) for kind, column in DATA.items()})
    model = median(populate, MODEL[0]) + median(protect, MODEL[0]) + median(populate, MODEL[1])
    return kinds, model


def total(kinds):
    """The cost of all kinds together, a negative median (counter lag) counted as zero."""
    return sum(max(v, 0) for v in kinds.values())


@chart("memory", raw=COST, blank={"raw": MODEL}, units=BYTES)
def plot_memory(schema, panels, out):
    """memory: per backend and config, what populate + protect cost per strategy, stacked by kind
    (page tables of both phases, then the populate phase's RssAnon, RssShmem and HugetlbPages),
    medians over repetitions, with the model's expectation as a black line across each bar.
    A negative median (the RSS counters lag by a few pages) is drawn as zero."""
    from .figures import KIND_COLORS, MODEL_STYLE, Line2D, Patch, figure, legend_strip, panel_width, save, \
        strategy_axis
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
        divisor, unit = text.scale(schema["raw"], PTE, largest)
        bottom = [0.0] * len(strategies)
        for kind, color in KIND_COLORS.items():
            heights = [max(kinds[kind], 0) / divisor for kinds, _ in costs]
            if any(heights):
                used.add(kind)
                ax.bar(range(len(strategies)), heights, 0.7, bottom=bottom, color=color)
                bottom = [b + h for b, h in zip(bottom, heights)]
        for x, (top, (_, model)) in enumerate(zip(bottom, costs)):
            ax.hlines(model / divisor, x - 0.42, x + 0.42, **MODEL_STYLE, zorder=3)
            ax.annotate(text.human(round(top * divisor)), (x, max(top, model / divisor)), xytext=(0, 3),
                        textcoords="offset points", ha="center", va="bottom", fontsize=7.5)
        ax.margins(y=0.15)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(unit)
        ax.set_title(panel_title)
        strategy_axis(ax, strategies)
    handles = [Patch(color=KIND_COLORS[k], label=k) for k in KIND_COLORS if k in used]
    legend_strip(strip, handles + [Line2D([], [], **MODEL_STYLE, label="model (expected)")])
    save(fig, out, "memory")


PLUGGED = "plugged_fraction"


def sweeps_of(rows):
    """[(config with plugged=None, {strategy: {plugged: rows}})] for configs with ≥2 plugged fractions."""
    sweeps = []
    by_rest = group(rows, lambda r: r["config"]._replace(**{PLUGGED: None}))
    for rest in sorted(by_rest, key=config_key):
        if len({r[PLUGGED] for r in by_rest[rest]}) >= 2:
            by_strategy = group(by_rest[rest], lambda r: r["strategy"])
            sweeps.append((rest, {s: group(by_strategy[s], lambda r: r[PLUGGED])
                                  for s in strategies_of(by_rest[rest])}))
    return sweeps


@chart("plugged-sweep", raw=COST + (PLUGGED,), blank={"raw": MODEL}, units=BYTES)
def plot_plugged_sweep(schema, rows, out):
    """plugged-sweep: per backend (and the rest of its config), the total memory cost of populate +
    protect (page tables + the backend's data) against the plugged fraction, one line per strategy,
    medians over repetitions; the model's expectation as black ticks at each point."""
    from .figures import Line2D, figure, legend_strip, save, skip, strategy_palette
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
    x_scale, x_unit = text.scale(schema["raw"], PLUGGED)
    for ax, panel_title, (_, lines) in zip(axes, panel_titles, sweeps):
        series = {s: sorted((p, memory_cost(g)) for p, g in by_plugged.items())
                  for s, by_plugged in lines.items()}
        largest = max(max(total(k), m) for pts in series.values() for _, (k, m) in pts)
        divisor, unit = text.scale(schema["raw"], PTE, largest)
        for strategy, pts in series.items():
            xs = [p / x_scale for p, _ in pts]
            ax.plot(xs, [total(k) / divisor for _, (k, _) in pts], **styles[strategy])
            ax.plot(xs, [m / divisor for _, (_, m) in pts], linestyle="none", marker="_", markersize=14,
                    markeredgewidth=2, color="black", zorder=3)
        ax.set_xlabel(f"plugged ({x_unit} of blocks)")
        ax.set_ylabel(unit)
        ax.set_ylim(bottom=0)
        ax.set_title(panel_title)
    handles = [Line2D([], [], label=s, **style) for s, style in styles.items()]
    model = Line2D([], [], color="black", marker="_", markersize=14, markeredgewidth=2, linestyle="none",
                   label="model (expected)")
    legend_strip(strip, handles + [model])
    save(fig, out, "plugged-sweep")
