#!/usr/bin/env python3
"""One report over the kernels scripts/kernels.sh ran, like mmtests' compare-kernels: what each kernel
offers, what discard-aware population saves on each backend on each kernel, which strategies keep
the snapshot consistent where, and whether every memory figure equals the model.

usage: kernel-report.py DIR      (DIR/KERNEL/{uname,doctor,check}.txt, run-summary.csv, snapshot.csv)

Writes DIR/report.md, DIR/report.html and, with matplotlib, DIR/kernels.png and DIR/kernels.svg.
Times are left out on purpose: under TCG they are the emulator's, not the kernel's. Exit 0 written,
2 no kernel results in DIR.
"""
import csv
import html
import json
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MiB = 1 << 20


def version_key(text):
    """5.10 < 6.1 < 6.12 < 6.18.44-fc < 7.3: the numbers of a release, in order."""
    return [int(p) for p in re.findall(r"\d+", text)[:3]]


def read_csv(path):
    return list(csv.DictReader(open(path, newline=""))) if path.exists() and path.stat().st_size else []


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def load(directory):
    kernels = {}
    for sub in sorted((p for p in directory.iterdir() if p.is_dir() and (p / "uname.txt").exists()),
                      key=lambda p: version_key((p / "uname.txt").read_text())):
        kernels[sub.name] = {
            "release": (sub / "uname.txt").read_text().strip(),
            "doctor": (sub / "doctor.txt").read_text() if (sub / "doctor.txt").exists() else "",
            "check": (sub / "check.txt").read_text() if (sub / "check.txt").exists() else "",
            "run": read_csv(sub / "run-summary.csv"),
            "snapshot": read_csv(sub / "snapshot.csv"),
        }
    return kernels


def missing_from_doctor(doctor):
    """The 'missing:' lines of bench doctor, userfaultfd's and the interfaces'."""
    found = []
    for line in doctor.splitlines():
        line = line.strip()
        if line.startswith("missing:"):
            found += [item.strip() for item in line[len("missing:"):].split(",") if item.strip()]
        if line.startswith("userfaultfd unavailable"):
            found.append(line)
    return found


def phase_memory(rows, backend, strategy, data_column):
    """(page tables, data) over populate and protect (medians of the repetitions): what the
    strategy costs, or None and the skip reason. Data is the backend's own counter (RssAnon,
    RssShmem, HugetlbPages), so another kind's per-CPU counter lag does not blur it."""
    chosen = [r for r in rows if r["backend"] == backend and r["strategy"] == strategy
              and r["phase"] in ("populate", "protect")]
    if not chosen:
        return None, "not run"
    if any(r["ok_repetitions"] == "0" for r in chosen):
        return None, next(r["reason"] for r in chosen if r["ok_repetitions"] == "0")
    tables = sum(number(r.get("pte_bytes_median")) or 0 for r in chosen)
    data = sum(number(r.get(data_column + "_median")) or 0 for r in chosen)
    return (tables, data), ""


def size(value):
    return f"{value / MiB:.1f} MiB" if abs(value) >= MiB else f"{value / 1024:.0f} KiB"


def short_reason(reason):
    releases = re.findall(r"\(Linux (\d+\.\d+)\)", reason)
    return f"needs Linux {max(releases, key=version_key)}" if releases else (reason or "skipped")


