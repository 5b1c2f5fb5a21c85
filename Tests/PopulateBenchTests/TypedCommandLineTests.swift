import Foundation
import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

/// The command line as swift-argument-parser declares it: every enum's values in the help, shell
/// completion that offers them, and lists that cross instead of keeping the first entry.
extension KernelTests {
/// Runs real trials (a hugetlb pool's pages, system Shmem), so with the other kernel suites, one at a time.
@Suite(needs(.bench))
struct TypedCommandLine {
    @Test func helpListsEveryAcceptedValueOfEveryEnumOption() throws {
        let help = try bench(["run", "--help"])
        #expect(help.status == 0)
        let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        // Each enum's whole list, in order: a value missing from one cannot hide in another's text.
        let lists = [Backend.allCases.map(\.rawValue), Strategy.allCases.map(\.rawValue),
                     DiscardMap.Layout.allCases.map(\.rawValue), THPMode.allCases.map(\.rawValue)]
            .map { $0.joined(separator: ", ") }
            + [SnapshotOptions.Tracking.allCases].map { "values: " + $0.map(\.rawValue).joined(separator: ", ") }
            + ["values: " + SnapshotOptions.FaultService.allCases.map(\.rawValue).joined(separator: ", "),
               "values: table, csv, json"]
        for list in lists {
            #expect(text.contains(list), "help lacks \(list)")
        }
    }

    @Test func bashCompletionOffersTheBackends() throws {
        let script = try bench(["--generate-completion-script", "bash"])
        #expect(script.status == 0)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString).bash")
        #expect(FileManager.default.createFile(atPath: file.path, contents: Data(script.stdout.utf8)))
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", """
            shopt -s extglob; source '\(file.path)' || exit 9
            COMP_WORDS=(bench run --backend ""); COMP_CWORD=3; COMP_LINE="bench run --backend "
            COMP_POINT=${#COMP_LINE}; _bench bench "" --backend; echo "${COMPREPLY[@]}"
            """]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let offered = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(Set(offered.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
            == Set(Backend.allCases.map(\.rawValue)))
    }

    /// `--resident 0,1` and `--hugepage-size 2MiB,1GiB` run every combination: a size the host has no
    /// pool for is a skipped row with its reason, never silently dropped.
    @Test func residentAndHugePageSizeListsRunEveryEntry() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString).csv")
        defer {
            try? FileManager.default.removeItem(at: out)
            try? FileManager.default.removeItem(atPath: OutputFiles.summaryPath(for: out.path))
        }
        let result = try bench(["run", "--backend", "memfd-hugetlb", "--strategy", "none", "--hugepage-size", "2MiB,1GiB",
                                "--resident", "0,1", "--repetitions", "1", "--warmup", "0", "--quiet", "--out", out.path])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try CSV.parse(String(contentsOf: out, encoding: .utf8)).rows.filter { $0["phase"] == "populate" }
        let combinations = Set(rows.map { "\($0["page_bytes"] ?? "") \($0["resident_fraction"] ?? "")" })
        #expect(combinations == ["2097152 0.0", "2097152 1.0", "1073741824 0.0", "1073741824 1.0"])
        // A size whose pool has no free page is skipped, and a skip says which pool; nothing fails.
        for row in rows {
            let pageBytes = Int(row["page_bytes"] ?? "") ?? 0
            let free = (try? String(contentsOfFile: "/sys/kernel/mm/hugepages/hugepages-\(pageBytes >> 10)kB/free_hugepages",
                                    encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
            let says = "\(row["status"] ?? "") \(row["reason"] ?? "")"
            if free == 0 { #expect(row["status"] == "skipped", "\(pageBytes)-byte pages, no free page: \(says)") }
            // "the 1GiB hugetlb pool has 0 free", or "this kernel has no 1GiB hugetlb page size".
            #expect(row["status"] == "ok" || (row["status"] == "skipped" && (row["reason"] ?? "").contains("hugetlb")), "\(says)")
        }
    }

    @Test func compareTakesItsOwnExitCodeForBadFlags() throws {
        let result = try bench(["compare", "--threshold", "lots", "a.csv", "b.csv"])
        #expect(result.status == 1, "compare's unusable input is 1, not run's 2: \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1 && result.stderr.contains("--threshold"))
        // A negative duration is the flag's value, not another flag: it is named as a bad duration.
        let floor = try bench(["compare", "a.csv", "b.csv", "--time-floor", "-1ms"])
        #expect(floor.status == 1 && floor.stderr.split(separator: "\n").count == 1
            && floor.stderr.contains("not a positive duration"), "\(floor.stderr)")
        let run = try bench(["run", "--repetitions", "lots"])
        #expect(run.status == 2)
    }

    /// A push that fails after the run is an error after work began: exit 1, the rows kept.
    @Test func anUnreachablePushgatewayIsExitOneWithTheRowsKept() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString).csv")
        defer {
            try? FileManager.default.removeItem(at: out)
            try? FileManager.default.removeItem(atPath: OutputFiles.summaryPath(for: out.path))
        }
        let result = try bench(["run", "--backend", "memfd-shmem", "--size", "8MiB", "--strategy", "full-touch",
                                "--repetitions", "1", "--warmup", "0", "--quiet", "--out", out.path,
                                "--push", "http://127.0.0.1:1"])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("push to http://127.0.0.1:1"))
        let rows = try CSV.parse(String(contentsOf: out, encoding: .utf8)).rows
        #expect(rows.count == 2 && rows.allSatisfy { $0["status"] == "ok" })
        let bad = try bench(["run", "--push", "ftp://x", "--out", out.path + ".never"])
        #expect(bad.status == 2 && bad.stderr.contains("--push"))
        #expect(!FileManager.default.fileExists(atPath: out.path + ".never"))
    }
}
}
