import Foundation
import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

extension KernelTests {
    /// What the guest feels: every write that hit a write-protected page is timed into the
    /// histogram, under either fault service, and the snapshot stays consistent under both.
    @Suite struct WriteStalls {
        @Test(arguments: SnapshotOptions.FaultService.allCases)
        func everyStalledWriteIsInTheHistogram(service: SnapshotOptions.FaultService) throws {
            var trial = config(.memfdShmem, 64 << 20, .qemu80, resident: 0.5)
            trial.snapshot = SnapshotOptions(faultService: service, writers: 2)
            let result = Trial(config: trial, host: HostCapabilities.probe()).run()
            try #require(result.status == .ok, "\(result.reason)")
            let phase = try #require(result.phase(.snapshot))
            let writes = try #require(phase.writes)
            try #require(writes > 0, "the writers wrote nothing, so there is nothing to stall")
            let stalls = try #require(phase.stalls, "a snapshot with writers has a stall distribution")
            #expect(stalls.stalledWrites > 0, "\(writes) writes, none stalled on 16 MiB of protected pages")
            #expect(stalls.stalledWrites + stalls.unstalledWrites == writes)
            #expect(stalls.buckets.reduce(0) { $0 + $1.count } == UInt64(stalls.stalledWrites))
            #expect(stalls.p50Nanoseconds > 0)
            #expect(stalls.p50Nanoseconds <= stalls.p99Nanoseconds && stalls.p99Nanoseconds <= stalls.maxNanoseconds)
            let faults = try #require(phase.wpFaults)
            #expect(faults > 0)
            // Who served them: the copier alone in QEMU's scheme, never in the handler thread's.
            #expect(phase.faultsServedByCopier == (service == .migrationThread ? faults : 0))
            #expect(phase.inconsistentPages == 0)
            #expect(phase.touchedBytes == 16 << 20, "every plugged page copied")
        }

        /// The CLI names the service in the CSV and fills the stall columns and the stalls file.
        @Test(needs(.bench))
        func theStallColumnsAndFileAreWritten() throws {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString).csv")
            defer {
                for suffix in ["", "-summary", "-samples", "-stalls"] {
                    try? FileManager.default.removeItem(atPath: out.path.dropLast(4) + suffix + ".csv")
                }
            }
            let result = try bench(["run", "--backend", "memfd-shmem", "--size", "32MiB", "--strategy", "qemu-8.0",
                                    "--snapshot", "--fault-service", "handler-thread", "--repetitions", "1",
                                    "--warmup", "0", "--quiet", "--out", out.path])
            #expect(result.status == 0, "\(result.stderr)")
            let rows = try CSV.parse(String(contentsOf: out, encoding: .utf8)).rows
            let snapshot = try #require(rows.first { $0["phase"] == "snapshot" })
            #expect(snapshot["fault_service"] == "handler-thread")
            #expect(Int(snapshot["stalled_writes"] ?? "") ?? 0 > 0)
            #expect(Double(snapshot["stall_p99_us"] ?? "") ?? 0 > 0)
            let stallFile = String(out.path.dropLast(4)) + "-stalls.csv"
            let stallRows = try CSV.parse(String(contentsOfFile: stallFile, encoding: .utf8)).rows
            #expect(stallRows.reduce(0) { $0 + (Int($1["count"] ?? "") ?? 0) } == Int(snapshot["stalled_writes"] ?? ""))
        }
    }
}
