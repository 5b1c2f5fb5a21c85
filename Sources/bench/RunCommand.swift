import ArgumentParser
import Foundation
import LinuxMM
import PopulateBench
import Experiments
import Results
import VMM

struct RunCommand: ParsableCommand, BadInputExitCode {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a matrix of trials (the default: every backend and strategy this host can run).",
        discussion: "Lists are comma-separated; sizes take 4096, 64KiB, 256MiB, 1GiB. Exit codes: 0 every trial "
            + "ok or skipped with a reason, 1 a trial failed or an error after work began (rows kept), 2 bad input "
            + "(nothing written), 129/130/143 stopped by SIGHUP/SIGINT/SIGTERM (whole trials kept)."
    )

    /// The single source of every default the help text shows.
    static let defaults = RunPlan()

    @OptionGroup var matrix: MatrixArguments

    @Option(name: .customLong("matrix"),
            help: ArgumentHelp("A named matrix whose lists replace the defaults: \(ArgumentValues.accepted(RunPlan.Matrix.self)) "
                + "(anon-private and memfd-shmem, 1GiB to 1TiB, full-madvise and full-touch; see docs/cli.md). "
                + "Flags given beside it override its lists.", valueName: "name"))
    var namedMatrix: RunPlan.Matrix?

    @Option(help: ArgumentHelp("Strategies, comma-separated: \(ArgumentValues.accepted(Strategy.self)). (default: all)",
                               valueName: "list"),
            completion: .list(Strategy.allValueStrings),
            transform: ArgumentValues.list)
    var strategy: [Strategy]?

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Fractions of plugged pages the guest has written, 0...1, comma-separated. "
        + "(default: \(defaults.residentFractions.map { "\($0)" }.joined(separator: ",")))", valueName: "list"),
            transform: ArgumentValues.fractions)
    var resident: [Double]?

    @Option(name: .customLong("block-size"),
            help: ArgumentHelp("Discard granularity, comma-separated. (default: virtio-mem's rule: the THP size, "
                + "or max(page size, 1MiB) on hugetlb)", valueName: "list"),
            transform: ArgumentValues.sizes)
    var blockSize: [Int]?

    @Option(help: ArgumentHelp("Layouts of plugged blocks: prefix, random, striped; last in the list, "
        + "ranges:START-END,... (exactly those plugged, e.g. ranges:0-128MiB,256MiB-384MiB) or file:PATH (a range "
        + "per line). (default: \(defaults.layouts.map(\.name).joined(separator: ",")))", valueName: "list"),
            completion: .list(DiscardMap.Layout.allValueStrings),
            transform: ArgumentValues.layouts)
    var layout: LayoutArgument?

    @Option(parsing: .unconditional, help: "Seed for random layouts and resident pages.")
    var seed: UInt64 = defaults.seed

    @Option(help: ArgumentHelp("Mount point for the hugetlbfs backend. (default: a hugetlbfs mount of each "
        + "--hugepage-size found in /proc/mounts)", valueName: "path"),
            completion: .directory)
    var hugetlbfs: String?

    @Option(name: .customLong("hugepage-size"),
            help: ArgumentHelp("Huge page sizes for the hugetlb backends, 2MiB and/or 1GiB; each is its own config. "
                + "(default: \(defaults.hugePageSizes.map(ByteSize.format).joined(separator: ",")))",
                valueName: "list"),
            transform: ArgumentValues.sizes)
    var hugepageSize: [Int]?

    @Option(help: ArgumentHelp("THP advice on the region: \(ArgumentValues.accepted(THPMode.self)), comma-separated. "
        + "(default: \(defaults.thpModes.map(\.rawValue).joined(separator: ",")))", valueName: "list"),
            completion: .list(THPMode.allValueStrings),
            transform: ArgumentValues.list)
    var thp: [THPMode]?

    @Option(parsing: .unconditional, help: "Repetitions of every config.")
    var repetitions: Int = defaults.repetitions

    @Option(parsing: .unconditional, help: "Warm-up trials per backend, not counted.")
    var warmup: Int = defaults.warmup

    @Option(name: .customLong("trial-timeout"), parsing: .unconditional, help: ArgumentHelp("Seconds before a trial's child is killed.",
                                                                   valueName: "seconds"))
    var trialTimeout: Double = defaults.trialTimeout

    @Option(help: ArgumentHelp("Memory policy of the region: local, bind:N, interleave:all, interleave:N,M, "
        + "preferred:N. (default: local)", valueName: "policy"),
            transform: ArgumentValues.numaPolicy)
    var numa: NUMAPolicyText.Spec?

    @Option(name: .customLong("populate-node"), parsing: .unconditional,
            help: ArgumentHelp("Run population on the CPUs of node N. (default: anywhere)", valueName: "node"))
    var populateNode: Int?

    @Option(name: .customLong("guest-node"), parsing: .unconditional,
            help: ArgumentHelp("Run the guest's writes on the CPUs of node N. (default: anywhere)", valueName: "node"))
    var guestNode: Int?

    @OptionGroup var snapshot: SnapshotArguments

    @Flag(help: "Run trials that the memory guard would skip.")
    var force = false

    @Flag(help: "No progress on stderr.")
    var quiet = false

    @Option(help: ArgumentHelp("CSV file for the rows; its summary goes beside it.", valueName: "path"),
            completion: .file(extensions: ["csv"]))
    var out = "results/latest.csv"

    @Option(help: ArgumentHelp("The /proc/vmstat counters each phase records, as vmstat_* columns: none, or "
        + "vmstat:NAME,... (default: vmstat:" + VMStatMonitor.defaultCounters.joined(separator: ",") + ").",
                               valueName: "monitor"),
            transform: ArgumentValues.monitor)
    var monitor: [String]?

    @Option(help: ArgumentHelp("Push the results to this Prometheus Pushgateway (http://HOST:9091), grouped by "
        + "host and run id.", valueName: "url"))
    var push: String?

    enum OutputFormat: String, CaseIterable, ExpressibleByArgument { case table, csv, json }

    @Option(help: "What goes to stdout.")
    var format: OutputFormat = .table

    mutating func validate() throws {
        if let layouts = layout?.layouts, layouts.allSatisfy({ $0.pluggedRanges != nil }), matrix.plugged != nil {
            throw ValidationError("--plugged: the ranges layout plugs exactly its ranges; leave --plugged out")
        }
        _ = try makePlan(host: HostCapabilities.probe())
        _ = try gateway()
        try ArgumentValues.checkMonitored(monitor)
        try OutputPath.checkWritable(out, flag: "--out", createsDirectories: true)
        if let problem = ChildTrialLauncher.problem(with: ChildTrialLauncher.besideCurrentExecutable) {
            throw ValidationError(problem)
        }
    }

    /// The Pushgateway of `--push`, or nil.
    func gateway() throws -> Pushgateway? {
        guard let push else { return nil }
        do { return try Pushgateway(url: push) } catch { throw ValidationError("--push: \(error)") }
    }

    func run() throws {
        let host = HostCapabilities.probe()
        let plan = try makePlan(host: host)
        let gateway = try gateway()
        let runner = Runner(TrialExperiment(plan: plan, host: host), outPath: out, progress: TerminalProgress(quiet: quiet))

        let report: Runner.Report
        do {
            report = try runner.run()
        } catch {
            // Work began: what was written stays, and the cause is one line (docs/cli.md: 1, never 2).
            FileHandle.standardError.write(Data("bench: \(error)\n".utf8))
            throw ExitCode(1)
        }
        switch format {
        case .table:
            print(SummaryReport.render(summary: report.summary))
        case .csv:
            print(CSV.line(ResultTable.columns) + report.rows.map { CSV.line($0, columns: ResultTable.columns) }.joined(),
                  terminator: "")
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report.results), as: UTF8.self))
        }
        // A push that fails after the run is an error after work began: exit 1, the CSV stays.
        var pushFailed = false
        if let gateway {
            do {
                let groups = try gateway.push(rows: report.rows)
                if !quiet {
                    FileHandle.standardError.write(Data("bench: pushed to \(groups.map(\.absoluteString).joined(separator: ", "))\n".utf8))
                }
            } catch {
                FileHandle.standardError.write(Data("bench: \(error)\n".utf8))
                pushFailed = true
            }
        }
        let failed = report.failedCount
        let skipped = report.results.filter { $0.status == .skipped }.count
        var closing = "bench: \(report.results.count) trials: \(report.results.count - failed - skipped) ok, "
            + "\(skipped) skipped, \(failed) failed. Rows: \(report.rawPath); summary: \(report.summaryPath)"
        if let signal = report.interruptedBy {
            closing = "bench: interrupted by \(Signals.name(signal)); " + closing.dropFirst(7)
        }
        // The closing line comes last, after the table, even when both streams go to one file.
        fflush(nil)
        if !quiet || report.exitCode != 0 {
            FileHandle.standardError.write(Data((closing + "\n").utf8))
        }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
        if pushFailed { throw ExitCode(1) }
    }

    /// The plan the flags describe, checked against this host; the first problem names its flag.
    func makePlan(host: HostCapabilities) throws -> RunPlan {
        var plan = Self.defaults
        namedMatrix?.apply(to: &plan)
        matrix.apply(to: &plan)
        if let strategy { plan.strategies = strategy }
        if let resident { plan.residentFractions = resident }
        if let blockSize { plan.blockSizes = blockSize }
        if let layout {
            plan.layouts = layout.layouts
        }
        if let thp { plan.thpModes = thp }
        if let hugepageSize { plan.hugePageSizes = hugepageSize }
        plan.seed = seed
        plan.repetitions = repetitions
        plan.warmup = warmup
        plan.trialTimeout = trialTimeout
        plan.force = force
        plan.populateNode = populateNode
        plan.guestNode = guestNode
        plan.snapshot = try snapshot.options()
        if let monitor { plan.vmstatCounters = monitor }
        do throws(RunPlan.InputError) {
            if let numa {
                do {
                    plan.numaPolicy = try NUMAPolicyText.resolve(numa, nodes: host.numaAvailable ? host.numaNodes.map(\.id) : [])
                } catch { throw RunPlan.InputError(.numaPolicy, error.description) }
            }
            try plan.locateHugetlbfs(path: hugetlbfs,
                                     required: matrix.backend?.contains(where: \.declaration.isFileInHugetlbfsMount) ?? false)
            try plan.validate(host: host)
        } catch {
            throw ValidationError(error.commandLineText)
        }
        return plan
    }
}
