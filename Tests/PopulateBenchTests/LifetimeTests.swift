import Foundation
import LinuxMM
import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

/// `bench run` as a user's terminal or a CI job's kill sees it: the binary, started the way a shell
/// starts it, ended by signals from outside.
struct RunningBench {
    let child: ChildProcess
    let out: URL

    /// Starts `bench run` with `arguments` and `--out` in a fresh temporary file. `ownProcessGroup`:
    /// the way a shell starts a foreground job, so that `kill(-pid)` is a terminal's Ctrl-C.
    init(_ arguments: [String], ownProcessGroup: Bool = false) throws {
        guard let binary = benchBinary else { throw MissingBench() }
        out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString).csv")
        child = try ChildProcess(path: binary.path, arguments: ["run"] + arguments + ["--out", out.path],
                                 options: .init(ownProcessGroup: ownProcessGroup))
        child.send([])
    }

    var rowCount: Int { ((try? String(contentsOf: out, encoding: .utf8)) ?? "").split(separator: "\n").count - 1 }

    /// Waits until `rows` rows are written and a trial's child runs, so a signal lands mid-trial.
    func waitForRowsAndARunningTrial(_ rows: Int, seconds: Double = 60) -> [pid_t] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let children = childPIDs(of: child.pid)
            if rowCount >= rows && !children.isEmpty { return children }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return []
    }

    func table() throws -> CSV.Table { try CSV.parse(try String(contentsOf: out, encoding: .utf8)) }

    func removeFiles() {
        for path in [out.path, OutputFiles.summaryPath(for: out.path), OutputFiles.samplesPath(for: out.path)] {
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}

/// Whether `pid` is gone or a zombie (dead, its memory freed, waiting for whoever reaps orphans).
func isDead(_ pid: pid_t) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return true }
    return stat[stat.index(close, offsetBy: 2)] == "Z"
}

/// The process group `pid` is in (`/proc/PID/stat`'s fifth field), or nil when it is gone.
func processGroup(of pid: pid_t) -> pid_t? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > 2 ? pid_t(fields[2]) : nil
}

/// A trial of 8 GiB of anonymous memory read page by page: a few seconds, nothing system-wide.
let longTrial = ["--backend", "anon-private", "--strategy", "full-touch", "--size", "8GiB", "--resident", "0",
                 "--warmup", "0", "--quiet"]
/// Trials of a fraction of a second each.
let shortTrials = ["--backend", "anon-private", "--strategy", "full-touch,discard-touch", "--size", "512MiB",
                   "--resident", "0", "--warmup", "0", "--quiet"]

