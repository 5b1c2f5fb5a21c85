"""The times chart of a results CSV: wall seconds of the populate and protect phases."""

from .config import group, strategies_of, titles
from .needs import chart

SECONDS = "seconds"
TIME_FLOOR = 1e-6  # the CSV's resolution: a phase reported as 0 s is drawn here on the log axis


@chart("times", raw=("phase", "strategy", SECONDS), units={SECONDS: ("seconds",)})
def plot_times(schema, panels, out):
    """times: per backend and config, the wall seconds of the populate and protect phases per strategy,
    as box plots over repetitions (each repetition a dot), on a log axis so that fast strategies stay
    visible; a phase reported as 0 s (below the CSV's 1 µs resolution) is drawn at 1 µs."""
    from .figures import Patch, figure, legend_strip, log_axis, panel_width, save, strategy_axis
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
            data = [[max(r[SECONDS], TIME_FLOOR) for r in of_phase[s]] for s in strategies]
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
        log_axis(ax, [max(r[SECONDS], TIME_FLOOR) for r in rows])
        ax.set_ylabel("wall time")
        ax.set_title(panel_title)
        strategy_axis(ax, strategies)
    legend_strip(strip, [Patch(color=c, alpha=0.7, label=p) for p, (c, _) in phases.items()])
    save(fig, out, "times")
