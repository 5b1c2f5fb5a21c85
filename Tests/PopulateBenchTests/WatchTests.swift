import Foundation
import LinuxMM
import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

/// A child whose allocation is known: after "go" it reads 1 GiB of private anonymous memory (the
/// zeropage: page tables only, 512 PTE tables) and writes 64 MiB of a memfd (64 MiB of shmem and
/// 32 PTE tables), says "allocated", and after another line leaves with `_exit`, holding both, so
/// the watcher's last sample still has them.
let knownAllocation = """
    import mmap, os, sys
    print("ready", flush=True); sys.stdin.readline()
    anon = mmap.mmap(-1, 1 << 30, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x4000)
    total = 0
    for i in range(0, 1 << 30, 4096): total += anon[i]
    fd = os.memfd_create("watch-test")
    os.ftruncate(fd, 64 << 20)
    shm = mmap.mmap(fd, 64 << 20)
    for i in range(0, 64 << 20, 4096): shm[i] = 1
    print("allocated", flush=True); sys.stdin.readline()
    os._exit(0)
    """

let python3 = "/usr/bin/python3"

/// Reads `handle` until a line containing `text` arrives (or end of file).
func readUntil(_ handle: FileHandle, contains text: String) -> String {
    var seen = ""
    while !seen.contains(text) {
        let data = handle.availableData
        if data.isEmpty { break }
        seen += String(decoding: data, as: UTF8.self)
    }
    return seen
}

