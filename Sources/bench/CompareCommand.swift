import ArgumentParser
import Foundation
import PopulateBench

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Regression gate: exit 0 same, 2 regression, 4 only improvements, 1 unusable input."
    )

    @Argument(help: "The baseline CSV (raw rows of bench run).")
    var base: String

    @Argument(help: "The new CSV.")
    var new: String

    @Option(help: "Time change, in %, that counts as a finding. [10]")
    var threshold: String = "10"

    @Option(help: "text or markdown (for CI summaries). [text]")
    var format: String = "text"

    func run() throws {
        guard let percent = Double(threshold), percent >= 0, percent.isFinite else {
            throw ValidationError("--threshold: '\(threshold)' is not a percentage ≥ 0")
        }
        guard let outputFormat = Comparison.Format(rawValue: format) else {
            throw ValidationError("--format: unknown value '\(format)' (accepted: text, markdown)")
        }
        let comparison: Comparison
        do {
            comparison = Comparison(base: try Comparison.load(base), new: try Comparison.load(new),
                                    threshold: percent / 100)
        } catch {
            FileHandle.standardError.write(Data("bench compare: \(error)\n".utf8))
            throw ExitCode(1)
        }
        print(comparison.render(outputFormat), terminator: "")
        throw ExitCode(comparison.verdict.rawValue)
    }
}
