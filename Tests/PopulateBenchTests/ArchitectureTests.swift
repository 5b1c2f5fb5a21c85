import Foundation
import LinuxMM
import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

/// The repository's root, from this file's place in it.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

@Suite struct ColumnRegistry {
    @Test func docsCliColumnTablesAreTheRegistrys() throws {
        let text = try String(contentsOf: packageRoot.appendingPathComponent("docs/cli.md"), encoding: .utf8)
        #expect(ColumnCatalog.missingBlocks(in: text).isEmpty)
        #expect(ColumnCatalog.updatingBlocks(in: text) == text,
                "docs/cli.md's column tables are stale: swift run bench columns --update-docs docs")
    }

    @Test func theSchemaPlotReadsIsTheRegistrys() throws {
        let text = try String(contentsOf: packageRoot.appendingPathComponent("docs/columns.json"), encoding: .utf8)
        #expect(text == (try ColumnCatalog.json()), "docs/columns.json is stale: swift run bench columns --update-docs docs")
    }

    /// plot.py names the columns each chart draws; every one must be in the schema, with the unit it draws.
    @Test(needs(.python3)) func plotReadsOnlyColumnsTheSchemaHas() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [packageRoot.appendingPathComponent("scripts/plot.py").path, "--check-schema"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("all in docs/columns.json"), "\(text)")
    }

    @Test func everyColumnIsDeclaredOnceAndDescribed() {
        for table in ColumnCatalog.tables {
            #expect(Set(table.columns.map(\.name)).count == table.columns.count, "\(table.name) names a column twice")
            #expect(table.columns.allSatisfy { !$0.description.isEmpty }, "\(table.name) has a column without a meaning")
        }
        #expect(Set(ResultTable.columns).isDisjoint(with: VMMColumns.names))
    }

    /// The contract's columns, in the contract's order, come first in the file.
    @Test func theContractsColumnsLeadTheFile() {
        #expect(Array(ResultTable.columns.prefix(contractColumns.count)) == contractColumns)
        #expect(TrialColumns.all.filter(\.isContract).map(\.name) == contractColumns,
                "the registry marks exactly the contract's columns as contract")
    }

    @Test func compareAndExportsReadTheRegistry() {
        #expect(Comparison.metrics.map(\.column)
            == ["pte_bytes", "rss_anon_bytes", "rss_shmem_bytes", "hugetlb_bytes", "seconds", "inconsistent_pages"])
        #expect(Comparison.metrics.filter(\.isTime).map(\.column) == ["seconds"])
        // The summary's order, as summaries were written before the registry, the new columns last.
        #expect(ResultTable.statisticColumns == [
            "pte_bytes", "rss_bytes", "rss_anon_bytes", "rss_file_bytes", "rss_shmem_bytes", "hugetlb_bytes",
            "sys_shmem_bytes", "sys_pagetables_bytes", "touched_bytes", "seconds", "cpu_seconds", "minor_faults",
            "expected_pte_bytes", "expected_data_bytes", "sys_hugetlb_bytes", "wp_faults", "inconsistent_pages",
            "peak_rss_bytes", "peak_pte_bytes", "writes", "written_pages", "stalled_writes", "stall_p50_us",
            "stall_p99_us", "stall_max_us", "peak_rss_delta_bytes", "peak_pte_delta_bytes", "register_seconds",
            "writeprotect_seconds", "anon_huge_bytes", "shmem_pmd_mapped_bytes", "overhead_seconds", "peak_hugetlb_bytes",
            "region_data_bytes", "mid_populated_bytes", "mid_protected_bytes", "unprotected_plugged_bytes",
            "image_lost_writes", "sampler_cpu_seconds", "setup_seconds", "teardown_seconds", "cancel_copied_bytes",
            "after_cancel_protected_bytes", "after_cancel_protected_model_bytes", "after_cancel_uffd_registered",
            "after_cancel_guest_alive", "after_cancel_guest_wait_seconds", "vmstat_nr_page_table_pages", "vmstat_pgfault", "vmstat_thp_fault_alloc", "vmstat_thp_zero_page_alloc",
            "vmstat_thp_split_pmd", "vmstat_nr_shmem", "vmstat_nr_anon_pages", "vmstat_nr_anon_transparent_hugepages",
            "vmstat_nr_shmem_hugepages",
        ])
        #expect(MetricsExport.measures.map(\.column) == ResultTable.statisticColumns)
        #expect(MetricsExport.measures.first { $0.column == "stall_p99_us" }?.name == "populatebench_stall_p99_seconds")
        #expect(MetricsExport.measures.first { $0.column == "seconds" }?.name == "populatebench_duration_seconds")
    }
}

