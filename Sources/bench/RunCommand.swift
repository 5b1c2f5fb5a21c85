import ArgumentParser
import Foundation
import PopulateBench

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a matrix of trials (the default: every backend and strategy this host can run)."
    )

    @Option(help: "Backends, comma-separated: \(Backend.allCases.map(\.rawValue).joined(separator: ", ")). [all]")
    var backend: String?

    @Option(help: "Strategies, comma-separated: \(Strategy.allCases.map(\.rawValue).joined(separator: ", ")). [all]")
    var strategy: String?

    @Option(help: "Region sizes per trial, comma-separated (4096, 64KiB, 256MiB, 1GiB). [per backend]")
    var size: String?

    @Option(help: "Fractions of blocks plugged, 0...1, comma-separated. [0.25]")
    var plugged: String?

    @Option(help: "Fraction of plugged pages the guest has written, 0...1. [0.5]")
    var resident: String?

    @Option(name: .customLong("block-size"), help: "Discard granularity, comma-separated. [virtio-mem's default rule]")
    var blockSize: String?

    @Option(help: "Layouts of plugged blocks: prefix, random, striped. [random]")
    var layout: String?

    @Option(help: "Seed for random layouts and resident pages. [\(RunPlan.defaultSeed)]")
    var seed: String?

    @Option(help: "Mount point for the hugetlbfs backend. [a hugetlbfs mount found in /proc/mounts]")
    var hugetlbfs: String?

    @Option(name: .customLong("hugepage-size"), help: "2MiB or 1GiB for hugetlb backends. [2MiB]")
    var hugepageSize: String?

    @Option(help: "THP advice on the region: inherit, huge, nohuge, comma-separated. [inherit]")
    var thp: String?

    @Option(help: "Repetitions of every config. [3]")
    var repetitions: String?

    @Option(help: "Warm-up trials per backend, not counted. [1]")
    var warmup: String?

    @Option(name: .customLong("trial-timeout"), help: "Seconds before a trial's child is killed. [600]")
    var trialTimeout: String?

    @Option(help: "Memory policy of the region: local, bind:N, interleave:all, interleave:N,M, preferred:N. [local]")
    var numa: String?

    @Option(name: .customLong("populate-node"), help: "Run population on the CPUs of node N. [anywhere]")
    var populateNode: String?

    @Option(name: .customLong("guest-node"), help: "Run the guest's writes on the CPUs of node N. [anywhere]")
    var guestNode: String?

    @Flag(help: "Also run the background-snapshot phase: writers, a copier and a consistency check.")
    var snapshot = false

    @Option(help: "Guest writer threads during the snapshot. [1]")
    var writers: String?

    @Option(name: .customLong("write-rate"), help: "Pages per second per writer; 0 for as fast as it can. [0]")
    var writeRate: String?

    @Option(name: .customLong("sample-interval"), help: "Sampler interval during the snapshot (1ms, 500us, 0.1s). [1ms]")
    var sampleInterval: String?

    @Option(name: .customLong("snapshot-out"), help: "File the snapshot's pages are written to. [discarded]")
    var snapshotOut: String?

    @Option(help: "How writes are tracked: sync (WP faults served by copying first, as QEMU) or async (WP_ASYNC + PAGEMAP_SCAN). [sync]")
    var tracking: String?

    @Flag(help: "Run trials that the memory guard would skip.")
    var force = false

    @Flag(help: "No progress on stderr.")
    var quiet = false

    @Option(help: "CSV file for the rows; its summary goes beside it. [results/latest.csv]")
    var out = "results/latest.csv"

    @Option(help: "What goes to stdout: table, csv, json. [table]")
    var format: String = "table"

    enum OutputFormat: String, CaseIterable { case table, csv, json }

    func run() throws {
        let host = HostCapabilities.probe()
        let plan: RunPlan
        let outputFormat: OutputFormat
        do throws(RunPlan.InputError) {
            plan = try makePlan(host: host)
            try plan.validate(host: host)
            outputFormat = try CommandLineValues.oneOf(format, flag: "--format", OutputFormat.self)
            try Self.checkWritable(out, flag: "--out", createsDirectories: true)
        } catch {
            throw ValidationError(error.description)
        }

        let runner = Runner(plan: plan, host: host, outPath: out, quiet: quiet)
        let sources = TerminationSignals.forward(to: runner)
        defer { sources.forEach { $0.cancel() } }

        let report: Runner.Report
        do {
            report = try runner.run()
        } catch {
            // Work began: not bad input (2) but a run that could not finish (1), rows so far kept.
            FileHandle.standardError.write(Data("bench: \(error)\n".utf8))
            throw ExitCode(1)
        }
        switch outputFormat {
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
    }

    /// An output file must be creatable before anything runs: bad input writes nothing. The CSV's
    /// missing directories are made; `--snapshot-out` is opened by each trial as given.
    static func checkWritable(_ path: String, flag: String, createsDirectories: Bool) throws(RunPlan.InputError) {
        guard !path.isEmpty else { throw RunPlan.InputError(flag: flag, "the path is empty") }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw RunPlan.InputError(flag: flag, "\(path) is a directory, not a file")
        }
        var directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        while createsDirectories && !FileManager.default.fileExists(atPath: directory.path) {
            directory = directory.deletingLastPathComponent()
        }
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue,
              access(directory.path, W_OK) == 0 else {
            throw RunPlan.InputError(flag: flag, "cannot write \(path): \(directory.path) is not a writable directory")
        }
    }

    func makePlan(host: HostCapabilities) throws(RunPlan.InputError) -> RunPlan {
        var plan = RunPlan()
        if let backend { plan.backends = try CommandLineValues.list(backend, flag: "--backend", Backend.self) }
        if let strategy { plan.strategies = try CommandLineValues.list(strategy, flag: "--strategy", Strategy.self) }
        if let size { plan.sizes = try CommandLineValues.sizes(size, flag: "--size") }
        if let plugged { plan.pluggedFractions = try CommandLineValues.fractions(plugged, flag: "--plugged") }
        if let resident { plan.residentFraction = try CommandLineValues.fraction(resident, flag: "--resident") }
        if let blockSize { plan.blockSizes = try CommandLineValues.sizes(blockSize, flag: "--block-size") }
        if let layout { plan.layouts = try CommandLineValues.list(layout, flag: "--layout", DiscardMap.Layout.self) }
        if let thp { plan.thpModes = try CommandLineValues.list(thp, flag: "--thp", THPMode.self) }
        if let seed {
            guard let value = UInt64(seed) else { throw .init(flag: "--seed", "'\(seed)' is not a whole number ≥ 0") }
            plan.seed = value
        }
        if let hugepageSize {
            plan.hugePageSize = try CommandLineValues.sizes(hugepageSize, flag: "--hugepage-size").first!
        }
        if let repetitions { plan.repetitions = try CommandLineValues.integer(repetitions, flag: "--repetitions") }
        if let warmup { plan.warmup = try CommandLineValues.integer(warmup, flag: "--warmup") }
        if let trialTimeout {
            guard let value = Double(trialTimeout), value > 0 else {
                throw .init(flag: "--trial-timeout", "'\(trialTimeout)' is not a positive number of seconds")
            }
            plan.trialTimeout = value
        }
        plan.force = force
        let snapshotFlags = [("--writers", writers), ("--write-rate", writeRate), ("--sample-interval", sampleInterval),
                             ("--snapshot-out", snapshotOut), ("--tracking", tracking)]
        if !snapshot, let (flag, _) = snapshotFlags.first(where: { $0.1 != nil }) {
            throw .init(flag: flag, "applies to the snapshot phase only; add --snapshot")
        }
        if snapshot {
            var options = SnapshotOptions()
            if let writers { options.writers = try CommandLineValues.integer(writers, flag: "--writers") }
            if let writeRate {
                guard let rate = Double(writeRate), rate >= 0, rate.isFinite else {
                    throw .init(flag: "--write-rate", "'\(writeRate)' is not a number of pages per second ≥ 0")
                }
                options.writeRate = rate
            }
            if let sampleInterval {
                options.sampleInterval = try CommandLineValues.duration(sampleInterval, flag: "--sample-interval")
            }
            if let snapshotOut {
                try Self.checkWritable(snapshotOut, flag: "--snapshot-out", createsDirectories: false)
                options.outputPath = snapshotOut
            }
            if let tracking {
                options.tracking = try CommandLineValues.oneOf(tracking, flag: "--tracking", SnapshotOptions.Tracking.self)
            }
            plan.snapshot = options
        }
        if let numa {
            do {
                plan.numaPolicy = try NUMAPolicyText.parse(numa, nodes: host.numaAvailable ? host.numaNodes.map(\.id) : [])
            } catch { throw .init(flag: "--numa", error.description) }
        }
        if let populateNode { plan.populateNode = try CommandLineValues.integer(populateNode, flag: "--populate-node") }
        if let guestNode { plan.guestNode = try CommandLineValues.integer(guestNode, flag: "--guest-node") }
        if let hugetlbfs {
            plan.hugetlbfsPath = hugetlbfs
        } else if backend != nil && plan.backends.contains(.hugetlbfs) {
            guard let found = HugetlbfsMounts.find(pageSize: plan.hugePageSize) else {
                throw .init(flag: "--hugetlbfs", "the hugetlbfs backend needs a mount point (--hugetlbfs PATH); "
                    + "none with \(ByteSize.format(plan.hugePageSize)) pages is mounted")
            }
            plan.hugetlbfsPath = found
        } else {
            plan.hugetlbfsPath = HugetlbfsMounts.find(pageSize: plan.hugePageSize)
        }
        return plan
    }
}

