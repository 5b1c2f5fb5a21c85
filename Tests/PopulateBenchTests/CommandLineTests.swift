import Foundation
import LinuxMM
import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

/// The `bench` binary that SwiftPM built beside the test bundle.
let benchBinary: URL? = {
    let bundle = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        ?? CommandLine.arguments[0])
    var directory = bundle.deletingLastPathComponent()
    for _ in 0 ..< 4 {
        let candidate = directory.appendingPathComponent("bench")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    return nil
}()

struct MissingBench: Error {}

struct BenchRun {
    var status: Int32
    var stdout: String
    var stderr: String
}

func bench(_ arguments: [String]) throws -> BenchRun {
    let process = Process()
    guard let binary = benchBinary else { throw MissingBench() }
    process.executableURL = binary
    process.arguments = arguments
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    let err = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return BenchRun(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                    stderr: String(decoding: err, as: UTF8.self))
}

extension KernelTests {
    @Suite(needs(.bench))
    struct CommandLineInput {
        static let badInputs: [(arguments: [String], flag: String)] = [
            (["--size", "0"], "--size"),
            (["--monitor", "all"], "--monitor"),
            (["--monitor", "vmstat:no_such_counter"], "--monitor"),
            (["--size", "1000"], "--size"),
            (["--size", "-1GiB"], "'-1GiB' is not a size"),
            (["--size", "3GB"], "write 3GiB"),
            (["--size", "--backend", "anon-private"], "needs a value (found the option '--backend')"),
            (["--size", "1GiB,", "--backend", "anon-private"], "--size"),
            (["--backend", "anon-privat"], "--backend"),
            (["--backend", ""], "--backend"),
            (["--backend", "memfd-shmem,memfd-shmem"], "--backend"),
            (["--strategy", "fastest"], "--strategy"),
            (["--plugged", "1.5"], "--plugged"),
            (["--plugged", "-0.1"], "--plugged"),
            (["--resident", "2"], "--resident"),
            (["--block-size", "3MiB"], "--block-size"),
            (["--block-size", "4KiB"], "--block-size"),
            (["--backend", "memfd-hugetlb", "--block-size", "1MiB"], "--block-size"),
            (["--backend", "hugetlbfs", "--hugetlbfs", "/nonexistent/path"], "--hugetlbfs"),
            (["--repetitions", "-1"], "--repetitions"),
            (["--layout", "zigzag"], "--layout"),
            (["--hugepage-size", "4MiB"], "--hugepage-size"),
            (["--format", "xml"], "--format"),
            (["--no-such-flag"], "--no-such-flag"),
            (["--numa", "bind:7"], "--numa"),
            (["--numa", "nearest"], "--numa"),
            (["--numa", "interleave:0,0"], "--numa"),
            (["--populate-node", "9"], "--populate-node"),
            (["--writers", "2"], "--writers"),
            (["--snapshot", "--tracking", "eager"], "--tracking"),
            (["--snapshot", "--sample-interval", "0ms"], "--sample-interval"),
            (["--trial-timeout", "0"], "--trial-timeout"),
        (["--backend", "memfd-shmem", "--block-size", "512MiB"], "--size"),
        (["--snapshot", "--snapshot-out", "/nonexistent/dir/x"], "--snapshot-out"),
        (["--snapshot", "--writers", "5000000"], "--writers"),
        (["--snapshot", "--sample-interval", "1ns"], "--sample-interval"),
        (["--snapshot", "--cancel-at", "0"], "--cancel-at"),
        (["--snapshot", "--cancel-at", "1"], "--cancel-at"),
        (["--snapshot", "--cancel-at", "1.5"], "--cancel-at"),
        (["--snapshot", "--cancel-at", "half"], "--cancel-at"),
        (["--cancel-at", "0.5"], "add --snapshot"),
        (["--snapshot", "--tracking", "async", "--cancel-at", "0.5"], "--cancel-at"),
        (["--snapshot", "--cancel-at", "0.5", "--plugged", "0"], "nothing is plugged"),
        (["--snapshot", "--cancel-at", "nan"], "--cancel-at"),
        // 256 plugged pages: 0.9999 of them, rounded up, is all of them.
        (["--snapshot", "--backend", "anon-private", "--strategy", "qemu-8.0", "--size", "2MiB", "--block-size", "1MiB",
          "--plugged", "0.5", "--cancel-at", "0.9999"], "completes before the cancel"),
        ]

