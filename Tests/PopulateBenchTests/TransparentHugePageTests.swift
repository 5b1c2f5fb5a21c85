import Foundation
import LinuxMM
import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

/// THP settings changed for one body and put back whatever happens: the only way a test may
/// touch them. Its users run inside the serialized kernel suite.
enum THPSettingsFixture {
    static let directory = "/sys/kernel/mm/transparent_hugepage"

    /// Root can write the knobs (and a kernel without THP has none).
    static var isWritable: Bool {
        getuid() == 0 && FileManager.default.isWritableFile(atPath: "\(directory)/enabled")
    }

    /// The per-size controls of the PMD size exist (Linux 6.8+).
    static var hasPerSizeControls: Bool {
        FileManager.default.fileExists(atPath: "\(directory)/hugepages-2048kB/enabled")
    }

    static func read(_ knob: String) throws -> String { try SettingsFile.read("\(directory)/\(knob)") }

    /// Each knob's value is in the settings journal before it changes and struck out once it is
    /// back, so a run killed inside `body` is undone by the next one.
    static func with<T>(_ settings: KeyValuePairs<String, String>, _ body: () throws -> T) throws -> T {
        let journal = SettingsJournal.shared
        var saved: [(String, String)] = []
        defer {
            for (path, value) in saved.reversed() {
                do {
                    try SettingsFile.write(path, value)
                    try journal.forget(path)
                } catch {
                    Issue.record("could not put \(path) back to \(value): \(error) (scripts/setup.sh --restore retries)")
                }
            }
        }
        for (knob, value) in settings {
            let path = "\(directory)/\(knob)"
            let original = try SettingsFile.read(path)
            try journal.record(path, original: original)
            saved.append((path, original))
            try SettingsFile.write(path, value)
        }
        return try body()
    }
}

