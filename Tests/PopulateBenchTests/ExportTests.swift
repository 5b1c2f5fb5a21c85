import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

/// One config of memfd-shmem with three repetitions: two ok (pte 4096 and 12288 bytes), one failed,
/// and one skipped config, as `bench run` writes them.
func exportRows() -> [[String: String]] {
    func row(strategy: String, repetition: Int, phase: String, status: String, reason: String = "",
             values: [String: String] = [:]) -> [String: String] {
        var row = Dictionary(uniqueKeysWithValues: ResultTable.columns.map { ($0, "") })
        for (column, value) in [
            "run_id": "20250101T120000Z-42", "host": "node-7", "kernel": "6.18.0", "backend": "memfd-shmem",
            "page_bytes": "4096", "region_bytes": "268435456", "block_bytes": "2097152", "layout": "random",
            "thp": "inherit", "plugged_fraction": "0.25", "resident_fraction": "0.5", "strategy": strategy,
            "repetition": "\(repetition)", "phase": phase, "status": status, "reason": reason, "numa_policy": "local",
        ] { row[column] = value }
        for (column, value) in values { row[column] = value }
        return row
    }
    return [
        row(strategy: "full-touch", repetition: 1, phase: "populate", status: "ok",
            values: ["pte_bytes": "4096", "rss_shmem_bytes": "1048576", "seconds": "0.250000",
                     "expected_pte_bytes": "8192", "numa_pages": "0:100;zero:0;none:4"]),
        row(strategy: "full-touch", repetition: 2, phase: "populate", status: "ok",
            values: ["pte_bytes": "12288", "rss_shmem_bytes": "3145728", "seconds": "0.150000",
                     "expected_pte_bytes": "8192", "numa_pages": "0:300;zero:0;none:2"]),
        row(strategy: "full-touch", repetition: 3, phase: "populate", status: "failed", reason: "killed by SIGKILL"),
        row(strategy: "discard-touch", repetition: 1, phase: "populate", status: "skipped",
            reason: "memory guard: needs 2GiB, \"MemAvailable\" is 1GiB"),
    ]
}

@Suite struct OpenMetricsExport {
    let text = OpenMetricsFormat.render(MetricsExport(rows: exportRows()))

    func samples(_ name: String) -> [Substring] {
        text.split(separator: "\n").filter { $0.hasPrefix(name + "{") }
    }

    @Test func aConfigIsOneSeriesHoldingTheMedianOfItsOkRepetitions() throws {
        let pte = samples("populatebench_pte_bytes")
        #expect(pte.count == 1, "the failed repetition and the skipped config add no value: \(pte)")
        #expect(try #require(pte.first).hasSuffix("} 8192"))
        #expect(samples("populatebench_rss_shmem_bytes").first?.hasSuffix("} 2097152") == true)
        #expect(samples("populatebench_duration_seconds").first?.hasSuffix("} 0.200000") == true)
        #expect(samples("populatebench_expected_pte_bytes").first?.hasSuffix("} 8192") == true)
    }

    @Test func labelsAreTheConfigInBaseUnits() throws {
        let line = try #require(samples("populatebench_pte_bytes").first)
        for label in [#"host="node-7""#, #"run_id="20250101T120000Z-42""#, #"backend="memfd-shmem""#,
                      #"strategy="full-touch""#, #"phase="populate""#, #"region_bytes="268435456""#,
                      #"block_bytes="2097152""#, #"plugged_fraction="0.25""#, #"thp="inherit""#] {
            #expect(line.contains(label), "\(label) in \(line)")
        }
        #expect(!line.contains("repetition="), "repetitions are reduced, not labels")
    }

