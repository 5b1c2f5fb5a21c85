"""The cancel and guest-writes charts of a bench qemu CSV: what a cancelled snapshot left on each
program beside its emulation (docs/cancel.md), and how long the guest's own writes took during a
snapshot, per program (--guest-writers)."""

from . import text
from .config import BACKENDS, rank, where
from .needs import chart
from .qemu import QEMU_STRATEGIES, med, program_label

PROTECTED = "after_cancel_protected_bytes"
MODEL = "after_cancel_protected_model_bytes"
ALIVE = "after_cancel_guest_alive"
CANCEL_AT = "cancel_at"
PROGRAM = ("qemu_version", "qemu_build", "qemu_patch")
LATENCY = ("guest_write_p50_us", "guest_write_p99_us", "guest_write_max_us")
STALLS = ("stall_p50_us", "stall_p99_us", "stall_max_us")


@chart("cancel", raw=("phase", "strategy", "backend"), optional={"raw": (CANCEL_AT, PROTECTED, MODEL, ALIVE),
                                                                 "qemu": PROGRAM},
       units={PROTECTED: ("bytes",), MODEL: ("bytes",), ALIVE: ("count",), CANCEL_AT: ("fraction",)})
def plot_cancel(schema, rows, out):
    """cancel: per backend and cancel fraction, the memory each program left write-protected after a
    cancelled snapshot (real, red) beside its emulation (blue), medians; a hung guest is marked."""
    from .figures import figure, save, skip
    rows = [r for r in rows if r.get(CANCEL_AT) is not None and r["phase"] == "snapshot"]
    if not rows:
        return skip("cancel", "no cancelled snapshots (bench qemu --cancel-at)")
    panels = sorted({(r["backend"], r[CANCEL_AT]) for r in rows}, key=lambda p: (rank(BACKENDS, p[0]), p[1]))
    programs = list(dict.fromkeys(program_label(r) for r in rows))
    title = f"What a cancelled background snapshot leaves write-protected, per program\n{where(rows)}; above each real bar: the guest after the cancel"
    fig, axes, strip = figure(len(panels), len(panels), (max(4.0, 1.1 * len(programs) + 1), 3.6), title)
    for ax, (backend, fraction) in zip(axes, panels):
        these = [r for r in rows if r["backend"] == backend and r[CANCEL_AT] == fraction]
        values = {p: ([], [], []) for p in programs}
        for r in these:
            real = r["strategy"] in QEMU_STRATEGIES
            values[program_label(r)][0 if real else 1].append(r.get(PROTECTED))
            if real:
                values[program_label(r)][2].append(r.get(ALIVE))
        top = max([v for p in programs for v in values[p][0] + values[p][1] if v is not None] or [1])
        divisor, unit = text.scale(schema["raw"], PROTECTED, top)
        xs = range(len(programs))
        ax.bar([x - 0.2 for x in xs], [med(values[p][0]) / divisor for p in programs], 0.38, color="#d62728",
               label="real QEMU")
        ax.bar([x + 0.2 for x in xs], [med(values[p][1]) / divisor for p in programs], 0.38, color="#1f77b4",
               label="emulation")
        for x, p in zip(xs, programs):
            alive = [a for a in values[p][2] if a is not None]
            if alive:
                hung = med(alive) < 0.5
                ax.text(x - 0.2, med(values[p][0]) / divisor, "hung" if hung else "alive", ha="center", va="bottom",
                        fontsize=7, color="#d62728" if hung else "#2ca02c")
        ax.set_xticks(list(xs), [p.replace(" ", "\n").replace("-7.2.patch", "") for p in programs], fontsize=7)
        ax.set_ylabel(f"protected after the cancel ({unit})")
        ax.set_title(f"{backend}, cancelled at {text.percent(fraction)}", fontsize=9)
    handles, labels = axes[0].get_legend_handles_labels()
    strip.legend(handles, labels, loc="center", ncol=2)
    save(fig, out, "cancel")


@chart("guest-writes", raw=("phase", "strategy", "backend"), optional={"qemu": LATENCY + PROGRAM, "raw": STALLS},
       units={c: ("microseconds",) for c in LATENCY + STALLS})
def plot_guest_writes(schema, rows, out):
    """guest-writes: per backend, the guest's own write latency during each program's real snapshot
    (p50, p99, max; medians over repetitions), log scale. Under TCG these are the emulator's times:
    compare the programs, not a host."""
    from .figures import figure, save, skip
    real = [r for r in rows if r["strategy"] in QEMU_STRATEGIES and r.get(LATENCY[0]) is not None]
    if not real:
        return skip("guest-writes", "no guest write latencies (bench qemu --guest-writers)")
    backends = sorted({r["backend"] for r in real}, key=lambda b: rank(BACKENDS, b))
    programs = list(dict.fromkeys(program_label(r) for r in real))
    accelerator = real[0].get("accelerator") or ""
    title = (f"The guest's own writes during a real background snapshot ({accelerator}), per program\n"
             f"{where(real)}; medians over repetitions")
    fig, axes, strip = figure(len(backends), len(backends), (max(4.0, 1.2 * len(programs) + 1), 3.6), title)
    colors = ("#9ecae1", "#3182bd", "#08519c")
    for ax, backend in zip(axes, backends):
        xs = range(len(programs))
        for i, (column, name) in enumerate(zip(LATENCY, ("p50", "p99", "max"))):
            ys = [med([r[column] for r in real if r["backend"] == backend and program_label(r) == p]) for p in programs]
            ax.bar([x + (i - 1) * 0.27 for x in xs], ys, 0.26, color=colors[i], label=name)
        ax.set_yscale("log")
        ax.set_xticks(list(xs), [p.replace(" ", "\n").replace("-7.2.patch", "") for p in programs], fontsize=7)
        ax.set_ylabel("guest write (µs)")
        ax.set_title(backend, fontsize=9)
    handles, labels = axes[0].get_legend_handles_labels()
    strip.legend(handles, labels, loc="center", ncol=3)
    save(fig, out, "guest-writes")