        @Test(arguments: badInputs)
        func badInputIsOneLineAndExitTwo(arguments: [String], flag: String) throws {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString).csv")
            var defaults = ["--out", out.path, "--warmup", "0"]
            if !arguments.contains("--repetitions") { defaults += ["--repetitions", "1"] }
            let result = try bench(["run"] + arguments + defaults)
            #expect(result.status == 2, "\(arguments): exit \(result.status), stderr \(result.stderr)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1, "one line, got: \(result.stderr)")
            #expect(!result.stderr.contains("{"), "every input named by its flag: \(result.stderr)")
            #expect(result.stderr.contains(flag), "names \(flag): \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out.path), "nothing written")
            #expect(result.stdout.isEmpty)
        }

        @Test func tooLargeARegionIsSkippedNotRun() throws {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString).csv")
            defer { try? FileManager.default.removeItem(at: out) }
            let result = try bench(["run", "--backend", "memfd-shmem", "--strategy", "full-touch", "--size", "16TiB",
                                    "--repetitions", "1", "--warmup", "0", "--quiet", "--out", out.path])
            #expect(result.status == 0, "\(result.stderr)")
            let csv = try String(contentsOf: out, encoding: .utf8)
            #expect(csv.contains(",skipped,"))
            #expect(csv.contains("memory guard"))
        }

        /// `--force` reaches the child: the kernel, not the pool check, refuses the hugetlb mapping.
    @Test func forceLeavesTheHugetlbPoolToTheKernel() throws {
        let pages = (SysfsMM.hugePagePool(pageSize: 2 << 20)?.available ?? 0) + 1
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try bench(["run", "--backend", "memfd-hugetlb", "--strategy", "full-touch",
                                "--size", "\(pages * 2)MiB", "--force", "--repetitions", "1", "--warmup", "0",
                                "--quiet", "--out", out.path])
        #expect(result.status == 0, "\(result.stderr)")
        let csv = try String(contentsOf: out, encoding: .utf8)
        #expect(csv.contains(",skipped,"))
        #expect(csv.contains("ENOMEM") && !csv.contains("needs \(pages) free"), "\(csv)")
    }

    @Test func doctorNamesFeaturesAndBackends() throws {
            let result = try bench(["doctor"])
            #expect(result.status == 0)
            // Both branches print "userfaultfd": the features line must be there, with what this
            // kernel's version promises, and the pool as sysfs has it.
            let features = result.stdout.split(separator: "\n").first { $0.hasPrefix("userfaultfd ") } ?? ""
            #expect(!features.contains("unavailable"), "\(features)")
            let kernel = ProcessInfo.processInfo.operatingSystemVersion
            for (feature, major, minor) in [("WP_HUGETLBFS_SHMEM", 5, 19), ("WP_UNPOPULATED", 6, 4), ("WP_ASYNC", 6, 7)]
            where (kernel.majorVersion, kernel.minorVersion) >= (major, minor) {
                #expect(features.split(separator: " ").contains(Substring(feature)), "Linux \(major).\(minor) has \(feature)")
            }
            if let pages = try? String(contentsOfFile: "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", encoding: .utf8) {
                #expect(result.stdout.contains("2MiB pool: \(pages.trimmingCharacters(in: .whitespacesAndNewlines)) pages"))
            }
            for backend in ["anon-private", "anon-shared", "memfd-shmem", "memfd-hugetlb", "hugetlbfs"] {
                #expect(result.stdout.contains(backend))
            }
            let json = try bench(["doctor", "--json"])
            let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            #expect(object?["backends"] != nil)
        }
    }
}

/// Trials run in child processes; these read only the CSV, so they need no serialization.
extension KernelTests {
    @Suite(needs(.bench))
    struct ChildProcessRuns {
        @Test func aKilledTrialIsOneFailedRowAndTheRunGoesOn() throws {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString).csv")
            defer {
                try? FileManager.default.removeItem(at: out)
                try? FileManager.default.removeItem(atPath: out.path.replacingOccurrences(of: ".csv", with: "-summary.csv"))
            }
            let process = Process()
            guard let binary = benchBinary else { throw MissingBench() }
        process.executableURL = binary
            process.arguments = ["run", "--backend", "anon-private", "--strategy", "full-touch,discard-touch",
                                 "--size", "8GiB", "--resident", "0", "--repetitions", "2", "--warmup", "0",
                                 "--quiet", "--format", "csv", "--out", out.path]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Kill the first child that appears: a trial of 8 GiB runs for well over a second.
            var killed = false
            for _ in 0 ..< 200 where !killed {
                Thread.sleep(forTimeInterval: 0.05)
                for child in childPIDs(of: process.processIdentifier) {
                    kill(child, SIGKILL)
                    killed = true
                }
            }
            process.waitUntilExit()
            try #require(killed, "no child process appeared")
            #expect(process.terminationStatus == 1)
            let rows = try String(contentsOf: out, encoding: .utf8).split(separator: "\n").dropFirst()
            let failed = rows.filter { $0.contains(",failed,") }
            #expect(failed.count == 2, "the killed trial's populate and protect rows")
            #expect(failed.allSatisfy { $0.contains("SIGKILL") })
            #expect(rows.filter { $0.contains(",ok,") }.count == 6)
        }

