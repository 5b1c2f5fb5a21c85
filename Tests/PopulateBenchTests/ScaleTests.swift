import Foundation
import LinuxMM
import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

@Suite struct ScaleAccounting {
    /// 1 TiB of private anonymous memory read: no data, and 524288 PTE tables, 1024 PMD tables
    /// and 2 PUD tables (2 GiB + 4 MiB + 8 KiB), the same as the model's read of it.
    @Test func guardCountsEveryTableOfATerabyte() {
        let terabyte = 1 << 40
        var trial = config(.anonPrivate, terabyte, .fullMadvise)
        trial.resident = .share(0)
        #expect(MemoryGuard.predictedBytes(trial) == (2 << 30) + (4 << 20) + (8 << 10))
        var model = CostModel(backing: .init(backend: .anonPrivate, pageSize: 4096), regionSize: terabyte)
        #expect(MemoryGuard.predictedBytes(trial) == model.read(0 ..< terabyte).pageTableBytes)
        #expect(MemoryGuard.check(trial, memAvailable: 8 << 30) == nil)
        #expect(MemoryGuard.check(trial, memAvailable: 2 << 30) != nil, "the tables alone do not fit in 2 GiB")
    }

    @Test func guardSkipsShmemTheHostCannotHold() throws {
        let shmem = config(.memfdShmem, 64 << 30, .fullMadvise)
        let reason = try #require(MemoryGuard.check(shmem, memAvailable: 22 << 30))
        #expect(reason.contains("memory guard"), "\(reason)")
        #expect(MemoryGuard.check(config(.memfdShmem, 16 << 30, .fullMadvise), memAvailable: 22 << 30) == nil)
    }

    @Test func hugetlbNeedsNoLastLevelTables() {
        #expect(MemoryGuard.pageTableBytes(regionBytes: 1 << 30, pageBytes: 2 << 20) == 2 * 4096)
        #expect(MemoryGuard.pageTableBytes(regionBytes: 4 << 30, pageBytes: 1 << 30) == 4096)
    }

    @Test func scaleMatrixGoesFromOneGiBToOneTiB() {
        var plan = RunPlan()
        RunPlan.Matrix.scale.apply(to: &plan)
        let configs = plan.configs(host: host)
        #expect(Set(configs.map(\.backend)) == [.anonPrivate, .memfdShmem])
        #expect(Set(configs.map(\.regionBytes)) == Set([1, 4, 16, 64, 256, 1024].map { $0 << 30 }))
        #expect(configs.allSatisfy { $0.residentFraction == 0 && $0.thp == .nohuge })
        #expect(configs.count == 2 * 6 * 2)
    }

    @Test func overheadIsWallTimeLessThePhases() {
        var populate = PhaseResult(phase: .populate)
        populate.seconds = 0.5
        var protect = PhaseResult(phase: .protect)
        protect.seconds = 0.25
        var result = TrialResult(config: config(.anonPrivate, 1 << 30, .fullMadvise), status: .ok, phases: [populate, protect])
        #expect(result.overheadSeconds == nil, "no wall time, no overhead")
        result.wallSeconds = 2
        #expect(result.overheadSeconds == 1.25)
        let row = ResultTable.rows(result, repetition: 1, run: .init(runID: "r", host: "h", kernel: "k"))
        #expect(row.map { $0["overhead_seconds"] } == ["1.250000", "1.250000"])
    }
}

extension KernelTests {
    @Suite(needs(.bench))
    struct ScaleMatrixRun {
        /// The named matrix from the command line, narrowed by flags beside it: every row says
        /// what the trial cost beyond its phases, and accounts for every page.
        @Test func namedMatrixWithOverheadAndPlacement() throws {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("scale-\(UUID().uuidString).csv")
            defer {
                try? FileManager.default.removeItem(at: out)
                try? FileManager.default.removeItem(atPath: OutputFiles.summaryPath(for: out.path))
            }
            let result = try bench(["run", "--matrix", "scale", "--size", "1GiB", "--backend", "anon-private",
                                    "--strategy", "full-madvise", "--repetitions", "1", "--warmup", "0", "--quiet",
                                    "--out", out.path])
            #expect(result.status == 0, "\(result.stderr)")
            let rows = try CSV.parse(String(contentsOf: out, encoding: .utf8)).rows
            try #require(rows.count == 2 && rows.allSatisfy { $0["status"] == "ok" }, "\(rows)")
            #expect(rows.allSatisfy { $0["thp"] == "nohuge" && $0["resident_fraction"] == "0.0" })
            let overhead = try #require(Double(rows[0]["overhead_seconds"] ?? ""))
            #expect(overhead > 0, "overhead \(overhead) s")
            #expect(rows[1]["overhead_seconds"] == rows[0]["overhead_seconds"])
            // The child's own clocks for its set-up and teardown lie inside the parent's overhead:
            // the child starts after the parent's clock and sends its result after both.
            let setup = try #require(Double(rows[0]["setup_seconds"] ?? "")), teardown = try #require(Double(rows[0]["teardown_seconds"] ?? ""))
            #expect(setup > 0 && teardown > 0 && setup + teardown < overhead, "set-up \(setup), teardown \(teardown), overhead \(overhead)")
            // Unmapping 1 GiB of zeropage entries and their 512 tables is kernel work, not free.
            #expect(teardown > 0.0005, "teardown \(teardown)")
            // Read to the zeropage: every page of 1 GiB is `zero` after population and protection.
            #expect(rows.allSatisfy { $0["numa_pages"]?.hasSuffix("zero:262144;none:0") == true },
                    "\(rows.map { $0["numa_pages"] ?? "" })")
        }
    }
}
