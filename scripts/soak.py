#!/usr/bin/env python3
"""Fault-injection soak of `bench run` (driven by scripts/soak.sh).

Each injection runs a short matrix and, at a moment drawn from the seed, does one of: SIGKILL of the
trial child while it populates, protects or snapshots; SIGINT (to the parent, or to its whole process
group as a terminal's Ctrl-C does), SIGTERM or SIGHUP to the parent; SIGKILL of the parent; the
hugetlb pool shrunk under a running trial and restored; --out or --snapshot-out on a small tmpfs that
fills. Then it checks that nothing was lost or left behind:

- the CSV parses (RFC 4180, every record as wide as the header) and holds whole trials only;
- every trial the run reported finished has its rows, and a run that was not cut short has them all;
- a trial cut short is one failed trial naming the signal (a killed child), or absent (the parent was
  interrupted or killed before recording it);
- the exit code is the one the injection calls for (128 + signal, 1, or 0);
- no process of the run remains (this script is a child subreaper: orphans come back to it);
- no process holds a memfd the harness made (`memfd:populatebench-*` in any /proc/PID/fd), the
  hugetlb pool's HugePages_Total/Free and the hugetlbfs mount's free blocks are back to their values
  before, and no populatebench file is left in the mount. System-wide Shmem is not read: any other
  process on the host moves it.

It closes with `N injections, N recovered, 0 lost rows, 0 leaks`, or with what failed and the seed and
index to replay it, and exits non-zero on any loss or leak.
"""

import argparse
import csv
import ctypes
import io
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

PR_SET_CHILD_SUBREAPER = 36
POOL = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
PHASES = {"populate", "protect", "snapshot"}

# name -> bench run arguments. Each takes about half a second.
MATRICES = {
    "anon": ["--backend", "anon-private", "--strategy", "full-touch,discard-touch", "--size", "512MiB",
             "--resident", "0", "--repetitions", "2"],
    "shmem-snapshot": ["--backend", "memfd-shmem", "--strategy", "qemu-8.0,none", "--size", "128MiB",
                       "--snapshot", "--writers", "1", "--write-rate", "20000", "--repetitions", "2"],
    "anon-snapshot": ["--backend", "anon-private", "--strategy", "qemu-7.2", "--size", "256MiB",
                      "--snapshot", "--writers", "2", "--repetitions", "2"],
    "hugetlb-snapshot": ["--backend", "memfd-hugetlb", "--strategy", "full-touch,qemu-8.0", "--size", "64MiB",
                         "--snapshot", "--writers", "1", "--write-rate", "20000", "--repetitions", "2"],
    "hugetlbfs": ["--backend", "hugetlbfs", "--strategy", "discard-touch,full-touch", "--size", "64MiB",
                  "--repetitions", "2"],
}

# kind -> (weight, matrices it runs on)
KINDS = {
    "kill-child-populate": (10, ["anon", "shmem-snapshot", "hugetlbfs"]),
    "kill-child-protect": (10, ["anon", "shmem-snapshot", "anon-snapshot", "hugetlb-snapshot"]),
    "kill-child-snapshot": (10, ["shmem-snapshot", "anon-snapshot", "hugetlb-snapshot"]),
    "sigint-parent": (7, list(MATRICES)),
    "sigint-group": (7, list(MATRICES)),
    "sigterm-parent": (7, list(MATRICES)),
    "sighup-parent": (7, list(MATRICES)),
    "kill-parent": (10, list(MATRICES)),
    "shrink-pool": (8, ["hugetlb-snapshot", "hugetlbfs"]),
    "full-out": (7, ["anon", "shmem-snapshot"]),
    "full-snapshot-out": (7, ["shmem-snapshot", "anon-snapshot"]),
}


class Failure(Exception):
    def __init__(self, message, lost_rows=0, leaks=0):
        super().__init__(message)
        self.lost_rows = lost_rows
        self.leaks = leaks