    @Test func failuresAreCountedByStatusWithTheirReason() {
        let trials = samples("populatebench_trials")
        #expect(trials.count == 3)
        #expect(trials.contains { $0.contains(#"strategy="full-touch""#) && $0.contains(#"status="ok""#) && $0.hasSuffix(" 2") })
        #expect(trials.contains {
            $0.contains(#"status="failed",reason="killed by SIGKILL""#) && $0.hasSuffix(" 1")
        })
        #expect(trials.contains {
            $0.contains(#"strategy="discard-touch""#) && $0.contains(#"status="skipped""#) && $0.hasSuffix(" 1")
        })
    }

    @Test func labelValuesEscapeQuoteBackslashAndNewline() {
        var rows = exportRows()
        rows[3]["reason"] = "a \"quoted\" C:\\path\nsecond line"
        let text = OpenMetricsFormat.render(MetricsExport(rows: rows))
        #expect(text.contains(#"reason="a \"quoted\" C:\\path\nsecond line""#))
        #expect(!text.contains("\nsecond line"))
    }

    @Test func everyFamilyHasTypeUnitAndHelpOnceAndTheTextEndsWithEOF() {
        #expect(text.hasSuffix("\n# EOF\n"))
        #expect(text.components(separatedBy: "# EOF").count == 2)
        let lines = text.split(separator: "\n")
        for measure in MetricsExport.measures + [MetricsExport.numaPages, MetricsExport.trials]
            where !samples(measure.name).isEmpty {
            #expect(lines.filter { $0 == "# TYPE \(measure.name) gauge" }.count == 1, "\(measure.name)")
            #expect(lines.filter { $0.hasPrefix("# HELP \(measure.name) ") }.count == 1, "\(measure.name)")
            if let unit = measure.unit {
                #expect(measure.name.hasSuffix("_\(unit)"), "OpenMetrics: a unit is the name's suffix")
                #expect(lines.contains("# UNIT \(measure.name) \(unit)"))
            }
            #expect(!measure.help.contains("\"") && !measure.help.contains("\\"),
                    "help reads alike in OpenMetrics and Prometheus 0.0.4")
        }
        #expect(!text.contains("populatebench_wp_faults"), "a family without samples is left out")
    }

    @Test func numaPagesAreOneSeriesPerNode() {
        let numa = samples("populatebench_numa_pages")
        #expect(numa.contains { $0.contains(#"numa_node="0""#) && $0.hasSuffix(" 200") })
        #expect(numa.contains { $0.contains(#"numa_node="none""#) && $0.hasSuffix(" 3") })
    }

    @Test func twoRunsOfOneConfigStayTwoSeries() {
        var second = exportRows()
        for index in second.indices { second[index]["run_id"] = "20250102T120000Z-43" }
        let text = OpenMetricsFormat.render(MetricsExport(rows: exportRows() + second))
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("populatebench_pte_bytes{") }.count == 2)
    }
}

@Suite struct InfluxExport {
    let lines = InfluxLineProtocol.render(MetricsExport(rows: exportRows()), fallback: Date(timeIntervalSince1970: 0))
        .split(separator: "\n")

    @Test func aMetricIsAPointWithTheMedianAsValueStampedWithTheRunStart() throws {
        let pte = try #require(lines.first { $0.contains(",metric=pte_bytes,") })
        #expect(pte.hasPrefix("populatebench,host=node-7,run_id=20250101T120000Z-42,kernel=6.18.0,backend=memfd-shmem,"))
        #expect(pte.contains(",unit=bytes "))
        #expect(pte.hasSuffix(" value=8192,min=4096,max=12288,iqr=4096,ok_repetitions=2i,repetitions=3i 1735732800000000000"))
        #expect(!pte.contains("populate_node="), "line protocol has no empty tag values")
    }

    @Test func trialsAreTheirOwnMeasurementWithEscapedReasons() {
        #expect(lines.contains {
            $0.hasPrefix("populatebench_trials,") && $0.contains(#",status=failed,reason=killed\ by\ SIGKILL count=1i "#)
        })
        #expect(lines.contains {
            $0.contains(#"status=skipped,reason=memory\ guard:\ needs\ 2GiB\,\ "MemAvailable"\ is\ 1GiB count=1i"#)
        })
    }

    @Test func aRunIDNotMadeByBenchRunTakesTheFallbackTime() {
        var rows = exportRows()
        for index in rows.indices { rows[index]["run_id"] = "nightly" }
        let text = InfluxLineProtocol.render(MetricsExport(rows: rows), fallback: Date(timeIntervalSince1970: 1_700_000_000.7))
        #expect(text.split(separator: "\n").allSatisfy { $0.hasSuffix(" 1700000000000000000") })
    }

    @Test func theRunIDTimeIsTheOneBenchRunWrites() throws {
        // To the second, between the moments before and after the id was made.
        let before = Date().timeIntervalSince1970.rounded(.down)
        let id = RunInfo.makeID()
        let after = Date().timeIntervalSince1970
        let start = try #require(MetricsExport.runStart(runID: id)).timeIntervalSince1970
        #expect(start >= before && start <= after, "\(id): \(start) not in [\(before), \(after)]")
    }
}