extension KernelTests {
    /// The model's THP branches against the kernel: anonymous THP (with and without the huge
    /// zeropage), shmem THP, the PMD size's own control, and uffd-wp on each. Trials run in
    /// `bench`'s child processes; every ok row must be within 1% of the model, and THP must have
    /// been used, or the run proves nothing.
    @Suite(needs(.thpControl), needs(.bench))
    struct TransparentHugePages {
        /// Runs a small matrix and returns its rows after checking each against the model.
        func runAndCheck(backend: Backend, thp: String, _ comment: Comment) throws -> [[String: String]] {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("thp-\(UUID().uuidString).csv")
            defer {
                try? FileManager.default.removeItem(at: out)
                try? FileManager.default.removeItem(atPath: OutputFiles.summaryPath(for: out.path))
            }
            var strategies = "full-touch,discard-touch,qemu-8.0"
            if host.userfaultfdFeatures?.contains(.wpUnpopulated) == true { strategies += ",wp-unpopulated" }
            let result = try bench(["run", "--backend", backend.rawValue, "--size", "64MiB", "--strategy", strategies,
                                    "--thp", thp, "--plugged", "0.25,1", "--resident", "0,0.5",
                                    "--repetitions", "1", "--warmup", "0", "--quiet", "--out", out.path,
                                    "--monitor", "vmstat:thp_fault_fallback,thp_file_fallback"])
            #expect(result.status == 0, "\(comment): \(result.stderr)")
            let rows = try CSV.parse(String(contentsOf: out, encoding: .utf8)).rows
            try #require(!rows.isEmpty && rows.allSatisfy { $0["status"] == "ok" }, "\(comment)")
            for row in rows {
                let label = "\(comment): \(row["strategy"] ?? "") thp=\(row["thp"] ?? "") plugged=\(row["plugged_fraction"] ?? "") "
                    + "resident=\(row["resident_fraction"] ?? "") \(row["phase"] ?? "")"
                let pte = Int(row["pte_bytes"] ?? "") ?? -1, expectedPTE = Int(row["expected_pte_bytes"] ?? "") ?? -2
                let data = Int(row[backend.dataColumn] ?? "") ?? -1
                let expectedData = Int(row["expected_data_bytes"] ?? "") ?? -2
                // The model assumes every huge allocation succeeds. One that fails falls back to
                // small pages and costs a PTE table. The kernel counts fallbacks host-wide, so a table
                // is allowed only for a 2 MiB of what the phase allocated that THP did not map huge
                // (its own shortfall), and no more tables than the host counted fallbacks.
                let fallbacks = Self.fallbacks(in: row["vmstat_other"] ?? "")
                let huge = Int(row[backend == .anonPrivate ? "anon_huge_bytes" : "shmem_pmd_mapped_bytes"] ?? "") ?? 0
                let shortfall = (max(0, expectedData - huge) + (2 << 20) - 1) / (2 << 20)
                let allowedPTE: Int = Int(expectedPTE.magnitude / 100) + min(fallbacks, shortfall) * 4096
                #expect(abs(pte - expectedPTE) <= allowedPTE,
                        "\(label): PTE \(pte) vs model \(expectedPTE), \(fallbacks) THP fallbacks on the host, \(shortfall) × 2 MiB not huge")
                // The RSS counters are per-CPU and lag by a few dozen pages.
                #expect(abs(data - expectedData) <= max(Int(expectedData.magnitude) / 100, 256 << 10),
                        "\(label): data \(data) vs model \(expectedData)")
            }
            return rows
        }

        /// THP allocations that fell back to small pages, from `vmstat_other` (`NAME:DELTA;...`).
        static func fallbacks(in other: String) -> Int {
            other.split(separator: ";").reduce(0) { total, entry in
                let parts = entry.split(separator: ":")
                guard parts.count == 2, parts[0].hasSuffix("_fallback") else { return total }
                return total + (Int(parts[1]) ?? 0)
            }
        }

        func maximum(_ rows: [[String: String]], _ column: String, phase: String) -> Int {
            rows.filter { $0["phase"] == phase }.compactMap { Int($0[column] ?? "") }.max() ?? 0
        }

        @Test(arguments: ["always", "madvise"], ["0", "1"])
        func anonymousTHPMatchesTheModel(enabled: String, zeroPage: String) throws {
            try THPSettingsFixture.with(["enabled": enabled, "use_zero_page": zeroPage]) {
                let rows = try runAndCheck(backend: .anonPrivate, thp: "huge,inherit",
                                           "enabled=\(enabled) use_zero_page=\(zeroPage)")
                #expect(rows.allSatisfy { $0["thp_enabled"] == enabled && $0["thp_use_zero_page"] == zeroPage })
                // Without the huge zeropage a read allocates a THP: population maps huge pages.
                if zeroPage == "0" {
                    #expect(maximum(rows, "anon_huge_bytes", phase: "populate") > 0, "THP was never used")
                }
            }
        }

        /// shmem THP, and uffd-wp unmapping its huge PMDs at protection (RssShmem drops). That the pages
        /// stay in the page cache is a system-wide figure (Shmem), which anything else on the host moves:
        /// `protectionLeavesShmemPagesInTheFile` shows it on the memfd's own block count.
        @Test(arguments: ["always", "advise"])
        func shmemTHPMatchesTheModel(shmemEnabled: String) throws {
            try THPSettingsFixture.with(["shmem_enabled": shmemEnabled]) {
                let rows = try runAndCheck(backend: .memfdShmem, thp: "huge,inherit", "shmem_enabled=\(shmemEnabled)")
                #expect(maximum(rows, "shmem_pmd_mapped_bytes", phase: "populate") > 0, "shmem THP was never used")
                let protects = rows.filter { $0["phase"] == "protect" }
                #expect(protects.contains { (Int($0["rss_shmem_bytes"] ?? "") ?? 0) < 0 },
                        "protection unmaps PMD-mapped shmem")
            }
        }

        /// The monitor shows what the kernel did: uffd-wp on PMD-mapped shmem splits every huge PMD,
        /// one `thp_split_pmd` event per 2 MiB. The counter is system-wide and only counts up, so the
        /// trial's own splits are a lower bound whatever else runs.
        @Test func protectingPMDMappedShmemShowsAsSplits() throws {
            try THPSettingsFixture.with(["shmem_enabled": "advise"]) {
                let out = FileManager.default.temporaryDirectory.appendingPathComponent("split-\(UUID().uuidString).csv")
                defer {
                    try? FileManager.default.removeItem(at: out)
                    try? FileManager.default.removeItem(atPath: OutputFiles.summaryPath(for: out.path))
                }
                let result = try bench(["run", "--backend", "memfd-shmem", "--size", "64MiB", "--strategy", "qemu-7.2",
                                        "--thp", "huge", "--plugged", "1", "--resident", "0", "--repetitions", "1",
                                        "--warmup", "0", "--quiet", "--out", out.path])
                try #require(result.status == 0, "\(result.stderr)")
                let rows = try CSV.parse(String(contentsOf: out, encoding: .utf8)).rows
                let populate = try #require(rows.first { $0["phase"] == "populate" })
                let protect = try #require(rows.first { $0["phase"] == "protect" })
                try #require(Int(populate["shmem_pmd_mapped_bytes"] ?? "") == 64 << 20, "shmem THP was not used")
                #expect((Int(protect["vmstat_thp_split_pmd"] ?? "") ?? 0) >= 32, "64 MiB of PMDs split: \(protect)")
            }
        }

        /// The PMD size's own control decides when it does not inherit (Linux 6.8+).
        @Test(needs(.thpPerSize))
        func perSizeControlsDecide() throws {
            try THPSettingsFixture.with(["enabled": "never", "hugepages-2048kB/enabled": "always", "use_zero_page": "0",
                                         "shmem_enabled": "never", "hugepages-2048kB/shmem_enabled": "always"]) {
                let anonymous = try runAndCheck(backend: .anonPrivate, thp: "inherit", "2048kB/enabled=always")
                #expect(maximum(anonymous, "anon_huge_bytes", phase: "populate") > 0, "the per-size control was ignored")
                let shmem = try runAndCheck(backend: .memfdShmem, thp: "inherit", "2048kB/shmem_enabled=always")
                #expect(maximum(shmem, "shmem_pmd_mapped_bytes", phase: "populate") > 0, "the per-size control was ignored")
            }
        }
    }
}
