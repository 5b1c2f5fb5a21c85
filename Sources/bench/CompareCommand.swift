import ArgumentParser
import Foundation
import PopulateBench
import Experiments
import Results
import VMM

struct CompareCommand: ParsableCommand, BadInputExitCode {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Regression gate: exit 0 same, 2 regression, 4 only improvements, 1 unusable input.",
        discussion: "With several NEW files (one per host), prints a host x configuration table; the exit code "
            + "is the worst verdict over the hosts."
    )

    /// compare's 2 means "regression" (package-benchmark's codes): its unusable input is 1.
    static let badInputExitCode: Int32 = 1

    @Argument(help: "The baseline CSV (raw rows of bench run).", completion: .file(extensions: ["csv"]))
    var base: String

    @Argument(help: "The new CSV, or one per host.", completion: .file(extensions: ["csv"]))
    var new: [String]

    @Option(parsing: .unconditional, help: "Time change, in %, that counts as a finding.")
    var threshold: Double = 10

    @Option(parsing: .unconditional, help: ArgumentHelp("A change counts only if Welch's t-test gives p below this "
        + "(with 3 or more repetitions on each side; with fewer, the threshold alone decides).", valueName: "p"))
    var alpha: Double = 0.05

    @Option(name: .customLong("time-floor"), parsing: .unconditional,
            help: ArgumentHelp("A time's change smaller than this never counts, whatever its ratio: the run-to-run noise "
                + "of short phases on the host (scripts/nightly.sh passes what it measured). (default: the repetitions' "
                + "own noise and the clock's resolution)", valueName: "duration"),
            transform: ArgumentValues.duration)
    var timeFloor: Double?

    @Option(help: "text, markdown for CI summaries, or html for a report to attach.")
    var format: Comparison.Format = .text

    func validate() throws {
        guard threshold >= 0, threshold.isFinite else {
            throw ValidationError("--threshold: '\(threshold)' is not a percentage ≥ 0")
        }
        guard alpha > 0, alpha < 1 else { throw ValidationError("--alpha: '\(alpha)' is not a probability between 0 and 1") }
        guard !new.isEmpty else { throw ValidationError("give at least one NEW csv after BASE") }
    }

    func run() throws {
        var columns: [HostComparisonTable.Column] = []
        do {
            let baseRows = try Comparison.load(base)
            for path in new {
                let rows = try Comparison.load(path)
                let host = rows.first.map { "\($0[TrialColumns.Name.host] ?? "?") \($0[TrialColumns.Name.kernel] ?? "")" } ?? path
                let label = new.count > 1 && columns.contains { $0.label == host } ? "\(host) (\(path))" : host
                columns.append(.init(label: label,
                                     comparison: Comparison(base: baseRows, new: rows, threshold: threshold / 100,
                                                            alpha: alpha, timeFloor: timeFloor ?? 0)))
            }
        } catch {
            FileHandle.standardError.write(Data("bench compare: \(error)\n".utf8))
            throw ExitCode(1)
        }
        if columns.count == 1 {
            print(columns[0].comparison.render(format), terminator: "")
            throw ExitCode(columns[0].comparison.verdict.rawValue)
        }
        let table = HostComparisonTable(columns: columns)
        print(table.render(format), terminator: "")
        throw ExitCode(table.verdict.rawValue)
    }
}