/// Parsing of the comma-separated values of CONTRACT.md, with errors that name the flag.
enum CommandLineValues {
    static func items(_ text: String, flag: String) throws(RunPlan.InputError) -> [String] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard !items.isEmpty, !items.contains("") else {
            throw RunPlan.InputError(flag: flag, "'\(text)' has an empty entry")
        }
        return items
    }

    static func list<T: RawRepresentable & CaseIterable>(
        _ text: String, flag: String, _: T.Type
    ) throws(RunPlan.InputError) -> [T] where T.RawValue == String {
        try items(text, flag: flag).map { item throws(RunPlan.InputError) in
            try oneOf(item, flag: flag, T.self)
        }
    }

    static func oneOf<T: RawRepresentable & CaseIterable>(
        _ item: String, flag: String, _: T.Type
    ) throws(RunPlan.InputError) -> T where T.RawValue == String {
        guard let value = T(rawValue: item) else {
            throw RunPlan.InputError(flag: flag, "unknown value '\(item)' (accepted: "
                + T.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
        return value
    }

    static func sizes(_ text: String, flag: String) throws(RunPlan.InputError) -> [Int] {
        try items(text, flag: flag).map { item throws(RunPlan.InputError) in
            do { return try ByteSize.parse(item) } catch { throw RunPlan.InputError(flag: flag, "\(error)") }
        }
    }

    static func fraction(_ item: String, flag: String) throws(RunPlan.InputError) -> Double {
        guard let value = Double(item), value.isFinite else {
            throw RunPlan.InputError(flag: flag, "'\(item)' is not a number in 0...1")
        }
        guard (0 ... 1).contains(value) else { throw RunPlan.InputError(flag: flag, "\(item) is outside 0...1") }
        return value
    }

    static func fractions(_ text: String, flag: String) throws(RunPlan.InputError) -> [Double] {
        try items(text, flag: flag).map { item throws(RunPlan.InputError) in try fraction(item, flag: flag) }
    }

    /// `1ms`, `500us`, `0.25s`, or plain seconds.
    static func duration(_ text: String, flag: String) throws(RunPlan.InputError) -> Double {
        let units: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("s", 1), ("", 1)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value > 0, value.isFinite { return value * scale }
        }
        throw RunPlan.InputError(flag: flag, "'\(text)' is not a positive duration (1ms, 500us, 0.25s)")
    }

    static func integer(_ item: String, flag: String) throws(RunPlan.InputError) -> Int {
        guard let value = Int(item) else { throw RunPlan.InputError(flag: flag, "'\(item)' is not a whole number") }
        return value
    }
}
