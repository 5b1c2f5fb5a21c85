import Foundation
import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

/// `bench compare BASE NEW NEW...`: one column per host, the worst verdict for the fleet.
@Suite struct HostComparison {
    func rows(host: String, pte: Int = 2 << 20) -> [[String: String]] {
        runRows(pte: pte).map { row in
            var row = row
            row["host"] = host
            return row
        }
    }

    @Test func oneRegressedHostFailsTheFleet() {
        let base = rows(host: "base")
        let table = HostComparisonTable(columns: [
            .init(label: "alpha", comparison: Comparison(base: base, new: rows(host: "alpha"), threshold: 0.1)),
            .init(label: "beta", comparison: Comparison(base: base, new: rows(host: "beta", pte: (2 << 20) * 11 / 10),
                                                        threshold: 0.1)),
        ])
        #expect(table.verdict == .regression)
        let text = table.render(.text)
        let header = text.prefix { $0 != "\n" }
        #expect(header.contains("alpha") && header.contains("beta"))
        #expect(text.contains("WORSE pte_bytes +10.0%"))
        #expect(text.contains("REGRESSION on 1 of 2 hosts: beta"))
        #expect(table.render(.markdown).contains("| config | alpha | beta |"))
    }

    @Test func everyHostTheSameIsZero() {
        let base = rows(host: "base")
        let table = HostComparisonTable(columns: ["a", "b"].map {
            .init(label: $0, comparison: Comparison(base: base, new: rows(host: $0), threshold: 0.1))
        })
        #expect(table.verdict == .same)
        #expect(!table.render(.text).contains("WORSE"))
    }

    @Test(needs(.bench))
    func theCommandTakesOneNewFilePerHost() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hosts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = [("base", rows(host: "base")), ("alpha", rows(host: "alpha")),
                     ("beta", rows(host: "beta", pte: 4 << 20))].map { name, rows in
            let url = directory.appendingPathComponent("\(name).csv")
            #expect(FileManager.default.createFile(atPath: url.path, contents: Data(csvText(rows).utf8)))
            return url.path
        }
        let result = try bench(["compare"] + files)
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("alpha") && result.stdout.contains("beta"))
        #expect(result.stdout.contains("REGRESSION on 1 of 2 hosts"))
        let same = try bench(["compare", files[0], files[1], files[1]])
        #expect(same.status == 0, "\(same.stdout)")
    }
}
