import Foundation
import LinuxMM
import Testing
@testable import PopulateBench

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

    static func read(_ knob: String) throws -> String {
        let text = try ProcFile.read("\(directory)/\(knob)").trimmingCharacters(in: .whitespacesAndNewlines)
        return SysfsMM.selected(in: text) ?? text
    }

    static func write(_ knob: String, _ value: String) throws {
        guard let handle = FileHandle(forWritingAtPath: "\(directory)/\(knob)") else {
            throw SystemCallError(call: "open(\(directory)/\(knob))", errno: EACCES)
        }
        defer { try? handle.close() }
        try handle.write(contentsOf: Data(value.utf8))
    }

    static func with<T>(_ settings: KeyValuePairs<String, String>, _ body: () throws -> T) throws -> T {
        var saved: [(String, String)] = []
        defer { for (knob, value) in saved.reversed() { try? write(knob, value) } }
        for (knob, value) in settings {
            saved.append((knob, try read(knob)))
            try write(knob, value)
        }
        return try body()
    }
}

extension KernelTests {
    /// The model's THP branches against the kernel: anonymous THP (with and without the huge
    /// zeropage), shmem THP, the PMD size's own control, and uffd-wp on each. Trials run in
    /// `bench`'s child processes; every ok row must be within 1% of the model, and THP must have
    /// been used, or the run proves nothing.
    @Suite(.enabled(if: THPSettingsFixture.isWritable, "changing THP settings needs root and a THP kernel"),
           .enabled(if: benchBinary != nil, "the bench executable is not built beside the tests"))
    struct TransparentHugePages {
        /// Runs a small matrix and returns its rows after checking each against the model.
        func runAndCheck(backend: Backend, thp: String, _ comment: Comment) throws -> [[String: String]] {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("thp-\(UUID().uuidString).csv")
            defer {
                try? FileManager.default.removeItem(at: out)
                try? FileManager.default.removeItem(atPath: Runner.summaryPath(for: out.path))
            }
            var strategies = "full-touch,discard-touch,qemu-8.0"
            if host.userfaultfdFeatures?.contains(.wpUnpopulated) == true { strategies += ",wp-unpopulated" }
            let result = try bench(["run", "--backend", backend.rawValue, "--size", "64MiB", "--strategy", strategies,
                                    "--thp", thp, "--plugged", "0.25,1", "--resident", "0,0.5",
                                    "--repetitions", "1", "--warmup", "0", "--quiet", "--out", out.path])
            #expect(result.status == 0, "\(comment): \(result.stderr)")
            let rows = try CSV.parse(String(contentsOf: out, encoding: .utf8)).rows
            try #require(!rows.isEmpty && rows.allSatisfy { $0["status"] == "ok" }, "\(comment)")
            for row in rows {
                let label = "\(comment): \(row["strategy"] ?? "") thp=\(row["thp"] ?? "") plugged=\(row["plugged_fraction"] ?? "") "
                    + "resident=\(row["resident_fraction"] ?? "") \(row["phase"] ?? "")"
                let pte = Int(row["pte_bytes"] ?? "") ?? -1, expectedPTE = Int(row["expected_pte_bytes"] ?? "") ?? -2
                let data = Int(row[backend.dataColumn] ?? "") ?? -1
                let expectedData = Int(row["expected_data_bytes"] ?? "") ?? -2
                #expect(abs(pte - expectedPTE) <= expectedPTE.magnitude / 100, "\(label): PTE \(pte) vs model \(expectedPTE)")
                // The RSS counters are per-CPU and lag by a few dozen pages.
                #expect(abs(data - expectedData) <= max(Int(expectedData.magnitude) / 100, 256 << 10),
                        "\(label): data \(data) vs model \(expectedData)")
            }
            return rows
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

        /// shmem THP, and uffd-wp unmapping its huge PMDs at protection (RssShmem drops, Shmem does not).
        @Test(arguments: ["always", "advise"])
        func shmemTHPMatchesTheModel(shmemEnabled: String) throws {
            try THPSettingsFixture.with(["shmem_enabled": shmemEnabled]) {
                let rows = try runAndCheck(backend: .memfdShmem, thp: "huge,inherit", "shmem_enabled=\(shmemEnabled)")
                #expect(maximum(rows, "shmem_pmd_mapped_bytes", phase: "populate") > 0, "shmem THP was never used")
                let protects = rows.filter { $0["phase"] == "protect" }
                #expect(protects.contains { (Int($0["rss_shmem_bytes"] ?? "") ?? 0) < 0 },
                        "protection unmaps PMD-mapped shmem")
                #expect(protects.allSatisfy { abs(Int($0["sys_shmem_bytes"] ?? "") ?? 1 << 40) < 1 << 20 },
                        "the pages stay in the page cache")
            }
        }

        /// The PMD size's own control decides when it does not inherit (Linux 6.8+).
        @Test(.enabled(if: THPSettingsFixture.hasPerSizeControls, "the kernel has no per-size THP controls (Linux 6.8+)"))
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