extension KernelTests {
    @Suite(needs(.bench))
    struct Watch {
        @Test(needs(.python3))
        func deltasMatchWhatTheChildAllocatedAndThePeakIsTheSamplesMaximum() throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("watch-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            let out = directory.appendingPathComponent("samples.csv")

            let child = Process()
            child.executableURL = URL(fileURLWithPath: python3)
            child.arguments = ["-c", knownAllocation]
            let childIn = Pipe(), childOut = Pipe()
            child.standardInput = childIn
            child.standardOutput = childOut
            try child.run()
            defer { if child.isRunning { child.terminate() } }
            #expect(readUntil(childOut.fileHandleForReading, contains: "ready").contains("ready"))

            let watch = Process()
            guard let binary = benchBinary else { throw MissingBench() }
            watch.executableURL = binary
            watch.arguments = ["watch", "--pid", "\(child.processIdentifier)", "--interval", "5ms", "--out", out.path]
            let watchOut = Pipe(), watchErr = Pipe()
            watch.standardOutput = watchOut
            watch.standardError = watchErr
            try watch.run()
            #expect(readUntil(watchErr.fileHandleForReading, contains: "sampling").contains("sampling"))
            Thread.sleep(forTimeInterval: 0.2)
            childIn.fileHandleForWriting.write(Data("go\n".utf8))
            #expect(readUntil(childOut.fileHandleForReading, contains: "allocated").contains("allocated"))
            Thread.sleep(forTimeInterval: 0.2)
            childIn.fileHandleForWriting.write(Data("exit\n".utf8))
            child.waitUntilExit()
            let stdout = String(decoding: watchOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            watch.waitUntilExit()

            #expect(watch.terminationStatus == 0)
            #expect(stdout.contains("ended by the process exited"), "\(stdout)")
            let samples = try CSV.parse(String(contentsOf: out, encoding: .utf8))
            #expect(samples.header == WatchTable.columns)
            let summaryText = try String(contentsOfFile: OutputFiles.summaryPath(for: out.path), encoding: .utf8)
            let summary = Dictionary(uniqueKeysWithValues: try CSV.parse(summaryText).rows.map { ($0["counter"]!, $0) })
            func delta(_ counter: String) -> Int { Int(summary[counter]?["delta_bytes"] ?? "") ?? -1 }

            // 1 GiB read and 64 MiB written: a 4 KiB table per 2 MiB of each.
            let pageTables = (1 << 30 + 64 << 20) / (2 << 20) * 4096
            #expect(within(delta("VmPTE"), pageTables, 0.01), "VmPTE grew \(delta("VmPTE")), expected \(pageTables)")
            #expect(within(delta("RssShmem"), 64 << 20, 0.01), "RssShmem grew \(delta("RssShmem"))")
            // Not system Shmem: anything else on the host (a tmpfs /tmp, a build) moves it too.

            // The monitor's counters, read at the watch's start and end: the child's faults count
            // in pgfault, which only counts up (at least one per 2 MiB it touched, whatever THP does).
            let faults = try #require(summary["vmstat pgfault"], "\(summary.keys.sorted())")
            #expect(faults["unit"] == "count" && faults["peak_bytes"] == "")
            #expect(Int(faults["delta_bytes"] ?? "") ?? 0 >= (1 << 30 + 64 << 20) / (2 << 20), "\(faults)")
            #expect(summary["VmPTE"]?["unit"] == "bytes")

            for (counter, column) in [("VmPTE", "pte_bytes"), ("RssShmem", "rss_shmem_bytes"), ("VmRSS", "rss_bytes"),
                                      ("sys Shmem", "sys_shmem_bytes")] {
                let maximum = samples.rows.compactMap { Int($0[column] ?? "") }.max()
                #expect(Int(summary[counter]?["peak_bytes"] ?? "") == maximum, "\(counter): peak against the samples")
            }
        }

        @Test func sigintEndsTheWatchWithItsSamplesWritten() throws {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("watch-\(UUID().uuidString).csv")
            defer {
                try? FileManager.default.removeItem(at: out)
                try? FileManager.default.removeItem(atPath: OutputFiles.summaryPath(for: out.path))
            }
            let watch = Process()
            guard let binary = benchBinary else { throw MissingBench() }
            watch.executableURL = binary
            watch.arguments = ["watch", "--pid", "\(getpid())", "--interval", "10ms", "--monitor", "none", "--out", out.path]
            let watchErr = Pipe()
            watch.standardOutput = FileHandle.nullDevice
            watch.standardError = watchErr
            try watch.run()
            _ = readUntil(watchErr.fileHandleForReading, contains: "sampling")
            Thread.sleep(forTimeInterval: 0.3)
            kill(watch.processIdentifier, SIGINT)
            watch.waitUntilExit()
            #expect(watch.terminationStatus == 130)
            let rows = try CSV.parse(String(contentsOf: out, encoding: .utf8)).rows
            #expect(rows.count >= 5 && rows.allSatisfy { $0["pid"] == "\(getpid())" && $0["phase"] == "watch" })
            // The summary is written on SIGINT too; `--monitor none` leaves the vmstat counters out.
            let summary = try CSV.parse(String(contentsOfFile: OutputFiles.summaryPath(for: out.path), encoding: .utf8)).rows
            #expect(summary.contains { $0["counter"] == "VmRSS" } && !summary.contains { $0["counter"]?.hasPrefix("vmstat") == true })
        }

        @Test(arguments: [
            (["--pid", "2147483647"], "no process 2147483647"),
            (["--pid", "0"], "--pid"),
            (["--pid", "\(getpid())", "--interval", "1us"], "--interval"),
            (["--pid", "\(getpid())", "--duration", "soon"], "--duration"),
            (["--pid", "\(getpid())", "--out", "/proc/nowhere/x.csv"], "--out"),
            (["--pid", "\(getpid())", "--monitor", "vmstat:no_such_counter"], "--monitor"),
        ])
        func badInputIsOneLineAndExitTwo(arguments: [String], says: String) throws {
            let result = try bench(["watch"] + arguments)
            #expect(result.status == 2)
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1 && result.stderr.contains(says), "\(result.stderr)")
        }

        /// A process that has exited but is not yet reaped has no memory lines in its status; made
        /// here, since which PIDs are kernel threads depends on the host (and its PID namespace).
        @Test func aZombieHasNoMemoryToWatch() throws {
            var pid: pid_t = 0
            let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
            defer { argv.forEach { free($0) } }
            try #require(posix_spawn(&pid, "/bin/true", nil, nil, argv, environ) == 0)
            defer { var status: Int32 = 0; waitpid(pid, &status, 0) }
            var state = ""
            for _ in 0 ..< 10_000 where state != "Z" {
                let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
                state = stat.split(separator: ")").last.map { String($0.dropFirst().prefix(1)) } ?? ""
                if state != "Z" { usleep(1000) }
            }
            try #require(state == "Z", "the child did not become a zombie")
            let result = try bench(["watch", "--pid", "\(pid)"])
            #expect(result.status == 2)
            #expect(result.stderr.split(separator: "\n").count == 1 && result.stderr.contains("no memory to watch"),
                    "\(result.stderr)")
        }
    }
}
