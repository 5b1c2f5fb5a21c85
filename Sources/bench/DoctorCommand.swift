import LinuxMM
import ArgumentParser
import Foundation
import PopulateBench
import Experiments
import Results
import VMM

struct DoctorCommand: ParsableCommand, BadInputExitCode {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "What this host offers, and which backends and strategies can run here.",
        discussion: "With --recommend it also measures every strategy with a background snapshot on the "
            + "backends, sizes and plugged fractions given, and names the cheapest one that kept the snapshot "
            + "consistent here, with its memory and time against qemu-6.1 and why each other one was ruled out."
    )

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Flag(help: "Measure every strategy here and name the cheapest consistent one per configuration.")
    var recommend = false

    @OptionGroup(title: "With --recommend") var matrix: MatrixArguments

    @Option(help: "Repetitions of every strategy with --recommend.")
    var repetitions: Int = 2

    @Flag(help: "No progress on stderr with --recommend.")
    var quiet = false

    @Option(help: ArgumentHelp("CSV file for the rows --recommend measured.", valueName: "path"),
            completion: .file(extensions: ["csv"]))
    var out = "results/recommend.csv"

    func validate() throws {
        if !recommend && (matrix.backend != nil || matrix.size != nil || matrix.plugged != nil) {
            throw ValidationError("--backend, --size and --plugged apply to --recommend only; add --recommend")
        }
        guard repetitions >= 1 else { throw ValidationError("--repetitions: must be at least 1, not \(repetitions)") }
        if recommend {
            _ = try recommendationPlan(host: HostCapabilities.probe())
            try OutputPath.checkWritable(out, flag: "--out", createsDirectories: true)
            if let problem = ChildTrialLauncher.problem(with: ChildTrialLauncher.besideCurrentExecutable) {
                throw ValidationError(problem)
            }
        }
    }

    func run() throws {
        let host = HostCapabilities.probe()
        guard recommend else {
            var plan = RunPlan(strategies: Strategy.allCases)
            try? plan.locateHugetlbfs(path: nil, required: false)
            return try printReport(DoctorReport(host: host, plan: plan, activity: try? HostActivity.measure()))
        }
        let plan = try recommendationPlan(host: host)
        let runner = Runner(TrialExperiment(plan: plan, host: host), outPath: out, progress: TerminalProgress(quiet: quiet))
        let report: Runner.Report
        do {
            report = try runner.run()
        } catch {
            FileHandle.standardError.write(Data("bench doctor: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let recommendation = StrategyRecommendation(results: report.results)
        print(recommendation.renderText())
        fflush(nil)
        if !quiet { FileHandle.standardError.write(Data("bench doctor: measured rows: \(report.rawPath)\n".utf8)) }
        // Interrupted, the recommendation above is of the strategies measured so far.
        if let signal = report.interruptedBy { throw ExitCode(Signals.exitCode(signal)) }
    }

    private func printReport(_ report: DoctorReport) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.renderText())
        }
    }

    /// The backends this host can run (or those asked for), every strategy, with a snapshot.
    func recommendationPlan(host: HostCapabilities) throws -> RunPlan {
        var plan = RunPlan()
        matrix.apply(to: &plan)
        plan.repetitions = repetitions
        do {
            return try StrategyRecommendation.plan(plan, backendsNamed: matrix.backend != nil, host: host)
        } catch {
            throw ValidationError(error.commandLineText)
        }
    }
}