@Suite struct ExportInput {
    func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString).csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aSummaryCSVIsRefusedByName() throws {
        let summary = CSV.line(SummaryTable.columns)
            + SummaryTable.rows(from: exportRows()).map { CSV.line($0, columns: SummaryTable.columns) }.joined()
        let path = try file(summary)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: MetricsExport.InputError.self) { try MetricsExport.load(path) }
        #expect(error?.description.contains("is a summary CSV") == true, "\(String(describing: error))")
    }

    @Test func aCSVOfSomethingElseNamesTheMissingColumns() throws {
        let path = try file("name,size\nfoo,4096\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: MetricsExport.InputError.self) { try MetricsExport.load(path) }
        #expect(error?.description.hasSuffix("is not the raw CSV of bench run: no run_id, host, kernel and 27 more column") == true,
                "\(String(describing: error))")
    }

    @Test func aValueThatIsNoNumberIsRefusedWithItsLine() throws {
        var rows = exportRows()
        rows[1]["pte_bytes"] = "12KiB"
        let path = try file(csvText(rows))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: MetricsExport.InputError.self) { try MetricsExport.load(path) }
        #expect(error?.description.contains("line 3: pte_bytes '12KiB' is not a number") == true, "\(String(describing: error))")
    }

    @Test func aMissingFileNamesItsPath() {
        let error = #expect(throws: MetricsExport.InputError.self) { try MetricsExport.load("/nonexistent/x.csv") }
        #expect(error?.description.contains("/nonexistent/x.csv") == true, "\(String(describing: error))")
    }

    @Test func groupURLEncodesWhatCannotBeAPathSegment() throws {
        let gateway = try Pushgateway(url: "http://127.0.0.1:9091/")
        #expect(gateway.groupURL(host: "node-7", runID: "20250101T120000Z-42").absoluteString
            == "http://127.0.0.1:9091/metrics/job/populatebench/host/node-7/run_id/20250101T120000Z-42")
        #expect(gateway.groupURL(host: "a/b", runID: "").absoluteString
            == "http://127.0.0.1:9091/metrics/job/populatebench/host@base64/YS9i/run_id@base64/=")
    }

    @Test(arguments: ["", "localhost:9091", "ftp://gateway", "http://"])
    func aURLThatIsNotHTTPIsRefused(url: String) {
        #expect(throws: Pushgateway.InvalidURL.self) { try Pushgateway(url: url) }
    }

    @Test func aPushNobodyAnswersNamesTheURLAndTheCause() throws {
        let port = try closedPort()
        let gateway = try Pushgateway(url: "http://127.0.0.1:\(port)", timeout: 5)
        let error = #expect(throws: Pushgateway.PushError.self) { try gateway.push(rows: exportRows()) }
        #expect(error?.url.hasPrefix("http://127.0.0.1:\(port)/metrics/job/populatebench/host/node-7/") == true)
        #expect(error?.cause.isEmpty == false, "\(String(describing: error))")
    }

    /// A port that was free a moment ago: bound by us, then closed.
    func closedPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        try #require(bound, "bind: errno \(errno)")
        return UInt16(bigEndian: address.sin_port)
    }
}

@Suite(needs(.bench))
struct ExportCommandLine {
    @Test func anUnknownFormatIsOneLineAndExitTwo() throws {
        let result = try bench(["export", "--format", "xml", "/nonexistent/x.csv"])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1 && result.stderr.contains("--format"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func anUnusableFileIsOneLineAndExitOne() throws {
        let result = try bench(["export", "--format", "openmetrics", "/nonexistent/x.csv"])
        #expect(result.status == 1)
        #expect(result.stderr.split(separator: "\n").count == 1 && result.stderr.contains("/nonexistent/x.csv"),
                "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func bothFormatsGoToStdout() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString).csv").path
        try csvText(exportRows()).write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let openMetrics = try bench(["export", "--format", "openmetrics", path])
        #expect(openMetrics.status == 0, "\(openMetrics.stderr)")
        #expect(openMetrics.stdout.hasPrefix("# TYPE populatebench_pte_bytes gauge\n"))
        #expect(openMetrics.stdout.hasSuffix("# EOF\n"))
        let influx = try bench(["export", "--format", "influx", path])
        #expect(influx.status == 0, "\(influx.stderr)")
        #expect(influx.stdout.hasPrefix("populatebench,host=node-7,"))
    }
}

/// A real Pushgateway and Prometheus (`eval "$(scripts/prometheus.sh start)"`): a short real run is
/// pushed, and what Prometheus then answers must be the CSV's numbers.
let pushgatewayURL = ProcessInfo.processInfo.environment["POPULATEBENCH_PUSHGATEWAY"]
let prometheusURL = ProcessInfo.processInfo.environment["POPULATEBENCH_PROMETHEUS"]

extension KernelTests {
    @Suite(needs(.prometheus), needs(.bench))
    struct PrometheusRoundTrip {
        @Test func aPushedRunReadsBackFromPrometheusAsTheCSVWroteIt() throws {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString).csv")
            defer {
                try? FileManager.default.removeItem(at: out)
                try? FileManager.default.removeItem(atPath: out.path.replacingOccurrences(of: ".csv", with: "-summary.csv"))
            }
            let run = try bench(["run", "--backend", "memfd-shmem,anon-private", "--strategy", "full-touch,discard-touch",
                                 "--size", "64MiB", "--repetitions", "1", "--warmup", "0", "--quiet", "--out", out.path])
            try #require(run.status == 0, "\(run.stderr)")
            let rows = try MetricsExport.load(out.path)
            let runID = try #require(rows.first?["run_id"])
            let host = try #require(rows.first?["host"])

