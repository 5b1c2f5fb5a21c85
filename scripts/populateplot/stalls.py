"""The stalls chart: the distribution of how long the guest's writes waited during the snapshot, from
a run's stalls CSV."""

from collections import Counter

from . import text
from .config import BACKENDS, STRATEGIES, group, rank
from .needs import chart

STALL, COUNT = "stall_us", "count"


@chart("stalls", stalls=("backend", "fault_service", "strategy", STALL, COUNT),
       units={STALL: ("microseconds", "seconds"), COUNT: ("count",)})
def plot_stalls(schema, stalls, out):
    """stalls: for each backend (and fault service), the share of stalled writes that waited at most
    x microseconds, one line per strategy over all its repetitions; x is logarithmic."""
    from .figures import figure, legend_strip, save, strategy_palette
    strategies = sorted({s["strategy"] for s in stalls}, key=lambda s: rank(STRATEGIES, s))
    colors = strategy_palette(strategies)
    panels = group(stalls, lambda s: (s["backend"], s["fault_service"]))
    names = sorted(panels, key=lambda k: (rank(BACKENDS, k[0]), k[1]))
    fig, axes, strip = figure(len(names), len(names), (5.5, 3.6), "Write stalls during the snapshot (CDF)")
    unit = text.scale(schema["stalls"], STALL)[1]
    handles = {}
    for ax, name in zip(axes, names):
        for strategy, members in sorted(group(panels[name], lambda s: s["strategy"]).items(),
                                        key=lambda item: rank(STRATEGIES, item[0])):
            counts = Counter()
            for s in members:
                counts[s[STALL]] += s[COUNT]
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
        ax.set_xlabel(f"stall ({unit})")
        ax.set_ylabel("share of stalled writes")
        ax.set_title(f"{name[0]}, {name[1] or 'sync'}")
    legend_strip(strip, list(handles.values()))
    save(fig, out, "stalls")