extension KernelTests {
    /// A trial's child is `bench-trial`, which links the trial and nothing of the exports: no
    /// FoundationNetworking, so no libcurl and the libraries it pulls in. The parent `bench` maps
    /// them (it pushes to a Pushgateway), which shows the check can see them.
    @Suite(needs(.bench)) struct TrialChildProcess {
        @Test func mapsNoLibcurlWhereTheParentDoes() throws {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString).csv")
            defer {
                try? FileManager.default.removeItem(at: out)
                try? FileManager.default.removeItem(atPath: OutputFiles.summaryPath(for: out.path))
            }
            let process = Process()
            guard let binary = benchBinary else { throw MissingBench() }
            process.executableURL = binary
            process.arguments = ["run", "--backend", "anon-private", "--strategy", "full-touch", "--size", "4GiB",
                                 "--thp", "nohuge", "--resident", "0", "--repetitions", "20", "--warmup", "0", "--quiet",
                                 "--out", out.path]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            defer {
                if process.isRunning { kill(process.processIdentifier, SIGINT) }
                _ = waitForExit(process, orKillAfter: 120)
            }
            var childMaps: String?, childExe: String?
            for _ in 0 ..< 2000 where childMaps == nil {
                for child in childPIDs(of: process.processIdentifier) {
                    let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(child)/exe")
                    // Past exec: the forked copy of bench maps what bench maps.
                    guard let exe, exe.hasSuffix("/" + ChildTrialLauncher.trialExecutableName) else { continue }
                    // Once its 4 GiB region is mapped, the loader has long mapped every library.
                    let status = (try? ProcFile.read("/proc/\(child)/status")) ?? ""
                    let size = status.split(separator: "\n").first { $0.hasPrefix("VmSize:") }
                        .flatMap { Int($0.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") } ?? 0
                    guard size * 1024 >= 4 << 30 else { continue }
                    childExe = exe
                    // ProcFile reads to the end; Foundation stops at the size stat gives, 0 for /proc.
                    childMaps = try? ProcFile.read("/proc/\(child)/maps")
                }
                if childMaps == nil { usleep(5000) }
            }
            let maps = try #require(childMaps, "no bench-trial child seen")
            #expect(childExe?.hasSuffix("bench-trial") == true)
            #expect(maps.contains("libc.so"), "the whole maps file was read")
            #expect(!maps.contains("libcurl") && !maps.contains("FoundationNetworking"), "the child maps libcurl")
            let parentMaps = try ProcFile.read("/proc/\(process.processIdentifier)/maps")
            #expect(parentMaps.contains("FoundationNetworking"), "bench itself links the exports")
        }
    }
}

/// What each strategy and backend is lives in its declaration: a comparison with one case
/// elsewhere classifies a new case silently (an exhaustive `switch` makes the compiler ask).
@Suite struct Declarations {
    /// Every case but `none`, which an Optional's `== .none` would match.
    static let cases = (Backend.allCases.map { "\($0)" } + Strategy.allCases.filter { $0 != Strategy.none }.map { "\($0)" })
        .joined(separator: "|")
    /// `contains(.x)` too, but not for `wpUnpopulated`, also the name of a userfaultfd feature.
    static let listedCases = (Backend.allCases.map { "\($0)" }
        + Strategy.allCases.filter { ![Strategy.none, .wpUnpopulated].contains($0) }.map { "\($0)" }).joined(separator: "|")
    /// `== .anonPrivate`, `.qemu61 ==`, `== Backend.hugetlbfs`, `contains(.hugetlbfs)`,
    /// `if case .anonPrivate = ...`, `[.qemu61, .qemu62].contains(...)`.
    static var casePattern: String {
        #"([!=]= *((Backend|Strategy))?\.("# + cases + #")\b)|(\.("# + cases + #") *[!=]=)|(contains\(\.("# + listedCases + #")\))"#
            + #"|((if|guard) case \.("# + cases + #")\b)|(\[\.("# + listedCases + #")\b[^\]]*\]\.contains)"#
    }

    @Test func noSourceComparesABackendOrStrategyWithOneCase() throws {
        let sources = packageRoot.appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(atPath: sources.path)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") }
        #expect(files.count > 50, "read the sources: \(files.count)")
        let caseTest = try Regex(Self.casePattern)
        var found: [String] = []
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where String(line.split(separator: " //", maxSplits: 1).first ?? "").trimmingCharacters(in: .whitespaces)
                .split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first?.contains(caseTest) == true {
                found.append("\(file):\(number + 1): \(line.trimmingCharacters(in: .whitespaces))")
            }
        }
        #expect(found.isEmpty, "\(found.joined(separator: "\n"))")
    }
}
