"""The qemu chart: a bench qemu CSV's real QEMU process against its emulation and the model."""

import math
import re
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
PROGRAM = ("qemu_build", "qemu_patch", "qemu_change")  # added with several QEMUs per run
REGION = "region_data_bytes"  # the emulation's copy (its snapshot row), added with it
HASH = re.compile(r"\(([0-9a-f]{12}),")


def program_label(r):
    """7.2.22 debian, 7.2.22 patched wp-unpopulated-7.2.patch: as bench qemu's summary names a program."""
    version = (r.get("qemu_version") or "").split(" ")[0]
    return " ".join(p for p in (version, r.get("qemu_build") or "", r.get("qemu_patch") or "") if p)


def change_label(change):
    """The commits (or the patch) that separate a program from the one before it, short."""
    if not change:
        return ""
    hashes = HASH.findall(change)
    if hashes:
        return ("without " if change.startswith("without ") else "+ ") + ", ".join(hashes)
    return change.split(":")[0] if change.endswith(")") or ":" in change else change


def qemu_cases(rows):
    """bench qemu's real rows with their emulation: {backend: [(case label, [(program, entries,
    change)])]} where an emulation is the populate, protect and copy rows of the preset with the same
    configuration, program and repetition (bench qemu copies the emulation's identity columns and
    its program's columns into the real row)."""
    emulated = defaultdict(lambda: [0, 0, 0, 0, 0])  # pte, data, model pte, model data, phases
    for r in rows:
        if r["phase"] in ("populate", "protect", "snapshot") and r["strategy"] not in QEMU_STRATEGIES:
            e = emulated[(r["config"]._replace(**{PLUGGED: None}), program_label(r), r["strategy"], r["repetition"])]
            e[0] += r[PTE]
            # The copy's data on the region alone (older CSVs have no copy and no such column).
            region = r.get(REGION) if r["phase"] == "snapshot" else None
            e[1] += region if region is not None else sum(r[c] for c in DATA.values())
            e[2] += r[MODEL[0]] or 0
            e[3] += r[MODEL[1]] or 0
            e[4] += 1
    cases = defaultdict(lambda: defaultdict(dict))
    programs = []
    for r in rows:
        if r["strategy"] not in QEMU_STRATEGIES:
            continue
        program = program_label(r)
        if program not in programs:
            programs.append(program)
        label = "plain RAM" if r["strategy"] == "qemu-real-ram" else f"{text.percent(r[PLUGGED])} plugged"
        twin = emulated.get((r["config"]._replace(**{PLUGGED: None}), program, r.get("emulated_by") or "",
                             r["repetition"]))
        data = sum(r[c] for c in DATA.values())
        device = r.get(DEVICE)  # None without the column or a value
        slot = cases[r["backend"]][(r["strategy"] == "qemu-real-ram", r[PLUGGED], label)]
        entries, _ = slot.setdefault(program, ([], change_label(r.get("qemu_change") or "")))
        entries.append((r[PTE], data, device, twin if twin and twin[4] in (2, 3) else None))
    order = {p: i for i, p in enumerate(programs)}
    return {b: [(key[2], sorted(((p, e, ch) for p, (e, ch) in by_program.items()), key=lambda x: order[x[0]]))
                for key, by_program in sorted(c.items())] for b, c in cases.items()}


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


@chart("qemu", raw=("phase", "strategy", "repetition", "backend", "region_bytes", PLUGGED, PTE)
       + tuple(DATA.values()), blank={"raw": MODEL}, optional={"qemu": REAL + PROGRAM, "raw": (REGION,)},
       units={c: ("bytes",) for c in (PTE, DEVICE, REGION, "region_bytes", *DATA.values(), *MODEL)})
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
    several = len({program_label(r) for r in rows if r["strategy"] in QEMU_STRATEGIES}) > 1
    what = "Real QEMUs side by side" if several else f"Real QEMU {version}"
    against = "their emulations (each program's preset)" if several else f"its emulation ({emulated_by})"
    title = (f"{what} ({accelerator}) against {against} and the model\n"
             f"{text.size(first['region_bytes'])}; {where(rows)}; labels: real − emulation")
    bars = max(sum(len(programs) for _, programs in c) + len(c) - 1 for c in cases.values())
    width = max(5.5, (1.0 if several else 1.2) * bars + 1.5)
    fig, axes, strip = figure(2 * len(backends), len(backends), (width, 3.8 if several else 3.4), title)
    colors = {"real QEMU": "#d62728", "real, in the tested memory": "#ff9896", "emulation": "#1f77b4"}
    for col, backend in enumerate(backends):
        # One slot per program of each case, a gap between cases.
        slots, labels = [], []
        for case_label, programs in cases[backend]:
            for program, entries, change in programs:
                slots.append(entries)
                tick = f"{program}\n{case_label}" if several else case_label
                if several and change:
                    tick += f"\n{change}"
                labels.append(tick)
        xs = []
        x = 0
        for _, programs in cases[backend]:
            xs += [x + i for i in range(len(programs))]
            x += len(programs) + (1 if several else 0)
        for row, (index, what) in enumerate(((0, "page tables"), (1, "data"))):
            ax = axes[row * len(backends) + col]
            real = [med([e[index] for e in entries]) for entries in slots]
            emul = [med([e[3][index] if e[3] else None for e in entries]) for entries in slots]
            model = [med([e[3][index + 2] if e[3] else None for e in entries]) for entries in slots]
            finite = [v for v in real + emul + model if not math.isnan(v)]
            divisor, unit = text.scale(schema["raw"], PTE, max([abs(v) for v in finite] or [1]))
            ax.bar([x - 0.2 for x in xs], [v / divisor for v in real], 0.38, color=colors["real QEMU"])
            if index == 1:
                device = [med([e[2] for e in entries]) for entries in slots]
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
            ax.set_xticklabels(labels, rotation=30 if several else 20, ha="right", rotation_mode="anchor",
                               fontsize=7 if several else None)
            ax.margins(y=0.18)
            ax.set_ylabel(unit)
            ax.set_title(f"{backend}: {what} gained")
    handles = [Patch(color=c, label=k) for k, c in colors.items()]
    handles.append(Line2D([], [], **MODEL_STYLE, label="model (expected)"))
    strip.legend(handles=handles, loc="center", ncol=2, frameon=False)
    save(fig, out, "qemu")
