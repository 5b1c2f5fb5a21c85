"""The qemu chart: a bench qemu CSV's real QEMU process against its emulation and the model."""

import math
import statistics
from collections import defaultdict

from . import text
from .config import BACKENDS, rank, where
from .memory import DATA, MODEL, PTE, PLUGGED
from .needs import chart

# bench qemu's real rows (docs/cli.md): their emulation is the preset named in emulated_by.
QEMU_STRATEGIES = ["qemu-real", "qemu-real-ram"]
DEVICE = "device_data_bytes"
REAL = ("qemu_version", "accelerator", "emulated_by", DEVICE)  # bench qemu's own columns


def qemu_cases(rows):
    """bench qemu's real rows with their emulation: {backend: [(case label, real rows, emulated sums)]}
    where an emulation is the populate + protect rows of the preset with the same configuration and
    repetition (bench qemu copies the emulation's identity columns into the real row)."""
    emulated = defaultdict(lambda: [0, 0, 0, 0, 0])  # pte, data, model pte, model data, phases
    for r in rows:
        if r["phase"] in ("populate", "protect") and r["strategy"] not in QEMU_STRATEGIES:
            e = emulated[(r["config"]._replace(**{PLUGGED: None}), r["strategy"], r["repetition"])]
            e[0] += r[PTE]
            e[1] += sum(r[c] for c in DATA.values())
            e[2] += r[MODEL[0]] or 0
            e[3] += r[MODEL[1]] or 0
            e[4] += 1
    cases = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["strategy"] not in QEMU_STRATEGIES:
            continue
        label = "plain RAM" if r["strategy"] == "qemu-real-ram" else f"{text.percent(r[PLUGGED])} plugged"
        twin = emulated.get((r["config"]._replace(**{PLUGGED: None}), r.get("emulated_by") or "", r["repetition"]))
        data = sum(r[c] for c in DATA.values())
        device = r.get(DEVICE)  # None without the column or a value
        cases[r["backend"]][(r["strategy"] == "qemu-real-ram", r[PLUGGED], label)].append(
            (r[PTE], data, device, twin if twin and twin[4] == 2 else None))
    return {b: [(key[2], entries) for key, entries in sorted(c.items())] for b, c in cases.items()}


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


@chart("qemu", raw=("phase", "strategy", "repetition", "backend", "region_bytes", PLUGGED, PTE)
       + tuple(DATA.values()), blank={"raw": MODEL}, optional={"qemu": REAL},
       units={c: ("bytes",) for c in (PTE, DEVICE, "region_bytes", *DATA.values(), *MODEL)})
def plot_qemu(schema, rows, out):
    """qemu: per backend, the real QEMU process's gains over its background snapshot (page tables
    top, data below; data split into the tested memory's own mapping and the rest, QEMU's own
    allocations) beside the emulation's populate + protect and the model's, per plugged fraction and
    for the plain-RAM control, medians over repetitions."""
    from .figures import MODEL_STYLE, Line2D, Patch, figure, save, skip
    cases = qemu_cases(rows)
    if not cases:
        return skip("qemu", "no bench qemu rows (strategy qemu-real or qemu-real-ram)")
    backends = sorted(cases, key=lambda b: rank(BACKENDS, b))
    first = next(r for r in rows if r["strategy"] in QEMU_STRATEGIES)
    version, accelerator, emulated_by = (first.get(c) or "" for c in REAL[:3])
    title = (f"Real QEMU {version} ({accelerator}) against its emulation ({emulated_by}) and the model\n"
             f"{text.size(first['region_bytes'])}; {where(rows)}; labels: real − emulation")
    width = max(5.5, 1.2 * max(len(c) for c in cases.values()) + 1.5)
    fig, axes, strip = figure(2 * len(backends), len(backends), (width, 3.4), title)
    colors = {"real QEMU": "#d62728", "real, in the tested memory": "#ff9896", "emulation": "#1f77b4"}
    for col, backend in enumerate(backends):
        labels = [label for label, _ in cases[backend]]
        for row, (index, what) in enumerate(((0, "page tables"), (1, "data"))):
            ax = axes[row * len(backends) + col]
            real = [med([e[index] for e in entries]) for _, entries in cases[backend]]
            emul = [med([e[3][index] if e[3] else None for e in entries]) for _, entries in cases[backend]]
            model = [med([e[3][index + 2] if e[3] else None for e in entries]) for _, entries in cases[backend]]
            finite = [v for v in real + emul + model if not math.isnan(v)]
            divisor, unit = text.scale(schema["raw"], PTE, max([abs(v) for v in finite] or [1]))
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
                    ax.annotate(("+" if r >= e else "-") + text.human(abs(round(r - e))), (x, max(r, e) / divisor),
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