            let gateway = try Pushgateway(url: try #require(pushgatewayURL))
            let pushed = try gateway.push(rows: rows)
            #expect(pushed.map(\.absoluteString) == [gateway.groupURL(host: host, runID: runID).absoluteString])
            defer { deleteGroup(pushed[0]) }

            // Every number the CSV has for its ok rows, by the metric Prometheus names it.
            let names = ["pte_bytes": "populatebench_pte_bytes", "rss_shmem_bytes": "populatebench_rss_shmem_bytes",
                         "rss_anon_bytes": "populatebench_rss_anon_bytes", "seconds": "populatebench_duration_seconds",
                         "expected_pte_bytes": "populatebench_expected_pte_bytes", "minor_faults": "populatebench_minor_faults",
                         "touched_bytes": "populatebench_touched_bytes"]
            var expected: [String: Double] = [:]
            for row in rows where row["status"] == "ok" {
                for (column, name) in names {
                    guard let value = row[column].flatMap(Double.init) else { continue }
                    expected[seriesKey(name, row["backend"]!, row["strategy"]!, row["phase"]!)] = value
                }
            }
            try #require(expected.count >= 40, "a run of 4 configs x 2 phases gives values: \(expected.count)")

            var found: [String: Double] = [:]
            let deadline = Date().addingTimeInterval(60)
            repeat {
                found = try query(#"{job="populatebench",run_id="\#(runID)"}"#)
                if Set(expected.keys).isSubset(of: found.keys) { break }
                Thread.sleep(forTimeInterval: 0.5)
            } while Date() < deadline
            for (key, value) in expected.sorted(by: { $0.key < $1.key }) {
                #expect(found[key] == value, "\(key): Prometheus \(found[key].map { "\($0)" } ?? "nothing"), CSV \(value)")
            }
            let okTrials = found.filter { $0.key.hasPrefix("populatebench_trials ") }
            #expect(okTrials.count == 8 && okTrials.values.allSatisfy { $0 == 1 }, "\(okTrials)")
        }

        @Test func aPushTheServerRefusesNamesTheStatus() throws {
            // Prometheus itself has no push endpoint: an HTTP error, not a connection failure.
            let gateway = try Pushgateway(url: try #require(prometheusURL))
            let error = #expect(throws: Pushgateway.PushError.self) { try gateway.push(rows: exportRows()) }
            #expect(error?.description.hasPrefix("push to \(gateway.url.absoluteString)") == true)
            #expect(error?.cause.hasPrefix("HTTP 4") == true, "\(String(describing: error))")
        }

        func seriesKey(_ name: String, _ backend: String, _ strategy: String, _ phase: String) -> String {
            "\(name) \(backend) \(strategy) \(phase)"
        }

        /// The instant vector of `promQL`, by metric name, backend, strategy and phase.
        func query(_ promQL: String) throws -> [String: Double] {
            let base = try #require(prometheusURL)
            var components = try #require(URLComponents(string: base + "/api/v1/query"))
            components.queryItems = [URLQueryItem(name: "query", value: promQL)]
            let data = try Data(contentsOf: try #require(components.url))
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let result = try #require((object["data"] as? [String: Any])?["result"] as? [[String: Any]])
            var values: [String: Double] = [:]
            for sample in result {
                guard let labels = sample["metric"] as? [String: String], let name = labels["__name__"],
                      let pair = sample["value"] as? [Any], let text = pair.last as? String, let value = Double(text) else { continue }
                let key = seriesKey(name, labels["backend"] ?? "", labels["strategy"] ?? "", labels["phase"] ?? "")
                values[name == "populatebench_trials" ? key + " " + (labels["status"] ?? "") : key] = value
            }
            return values
        }

        func deleteGroup(_ url: URL) {
            var request = URLRequest(url: url, timeoutInterval: 10)
            request.httpMethod = "DELETE"
            let done = DispatchSemaphore(value: 0)
            URLSession.shared.dataTask(with: request) { _, _, _ in done.signal() }.resume()
            _ = done.wait(timeout: .now() + 10)
        }
    }
}
