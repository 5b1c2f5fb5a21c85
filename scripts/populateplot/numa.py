"""The numa chart: where a region's pages are after each phase (the numa_pages column, parsed by
load.py into each row's 'numa')."""

import statistics

from .config import group, repetitions_note, strategies_of, titles
from .needs import chart

NUMA_PAGES = "numa_pages"


def numa_bar(rows, keys):
    """Median pages per key of numa_pages over rows (0 without rows)."""
    return {k: statistics.median([r["numa"].get(k, 0) for r in rows]) if rows else 0 for k in keys}


@chart("numa", raw=("phase", "strategy", "repetition"), optional={"raw": (NUMA_PAGES,)},
       units={NUMA_PAGES: ("text",)})
def plot_numa(schema, panels, out):
    """numa: where the region's pages are after each phase (numa_pages), per backend and config:
    a pair of stacked bars per strategy (populate left, protect right and hatched) of pages on each
    node, on the zeropage and absent, medians over repetitions."""
    from .figures import FuncFormatter, Patch, figure, legend_strip, panel_width, plt, save, skip, strategy_axis
    from .text import count
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
