import ArgumentParser
import Foundation
import PopulateBench
import Experiments
import Results
import VMM

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "A run's results for Prometheus (node_exporter's textfile collector) or InfluxDB, to stdout.",
        discussion: "One series per run, config and phase: the median over ok repetitions, as in the summary CSV; "
            + "populatebench_trials counts repetitions by status. Exit 1: the file is not the raw CSV of bench run."
    )

    enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
        case openmetrics, influx
    }

    @Option(help: "openmetrics (text exposition, also read by the Pushgateway) or influx (line protocol).")
    var format: ExportFormat

    @Argument(help: "The raw CSV of bench run (not its -summary.csv).")
    var file: String

    func run() throws {
        let rows: [[String: String]]
        do {
            rows = try MetricsExport.load(file)
        } catch {
            FileHandle.standardError.write(Data("bench export: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let export = MetricsExport(rows: rows)
        switch format {
        case .openmetrics:
            print(OpenMetricsFormat.render(export), terminator: "")
        case .influx:
            // A run id not made by bench run has no start time in it: the file's age stands in.
            let modified = (try? FileManager.default.attributesOfItem(atPath: file)[.modificationDate] as? Date) ?? Date()
            print(InfluxLineProtocol.render(export, fallback: modified), terminator: "")
        }
    }
}