def meminfo():
    values = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, rest = line.split(":", 1)
            values[key] = int(rest.split()[0])
    return values


def harness_memfds():
    """Every open memfd the harness made, as PID:fd, whoever holds it."""
    held = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("/memfd:populatebench"):
                    held.append(f"{pid}:{fd}")
        except OSError:
            continue  # the process ended, or its fds are not ours to read
    return held


def system_state(mount):
    info = meminfo()
    state = {"memfds": harness_memfds(), "hugepages_total": info["HugePages_Total"],
             "hugepages_free": info["HugePages_Free"], "mount_free": None, "mount_files": []}
    if mount:
        state["mount_free"] = os.statvfs(mount).f_bfree
        state["mount_files"] = sorted(os.listdir(mount))
    return state


def leaks_against(before, mount):
    """What differs from `before`, after giving the counters a moment to settle."""
    problems = []
    for _ in range(50):
        after = system_state(mount)
        problems = []
        left_open = sorted(set(after["memfds"]) - set(before["memfds"]))
        if left_open:
            problems.append(f"memfds left open: {', '.join(left_open)}")
        for key in ("hugepages_total", "hugepages_free", "mount_free"):
            if after[key] != before[key]:
                problems.append(f"{key} {before[key]} -> {after[key]}")
        left = [name for name in after["mount_files"] if name not in before["mount_files"]]
        if left:
            problems.append(f"files left in {mount}: {', '.join(left)}")
        if not problems:
            return []
        time.sleep(0.02)
    return problems