        @Test func aSnapshotWhoseSinkFailsFailsAtOnceWithTheCause() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try bench(["run", "--backend", "memfd-shmem", "--size", "64MiB", "--strategy", "qemu-7.2",
                                "--snapshot", "--writers", "2", "--snapshot-out", "/dev/full", "--trial-timeout", "60",
                                "--repetitions", "1", "--warmup", "0", "--quiet", "--out", out.path])
        #expect(result.status == 1)
        let csv = try String(contentsOf: out, encoding: .utf8)
        #expect(csv.contains("pwrite"), "\(csv)")
        #expect(!csv.contains("timed out"), "no writer is left hanging")
    }

    /// The timeout is a tenth of what the same trial's populate phase took here a moment before, so
    /// the trial is past it however fast the machine is (THP off: the huge zeropage would make the
    /// populate too short to split).
    @Test func aTrialPastItsTimeoutFailsAndSaysSo() throws {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString).csv")
            defer {
                try? FileManager.default.removeItem(at: out)
                try? FileManager.default.removeItem(atPath: OutputFiles.summaryPath(for: out.path))
            }
            let trial = ["run", "--backend", "anon-private", "--strategy", "full-touch", "--size", "4GiB", "--thp", "nohuge",
                         "--resident", "0", "--repetitions", "1", "--warmup", "0", "--quiet", "--out", out.path]
            let untimed = try bench(trial)
            try #require(untimed.status == 0, "\(untimed.stderr)")
            let populate = try #require(CSV.parse(String(contentsOf: out, encoding: .utf8)).rows.first { $0["phase"] == "populate" })
            let seconds = try #require(Double(populate["seconds"] ?? ""))
            let timeout = String(format: "%.3f", max(seconds / 10, 0.001))
            let result = try bench(trial + ["--trial-timeout", timeout])
            #expect(result.status == 1, "populate took \(seconds) s untimed; --trial-timeout \(timeout)")
            let csv = try String(contentsOf: out, encoding: .utf8)
            #expect(csv.contains(",failed,") && csv.contains("--trial-timeout"), "\(csv)")
        }
    }
}

/// Waits for `process` to end; a hang (not a slow machine) is what the bound catches: past it the
/// process is killed and the caller fails.
func waitForExit(_ process: Process, orKillAfter seconds: Double) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
    guard process.isRunning else { return true }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    return false
}

func childPIDs(of parent: pid_t) -> [pid_t] {
    let path = "/proc/\(parent)/task/\(parent)/children"
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
    return text.split(separator: " ").compactMap { pid_t($0) }
}

extension KernelTests {
    /// Its trials are 1 GiB of shmem each: it runs with the other kernel tests, one at a time.
    @Suite(needs(.bench))
    struct Interruption {
        @Test func sigintStopsTheRunKeepsFinishedRowsAndLeavesNothingBehind() throws {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString).csv")
            defer { try? FileManager.default.removeItem(at: out) }
            let process = Process()
            guard let binary = benchBinary else { throw MissingBench() }
            process.executableURL = binary
            process.arguments = ["run", "--backend", "memfd-shmem", "--strategy", "full-touch", "--size", "1GiB",
                                 "--repetitions", "20", "--warmup", "0", "--quiet", "--out", out.path]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            var children = Set<pid_t>()
            var finishedRows = 0
            for _ in 0 ..< 600 where finishedRows < 2 {
                Thread.sleep(forTimeInterval: 0.05)
                children.formUnion(childPIDs(of: process.processIdentifier))
                finishedRows = ((try? String(contentsOf: out, encoding: .utf8)) ?? "").split(separator: "\n").count - 1
            }
            try #require(finishedRows >= 2, "no trial finished")
            Thread.sleep(forTimeInterval: 0.2)
            children.formUnion(childPIDs(of: process.processIdentifier))
            kill(process.processIdentifier, SIGINT)
            try #require(waitForExit(process, orKillAfter: 120), "bench did not stop after SIGINT (killed after 120 s)")
            #expect(process.terminationStatus == 130)
            let table = try CSV.parse(try String(contentsOf: out, encoding: .utf8))
            #expect(Array(table.header.prefix(contractColumns.count)) == contractColumns, "the contract's columns, in order, first")
            #expect(!table.rows.isEmpty && table.rows.allSatisfy { $0["status"] == "ok" && $0["pte_bytes"] != "" })
            #expect(table.rows.count % 2 == 0, "whole trials only: a populate and a protect row each")
            for child in children { #expect(kill(child, 0) != 0, "child \(child) is gone") }
            // Their memfds went with them. System Shmem is not compared: anything else on the host moves it.
        }
    }
}