def main():
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        print(next(line for line in __doc__.splitlines() if line.startswith("usage:")), file=sys.stderr)
        return 2
    directory = Path(sys.argv[1])
    kernels = load(directory) if directory.is_dir() else {}
    if not kernels:
        print(f"kernel-report: no kernel results (KERNEL/uname.txt) in {directory}", file=sys.stderr)
        return 2
    names = list(kernels)
    schema = json.load(open(REPO / "docs" / "columns.json"))
    pairs = [(s["name"], s["saves_against"]) for s in schema["strategies"] if s.get("saves_against")]
    backends = [b["name"] for b in schema["backends"]]
    data_column = {b["name"]: ("hugetlb_bytes" if "hugetlb" in b["name"] else b["data_column"]) for b in schema["backends"]}
    strategy_order = [s["name"] for s in schema["strategies"]]

    md = [f"# PopulateBench on {len(names)} kernels", "",
          "Made by `scripts/kernels.sh --compare` from the results in this folder: each kernel booted under QEMU TCG "
          "with the harness inside. Times are left out: under TCG they are the emulator's, not comparable with the "
          "host's or across kernels. Memory (page tables and data, the medians of the repetitions) and the "
          "snapshot's consistency are the kernel's.", ""]
    sections = []

    # 1. What each kernel offers.
    rows = [["kernel", "release", "lacks (the release that brought it)"]]
    for name in names:
        lacks = missing_from_doctor(kernels[name]["doctor"])
        rows.append([name, kernels[name]["release"], ", ".join(lacks) or "nothing the harness uses"])
    sections.append(("What each kernel offers (bench doctor)", rows))

    # 2. Rows ok and skipped, and the model.
    rows = [["kernel", "summary rows ok", "skipped", "skip reasons", "checks (kernel-check.py)"]]
    for name in names:
        summary = kernels[name]["run"]
        ok = sum(1 for r in summary if r["ok_repetitions"] != "0")
        reasons = sorted({short_reason(r["reason"]) for r in summary if r["ok_repetitions"] == "0"})
        verdict = re.findall(r"(\d+) passed, (\d+) failed", kernels[name]["check"])
        check = f"{verdict[-1][0]} passed, {verdict[-1][1]} failed" if verdict else "not checked"
        rows.append([name, str(ok), str(len(summary) - ok), "; ".join(reasons) or "-", check])
    sections.append(("Rows run and skipped; every memory figure against the model", rows))

    # 3. Savings.
    savings = {}  # (backend, strategy) -> {kernel: MiB or reason}
    rows = [["backend", "strategy", "saves against"] + names]
    for backend in backends:
        for strategy, against in pairs:
            cells = []
            for name in names:
                summary = kernels[name]["run"]
                spent, why = phase_memory(summary, backend, strategy, data_column[backend])
                full, why_full = phase_memory(summary, backend, against, data_column[backend])
                if spent is None or full is None:
                    cells.append(short_reason(why or why_full) if (why or why_full) != "not run" else "-")
                    savings.setdefault((backend, strategy), {})[name] = None
                else:
                    saved = (full[0] - spent[0], full[1] - spent[1])
                    cells.append(f"tables {size(saved[0])} of {size(full[0])}, data {size(saved[1])} of {size(full[1])}")
                    savings.setdefault((backend, strategy), {})[name] = saved
            if any(c != "-" for c in cells):
                rows.append([backend, strategy, against] + cells)
    sections.append(("What discard-aware population saves: page tables (VmPTE) and the backend's data counter, "
                     "populate + protect, against the full population it replaces", rows))

    # 4. Consistency.
    snapshot_rows = [["backend", "strategy"] + names]
    consistency = {}
    for backend in backends:
        for strategy in strategy_order:
            cells = []
            for name in names:
                found = [r for r in kernels[name]["snapshot"] if r["backend"] == backend and r["strategy"] == strategy
                         and r["phase"] == "snapshot"]
                if not found:
                    cells.append("-")
                    continue
                ok = [r for r in found if r["status"] == "ok"]
                if not ok:
                    cells.append(short_reason(found[0]["reason"]))
                    continue
                lost = [int(r["inconsistent_pages"] or 0) for r in ok]
                consistency[(backend, strategy, name)] = max(lost)
                cells.append("consistent" if max(lost) == 0 else f"lost {min(lost)}–{max(lost)} pages")
            if any(c != "-" for c in cells):
                snapshot_rows.append([backend, strategy] + cells)
    if len(snapshot_rows) > 1:
        sections.append(("Is the snapshot consistent? (pages that changed after protection began, per repetition)",
                         snapshot_rows))

    for title, table in sections:
        md += [f"## {title}", "", "| " + " | ".join(table[0]) + " |", "|" + "---|" * len(table[0])]
        md += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in table[1:]]
        md.append("")

    figure = draw(directory, names, savings, backends, pairs)
    if figure:
        md.insert(4, f"![What discard-aware population saves, by kernel]({figure})\n")
    else:
        md.insert(4, "(no figure: matplotlib is not installed; scripts/setup.sh --plot installs it)\n")
    (directory / "report.md").write_text("\n".join(md) + "\n")

    page = ["<!doctype html><meta charset=utf-8><title>PopulateBench on kernels</title>",
            "<style>body{font-family:sans-serif;max-width:80em;margin:auto}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}</style>",
            f"<h1>PopulateBench on {len(names)} kernels</h1>", f"<p>{html.escape(md[2])}</p>"]
    if figure:
        page.append(f'<img src="{html.escape(figure)}" alt="savings by kernel" style="max-width:100%">')
    for title, table in sections:
        page.append(f"<h2>{html.escape(title)}</h2><table><tr>"
                    + "".join(f"<th>{html.escape(c)}</th>" for c in table[0]) + "</tr>")
        page += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table[1:]]
        page.append("</table>")
    (directory / "report.html").write_text("\n".join(page) + "\n")
    print(f"kernel-report: {directory / 'report.md'}, {directory / 'report.html'}"
          + (f", {directory / figure}" if figure else ""))
    return 0


def draw(directory, names, savings, backends, pairs):
    """Two panels of grouped bars, page tables (KiB) and data (MiB) saved: per backend and saving
    strategy, one bar per kernel; a kernel that cannot run it gets a hatched stub."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    shown = [(b, s) for b in backends for s, _ in pairs
             if (b, s) in savings and any(v is not None for v in savings[(b, s)].values())]
    if not shown:
        return None
    fig, axes = plt.subplots(2, 1, figsize=(max(9, 0.55 * len(shown)), 7.5), sharex=True)
    width = 0.8 / len(names)
    colours = plt.get_cmap("viridis")([i / max(1, len(names) - 1) for i in range(len(names))])
    for panel, (ax, unit, scale, label) in enumerate(((axes[0], "KiB", 1024, "page tables saved (KiB)"),
                                                      (axes[1], "MiB", MiB, "data saved (MiB)"))):
        values_of = lambda name: [None if savings[key].get(name) is None else savings[key][name][panel] / scale
                                  for key in shown]
        top = max([v for name in names for v in values_of(name) if v is not None] + [1])
        for k, name in enumerate(names):
            xs = [i + (k - (len(names) - 1) / 2) * width for i in range(len(shown))]
            values = values_of(name)
            ax.bar([x for x, v in zip(xs, values) if v is not None], [v for v in values if v is not None],
                   width, color=colours[k], label=name)
            stubs = [x for x, v in zip(xs, values) if v is None]
            ax.bar(stubs, [top * 0.03] * len(stubs), width, color="none", edgecolor=colours[k], hatch="//")
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_title("What discard-aware population saves, by kernel (hatched: the kernel cannot run it)")
    axes[0].legend(title="kernel", fontsize=8)
    axes[1].set_xticks(range(len(shown)))
    axes[1].set_xticklabels([f"{b}\n{s}" for b, s in shown], fontsize=7, rotation=60, ha="right")
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(directory / f"kernels.{ext}")
    plt.close(fig)
    return "kernels.png"


if __name__ == "__main__":
    sys.exit(main())