def children_of(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def child_phase(pid):
    """populate (before protection), protect (a userfaultfd open, no snapshot threads) or snapshot."""
    try:
        threads = 1
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Threads:"):
                    threads = int(line.split()[1])
        links = []
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                links.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                pass
    except OSError:
        return None
    if not any("userfaultfd" in link for link in links):
        return "populate"
    return "snapshot" if threads >= 3 else "protect"


def stat_fields(pid):
    """/proc/PID/stat after the command name: [state, ppid, pgrp, ...], or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def is_dying(pid):
    """Dead, exiting (PF_EXITING), or with a SIGKILL pending: on its way out without help."""
    fields = stat_fields(pid)
    if fields is None or fields[0] in "ZX" or int(fields[6]) & 0x4:
        return True
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("SigPnd:", "ShdPnd:")) and int(line.split()[1], 16) & (1 << (signal.SIGKILL - 1)):
                    return True
    except OSError:
        return True
    return False


def survivors():
    """This subreaper's children that are neither dead nor dying: a trial child that outlived its
    parent comes back here, and must already have been killed by the kernel (PR_SET_PDEATHSIG)."""
    return [pid for pid in children_of(os.getpid()) if not is_dying(pid)]


def reap_orphans(deadline, statuses):
    """Reaps every child this subreaper has, noting how each ended in `statuses`; returns those
    still running at `deadline` (a leak), killed."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return []
        if pid != 0:
            statuses[pid] = status
        else:
            if time.monotonic() > deadline:
                alive = children_of(os.getpid())
                for child in alive:
                    try:
                        os.kill(child, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                return alive
            time.sleep(0.005)


def parse_csv(path):
    """(header, rows) of an RFC 4180 CSV whose every record is as wide as its header."""
    with open(path, newline="") as f:
        text = f.read()
    if not text:
        raise Failure(f"{path} is empty (not even a header)", lost_rows=1)
    if not text.endswith("\n"):
        raise Failure(f"{path} does not end with a whole row", lost_rows=1)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records = list(reader)
    header = records[0]
    rows = []
    for number, record in enumerate(records[1:], start=2):
        if len(record) != len(header):
            raise Failure(f"{path} line {number}: {len(record)} fields, header {len(header)}", lost_rows=1)
        rows.append(dict(zip(header, record)))
    return header, rows


def trials(rows):
    """Rows grouped by trial (everything that identifies one, less the phase), in order."""
    groups = {}
    skip = {"phase", "status", "reason"}
    identity = None
    for row in rows:
        if identity is None:
            measured_from = list(row).index("pte_bytes")
            identity = [c for c in list(row)[:measured_from] if c not in skip] + \
                [c for c in ("numa_policy", "populate_node", "guest_node", "tracking", "writers", "write_rate",
                             "sample_interval_seconds") if c in row]
        key = tuple(row[c] for c in identity)
        groups.setdefault(key, []).append(row)
    return list(groups.values())


def expected_trials(arguments):
    def value(flag, default):
        return arguments[arguments.index(flag) + 1] if flag in arguments else default
    count = 1
    for flag in ("--backend", "--strategy", "--size", "--plugged"):
        count *= len(value(flag, "x").split(","))
    return count * int(value("--repetitions", "3"))


class Soak:
    def __init__(self, bench, seed, work, hugetlbfs, kinds):
        self.bench = bench
        self.kinds = kinds
        self.seed = seed
        self.work = work
        self.hugetlbfs = hugetlbfs
        self.full_mount = os.path.join(work, "full")
        os.makedirs(self.full_mount, exist_ok=True)
        self.pool_before = None

    def run_all(self, arguments, seed, started, failures, counts):
        """Runs the injections, printing each failure with how to replay it; appends (index, Failure)."""
        for index in range(arguments.first, arguments.first + arguments.injections):
            _, kind, matrix = self.choose(index)
            try:
                kind, matrix, delivered = self.injection(index)
                counts[kind] = counts.get(kind, 0) + (1 if delivered else 0)
            except Failure as failure:
                failures.append((index, failure))
                only = "" if self.kinds == list(KINDS) else f" --kinds {','.join(self.kinds)}"
                print(f"soak: #{index} {kind} on {matrix} FAILED: {failure} "
                      f"(replay: scripts/soak.sh --seed {seed} --first {index} --injections 1{only})", flush=True)
            done = index - arguments.first + 1
            if done % 50 == 0:
                print(f"soak: {done}/{arguments.injections} after {time.monotonic() - started:.0f} s", flush=True)

    def clean_up(self):
        """The pool back to its size and the tmpfs unmounted, however the soak ends."""
        if self.pool_before is not None:
            self.restore_pool()
        if os.path.ismount(self.full_mount):
            subprocess.run(["umount", self.full_mount])

    def choose(self, index):
        generator = random.Random(f"{self.seed}:{index}")
        kinds = self.kinds
        kind = generator.choices(kinds, weights=[KINDS[k][0] for k in kinds])[0]
        matrix = generator.choice(KINDS[kind][1])
        return generator, kind, matrix

    def injection(self, index):
        generator, kind, matrix = self.choose(index)
        out_dir = os.path.join(self.work, f"run-{index}")
        os.makedirs(out_dir, exist_ok=True)
        out = os.path.join(out_dir, "out.csv")
        arguments = list(MATRICES[matrix]) + ["--warmup", "0", "--trial-timeout", "60"]
        if matrix == "hugetlbfs":
            arguments += ["--hugetlbfs", self.hugetlbfs]
        mounted = False
        if kind in ("full-out", "full-snapshot-out"):
            # --out: a few pages, so the disk fills somewhere in the run; --snapshot-out: less than
            # one snapshot's 16 MiB or more of plugged pages.
            size = generator.choice([8, 12, 16, 20, 24, 32]) if kind == "full-out" else generator.choice([256, 1024, 4096])
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}k", "soak-full", self.full_mount], check=True)
            mounted = True
            if kind == "full-out":
                out = os.path.join(self.full_mount, "out.csv")
            else:
                arguments += ["--snapshot-out", os.path.join(self.full_mount, "snapshot.bin")]
        before = system_state(self.hugetlbfs)
        try:
            delivered = self.run_and_check(generator, kind, arguments, out)
        finally:
            # The run's own files (a tmpfs counts them as Shmem) go before the system is compared.
            if mounted:
                subprocess.run(["umount", self.full_mount], check=True)
            for name in os.listdir(out_dir):
                os.remove(os.path.join(out_dir, name))
            os.rmdir(out_dir)
        problems = leaks_against(before, self.hugetlbfs)
        if problems:
            raise Failure("leak: " + "; ".join(problems), leaks=len(problems))
        return kind, matrix, delivered

    def run_and_check(self, generator, kind, arguments, out):
        command = [self.bench, "run"] + arguments + ["--out", out]
        stderr_path = out + ".stderr" if not out.startswith(self.full_mount) else \
            os.path.join(self.work, "full-run.stderr")
        with open(stderr_path, "w") as stderr:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                       start_new_session=(kind == "sigint-group"))
        delivered = None
        try:
            delivered = self.inject(generator, kind, process, out)
        finally:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise Failure(f"bench did not end within 60 s of the injection: {' '.join(command)}")
            if self.pool_before is not None:
                self.restore_pool()
        running = survivors()
        statuses = {}
        alive = reap_orphans(time.monotonic() + 1.0, statuses)
        # A child still running when its parent was gone, and not killed by the kernel for it, must
        # be one that had not yet asked to be (PR_SET_PDEATHSIG): it sees its parent gone and exits 1
        # at once. One that ran on would end by SIGPIPE or exit 0 after its trial.
        outlived = [pid for pid in running if pid in statuses
                    and not (os.WIFSIGNALED(statuses[pid]) and os.WTERMSIG(statuses[pid]) == signal.SIGKILL)
                    and not (os.WIFEXITED(statuses[pid]) and os.WEXITSTATUS(statuses[pid]) == 1)]
        if outlived:
            raise Failure(f"trial children outlived their parent: {outlived}", leaks=len(outlived))
        if alive:
            raise Failure(f"processes of the run left after 1 s: {alive}", leaks=len(alive))
        with open(stderr_path) as f:
            stderr_text = f.read()
        os.remove(stderr_path)
        self.check_rows(kind, arguments, out, process.returncode, stderr_text, delivered)
        return delivered

    def inject(self, generator, kind, process, out):
        """Waits for the chosen moment and injects; returns what was done (None: nothing, the run ended first)."""
        start = time.monotonic()
        if kind.startswith("kill-child-"):
            wanted = kind[len("kill-child-"):]
            # Let a random number of trials go by first, then kill the next child seen in the phase.
            skip = generator.randrange(0, 3)
            order = []
            while process.poll() is None and time.monotonic() - start < 30:
                for child in children_of(process.pid):
                    if child not in order:
                        order.append(child)
                    if order.index(child) < skip:
                        continue
                    if child_phase(child) == wanted:
                        try:
                            os.kill(child, signal.SIGKILL)
                            return ("SIGKILL", child)
                        except ProcessLookupError:
                            pass
                time.sleep(0.0005)
            return None
        # Everything else happens once the run has begun (its CSV exists), after a random delay.
        while process.poll() is None and not os.path.exists(out) and time.monotonic() - start < 30:
            time.sleep(0.001)
        if kind == "shrink-pool":
            while process.poll() is None and not children_of(process.pid):
                time.sleep(0.001)
            time.sleep(generator.uniform(0, 0.05))
            if process.poll() is not None:
                return None
            self.shrink_pool()
            time.sleep(generator.uniform(0.02, 0.2))
            self.restore_pool()
            return ("shrink", None)
        if kind in ("full-out", "full-snapshot-out"):
            return ("full", None)
        time.sleep(generator.uniform(0, 0.6))
        if process.poll() is not None:
            return None
        number = {"sigint-parent": signal.SIGINT, "sigint-group": signal.SIGINT, "sigterm-parent": signal.SIGTERM,
                  "sighup-parent": signal.SIGHUP, "kill-parent": signal.SIGKILL}[kind]
        if kind == "sigint-group":
            shared = [child for child in children_of(process.pid) if (stat_fields(child) or ["", "", ""])[2] == str(process.pid)]
            if shared:
                raise Failure(f"trial children {shared} are in the parent's process group: a terminal's Ctrl-C reaches them")
        try:
            if kind == "sigint-group":
                os.killpg(process.pid, number)
            else:
                os.kill(process.pid, number)
        except ProcessLookupError:
            return None
        return (signal.Signals(number).name, process.pid)

    def shrink_pool(self):
        with open(POOL) as f:
            self.pool_before = int(f.read())
        info = meminfo()
        in_use = info["HugePages_Total"] - info["HugePages_Free"]
        with open(POOL, "w") as f:
            f.write(str(in_use))

    def restore_pool(self):
        for _ in range(100):
            with open(POOL, "w") as f:
                f.write(str(self.pool_before))
            with open(POOL) as f:
                if int(f.read()) == self.pool_before:
                    break
            time.sleep(0.01)
        self.pool_before = None

    def check_rows(self, kind, arguments, out, code, stderr, delivered):
        signal_name = delivered[0] if delivered else None
        parent_killed = kind == "kill-parent" and delivered is not None
        if not os.path.exists(out):
            if parent_killed or kind == "full-out":
                return
            raise Failure(f"no CSV at {out} (exit {code}): {stderr.strip()[-300:]}", lost_rows=1)
        try:
            _, rows = parse_csv(out)
        except Failure:
            raise
        except Exception as error:
            raise Failure(f"{out} does not parse: {error}", lost_rows=1)
        groups = trials(rows)
        snapshot = "--snapshot" in arguments
        phases = {"populate", "protect"} | ({"snapshot"} if snapshot else set())
        for group in groups:
            if {row["phase"] for row in group} != phases or len(group) != len(phases):
                raise Failure(f"a partial trial: {[(r['phase'], r['status']) for r in group]}", lost_rows=len(group))
            if len({row["status"] for row in group}) != 1:
                raise Failure(f"a trial with mixed statuses: {[r['status'] for r in group]}", lost_rows=len(group))
        reported = sum(1 for line in stderr.splitlines() if line.startswith("[") and "] rep " in line)
        if len(groups) < reported:
            raise Failure(f"{reported} trials reported finished, {len(groups)} in the CSV",
                          lost_rows=(reported - len(groups)) * len(phases))
        # A parent killed, or a samples file that filled, between a trial's rows and its progress line.
        if len(groups) > reported + (1 if parent_killed or kind == "full-out" else 0):
            raise Failure(f"{len(groups)} trials in the CSV, only {reported} reported finished")
        failed = [g for g in groups if g[0]["status"] == "failed"]
        complete = len(groups) == expected_trials(arguments)
        if kind.startswith("kill-child-"):
            named = [g for g in failed if "SIGKILL" in g[0]["reason"]]
            if len(failed) > 1 or len(named) != len(failed):
                raise Failure(f"a killed child should be one failed trial naming SIGKILL: "
                              f"{[g[0]['reason'] for g in failed]}")
            if not complete:
                raise Failure(f"the run lost trials: {len(groups)} of {expected_trials(arguments)}",
                              lost_rows=(expected_trials(arguments) - len(groups)) * len(phases))
            if code != (1 if failed else 0):
                raise Failure(f"exit {code} with {len(failed)} failed trials")
        elif kind in ("sigint-parent", "sigint-group", "sigterm-parent", "sighup-parent"):
            if failed:
                raise Failure(f"the interrupted run recorded a failure: {failed[0][0]['reason']}")
            if signal_name is None or code == 0:
                if code != 0 or not complete:
                    raise Failure(f"exit {code}, {len(groups)} of {expected_trials(arguments)} trials, no signal sent")
            else:
                expected = 128 + signal.Signals[signal_name].value
                if code != expected:
                    raise Failure(f"{signal_name}: exit {code}, expected {expected}: {stderr.strip()[-300:]}")
                if f"interrupted by {signal_name}" not in stderr:
                    raise Failure(f"the closing line does not name {signal_name}: {stderr.strip()[-300:]}")
        elif kind == "kill-parent":
            if failed:
                raise Failure(f"a killed parent's run recorded a failure: {failed[0][0]['reason']}")
            if delivered is None and (code != 0 or not complete):
                raise Failure(f"exit {code}, {len(groups)} of {expected_trials(arguments)} trials")
        elif kind == "shrink-pool":
            odd = [g[0]["reason"] for g in failed if "SIGBUS" not in g[0]["reason"] and "pool" not in g[0]["reason"]]
            if odd:
                raise Failure(f"a shrunk pool failed a trial for another reason: {odd}")
            if not complete or code != (1 if failed else 0):
                raise Failure(f"exit {code}, {len(groups)} of {expected_trials(arguments)} trials")
        elif kind == "full-out":
            if code == 0:
                if not complete:
                    raise Failure(f"exit 0 with {len(groups)} of {expected_trials(arguments)} trials")
            elif code != 1 or "No space left on device (ENOSPC)" not in stderr:
                raise Failure(f"a full --out: exit {code}, {stderr.strip()[-300:]}")
            if failed:
                raise Failure(f"a full --out failed a trial: {failed[0][0]['reason']}")
        elif kind == "full-snapshot-out":
            wrong = [g[0]["reason"] for g in failed if "ENOSPC" not in g[0]["reason"]]
            if wrong or not complete or code != (1 if failed else 0):
                raise Failure(f"a full --snapshot-out: exit {code}, {len(groups)} trials, reasons {wrong[:2]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bench", required=True)
    parser.add_argument("--injections", type=int, default=50)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--first", type=int, default=0, help="index of the first injection (to replay one)")
    parser.add_argument("--hugetlbfs", default=None)
    parser.add_argument("--kinds", default=",".join(KINDS), help="the kinds of fault to draw from")
    arguments = parser.parse_args()
    kinds = arguments.kinds.split(",")
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        sys.exit(f"soak: unknown kind {', '.join(unknown)} (known: {', '.join(KINDS)})")
    seed = arguments.seed if arguments.seed is not None else int.from_bytes(os.urandom(4), "little")
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("soak: prctl(PR_SET_CHILD_SUBREAPER) failed")
    print(f"soak: seed {seed}, {arguments.injections} injections from #{arguments.first}", flush=True)
    started = time.monotonic()
    failures = []
    counts = {}
    # Stopped from outside, it still restores the pool and unmounts its tmpfs (the finally below).
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit("soak: stopped by SIGTERM"))
    signal.signal(signal.SIGHUP, lambda number, frame: sys.exit("soak: stopped by SIGHUP"))
    with tempfile.TemporaryDirectory(prefix="populatebench-soak-") as work:
        soak = Soak(arguments.bench, seed, work, arguments.hugetlbfs, kinds)
        try:
            soak.run_all(arguments, seed, started, failures, counts)
        finally:
            soak.clean_up()
        recovered = arguments.injections - len(failures)
        lost_rows = sum(failure.lost_rows for _, failure in failures)
        leaks = sum(failure.leaks for _, failure in failures)
    seconds = time.monotonic() - started
    landed = ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items()))
    print(f"soak: injected (the rest ended before their moment): {landed}")
    print(f"soak: seed {seed}, {seconds:.0f} s")
    print(f"{arguments.injections} injections, {recovered} recovered, {lost_rows} lost rows, {leaks} leaks")
    sys.exit(0 if not failures else 1)


if __name__ == "__main__":
    main()