extension KernelTests {
    @Suite(needs(.bench))
    struct ProcessLifetime {
        /// A parent killed with SIGKILL runs no code of its own: the kernel must end its child.
        @Test func aSIGKILLedParentLeavesNoChildWithinOneSecond() throws {
            let run = try RunningBench(longTrial + ["--repetitions", "3"])
            defer { run.removeFiles() }
            let children = run.waitForRowsAndARunningTrial(0)
            try #require(!children.isEmpty, "no trial child appeared")
            kill(run.child.pid, SIGKILL)
            _ = run.child.wait(timeout: 10)
            // PR_SET_PDEATHSIG kills them at once; the bound only keeps a failure from hanging the run.
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline && !children.allSatisfy(isDead) { Thread.sleep(forTimeInterval: 0.01) }
            for child in children { #expect(isDead(child), "trial child \(child) outlived its parent by 30 s") }
        }

        /// Ctrl-C sends SIGINT to the terminal's whole foreground group. Only the parent may act on it:
        /// a child dying of it first would be a `failed` row, a fault the harness caused.
        @Test func aTerminalsSIGINTToTheGroupRecordsNoFailure() throws {
            let run = try RunningBench(shortTrials + ["--repetitions", "30"], ownProcessGroup: true)
            defer { run.removeFiles() }
            let children = run.waitForRowsAndARunningTrial(2)
            try #require(!children.isEmpty, "no trial finished, or none was running")
            // Whether the child would also have died of the SIGINT depends on who the kernel and the
            // scheduler serve first; the process group it is in does not.
            // A child that ended meanwhile has no group to read; at least one must still be running.
            let groups = children.compactMap(processGroup(of:))
            try #require(!groups.isEmpty, "every trial child ended before its process group could be read")
            #expect(groups.allSatisfy { $0 != run.child.pid }, "a trial child is in bench's own group: \(groups)")
            kill(-run.child.pid, SIGINT)
            let outcome = run.child.wait(timeout: 10)
            #expect(outcome.termination == .exited(130), "\(String(decoding: outcome.stderr, as: UTF8.self))")
            let table = try run.table()
            #expect(!table.rows.isEmpty)
            #expect(table.rows.allSatisfy { $0["status"] == "ok" }, "\(table.rows.map { $0["reason"] ?? "" })")
            #expect(table.rows.count % 2 == 0, "whole trials only")
            for child in children { #expect(isDead(child)) }
        }

        /// SIGTERM (a CI job's kill) and SIGHUP (a closed terminal) end a run like Ctrl-C, with the
        /// shell's 128 + signal.
        @Test(arguments: [(SIGTERM, Int32(143), "SIGTERM"), (SIGHUP, 129, "SIGHUP"), (SIGINT, 130, "SIGINT")])
        func aTerminatingSignalKeepsWholeTrials(signal: Int32, code: Int32, name: String) throws {
            let run = try RunningBench(shortTrials + ["--repetitions", "30"])
            defer { run.removeFiles() }
            let children = run.waitForRowsAndARunningTrial(2)
            try #require(!children.isEmpty, "no trial finished, or none was running")
            kill(run.child.pid, signal)
            let outcome = run.child.wait(timeout: 10)
            #expect(outcome.termination == .exited(code))
            let stderr = String(decoding: outcome.stderr, as: UTF8.self)
            #expect(stderr.contains("interrupted by \(name)"), "\(stderr)")
            let table = try run.table()
            #expect(!table.rows.isEmpty && table.rows.allSatisfy { $0["status"] == "ok" && $0["pte_bytes"] != "" })
            #expect(table.rows.count % 2 == 0, "whole trials only")
            #expect(FileManager.default.fileExists(atPath: OutputFiles.summaryPath(for: run.out.path)))
            for child in children { #expect(isDead(child)) }
        }

        /// A disk that fills during the run is no bad input (2): exit 1, one line naming the file
        /// and ENOSPC, and every row written before it whole.
        @Test(needs(.root))
        func aFullDiskMidRunIsExitOneWithTheRowsSoFarIntact() throws {
            guard let binary = benchBinary else { throw MissingBench() }
            let mount = FileManager.default.temporaryDirectory.appendingPathComponent("bench-full-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: mount, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: mount) }
            // 16 KiB: room for the header and some thirty rows, then ENOSPC.
            try #require(Glibc.mount("tmpfs", mount.path, "tmpfs", 0, "size=16k") == 0, "mount: errno \(errno)")
            defer { umount2(mount.path, Int32(MNT_DETACH)) }
            let out = mount.appendingPathComponent("out.csv").path
            let child = try ChildProcess(path: binary.path, arguments: [
                "run", "--backend", "anon-private", "--strategy", "none,full-touch,discard-touch,qemu-8.0",
                "--size", "16MiB", "--repetitions", "20", "--warmup", "0", "--quiet", "--out", out,
            ])
            child.send([])
            let outcome = child.wait(timeout: 120)
            let stderr = String(decoding: outcome.stderr, as: UTF8.self)
            #expect(outcome.termination == .exited(1), "\(stderr)")
            #expect(stderr.split(separator: "\n").count == 1, "one line: \(stderr)")
            #expect(stderr.contains("writing \(out): No space left on device (ENOSPC)"), "\(stderr)")
            let table = try CSV.parse(try String(contentsOfFile: out, encoding: .utf8))
            #expect(table.rows.count >= 2 && table.rows.count < 160, "the disk filled mid-run: \(table.rows.count) rows")
            #expect(table.rows.allSatisfy { $0["status"] == "ok" && $0["pte_bytes"] != "" })
            #expect(table.rows.count % 2 == 0, "whole trials only")
        }
    }
}
