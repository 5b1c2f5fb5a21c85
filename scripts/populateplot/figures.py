"""matplotlib and the figure layout every chart shares. The only module that imports matplotlib at
import time: chart functions import it when they draw, so --check-schema runs without it."""

import math
import sys
import textwrap

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, NullFormatter
except ImportError:
    sys.exit("plot.py: matplotlib is missing: install it with scripts/setup.sh --plot")

from . import config, text
from .load import PlotError

__all__ = ["plt", "Line2D", "Patch", "FuncFormatter", "NullFormatter"]

# tab20's dark colours, then its light ones: a distinct colour for each declared strategy, in order.
STRATEGY_COLORS = dict(zip(config.STRATEGIES, plt.get_cmap("tab20").colors[0::2] + plt.get_cmap("tab20").colors[1::2]))
KIND_COLORS = {"page tables": "#d62728", "anon": "#1f77b4", "shmem": "#2ca02c", "hugetlb": "#9467bd"}
MODEL_STYLE = {"color": "black", "linewidth": 2.5}

plt.rcParams.update({
    "font.size": 10, "axes.titlesize": 10.5, "axes.labelsize": 10, "xtick.labelsize": 9,
    "ytick.labelsize": 9, "legend.fontsize": 10, "figure.titlesize": 13,
    "svg.fonttype": "none", "axes.spines.top": False, "axes.spines.right": False,
})


def strategy_palette(strategies):
    """{strategy: colour}: the fixed tab10 colour of a known strategy, light tab20 ones for the rest."""
    extra = iter(plt.get_cmap("tab20").colors[1::2])
    return {s: STRATEGY_COLORS.get(s) or next(extra, "grey") for s in strategies}


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
    return max(4.2, 0.62 * max(len(config.strategies_of(rows)) for _, rows in panels) + 1.4)


def legend_strip(ax, handles):
    """The legend in the strip below the panels: as many columns as the figure's width holds."""
    columns = max(1, min(len(handles), 6, int(ax.figure.get_figwidth() / 1.45)))
    ax.legend(handles=handles, loc="center", ncol=columns, frameon=False)


def strategy_axis(ax, strategies):
    ax.set_xticks(range(len(strategies)))
    ax.set_xticklabels(strategies, rotation=35, ha="right", rotation_mode="anchor")
    ax.set_xlim(-0.6, len(strategies) - 0.4)


def log_axis(ax, values):
    """A log y axis a little past the decades around the values (seconds), ticks as durations."""
    ax.set_yscale("log")
    low, high = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    ax.set_ylim(10 ** (low - 0.25), 10 ** (high + 0.25))
    ax.yaxis.set_major_formatter(FuncFormatter(text.duration))
    ax.yaxis.set_minor_formatter(NullFormatter())


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
