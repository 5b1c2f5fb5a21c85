import ArgumentParser
import PopulateBench
import Experiments
import Results
import VMM

/// The background-snapshot phase's options: each one needs `--snapshot`.
struct SnapshotArguments: ParsableArguments {
    static let defaults = SnapshotOptions()

    @Flag(help: "Also run the background-snapshot phase: writers, a copier and a consistency check.")
    var snapshot = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Guest writer threads during the snapshot. (default: \(defaults.writers))",
                               valueName: "n"))
    var writers: Int?

    @Option(name: .customLong("write-rate"), parsing: .unconditional,
            help: ArgumentHelp("Pages per second per writer; 0 for as fast as it can. (default: \(defaults.writeRate))",
                               valueName: "pages-per-s"))
    var writeRate: Double?

    @Option(name: .customLong("sample-interval"),
            help: ArgumentHelp("Sampler interval during the snapshot: 1ms, 500us, 0.1s. (default: 1ms)",
                               valueName: "duration"),
            transform: ArgumentValues.duration)
    var sampleInterval: Double?

    @Option(name: .customLong("snapshot-out"),
            help: ArgumentHelp("File the snapshot's pages are written to. (default: discarded)", valueName: "file"),
            completion: .file())
    var snapshotOut: String?

    @Option(help: ArgumentHelp("How writes are tracked: sync (WP faults served by copying first, as QEMU) or "
        + "async (WP_ASYNC + PAGEMAP_SCAN). (default: \(defaults.tracking.rawValue))"))
    var tracking: SnapshotOptions.Tracking?

    @Option(name: .customLong("fault-service"),
            help: ArgumentHelp("Who serves write faults with sync tracking: migration-thread (QEMU's: between "
                + "pages, by the thread that copies) or handler-thread (a thread of its own, at once). "
                + "(default: \(defaults.faultService.rawValue))"))
    var faultService: SnapshotOptions.FaultService?

    @Option(name: .customLong("cancel-at"), parsing: .unconditional,
            help: ArgumentHelp("Cancel the snapshot once this fraction of the plugged memory is copied (0 < f < 1) and "
                + "measure what the cancel leaves: protection, registration, whether a guest writer hangs.",
                valueName: "fraction"))
    var cancelAt: Double?

    mutating func validate() throws {
        if snapshot, faultService != nil, tracking == .async {
            throw ValidationError("--fault-service: async tracking has no faults to serve; drop one of them")
        }
        if let cancelAt {
            try Self.checkCancelFraction(cancelAt)
            if snapshot, tracking == .async {
                throw ValidationError("--cancel-at: async tracking never holds a writer, so there is nothing for a cancel "
                    + "to leave behind; use --tracking sync")
            }
        }
        guard !snapshot else { return }
        let given: [(String, Bool)] = [("--fault-service", faultService != nil),
                                       ("--writers", writers != nil), ("--write-rate", writeRate != nil),
                                       ("--sample-interval", sampleInterval != nil),
                                       ("--snapshot-out", snapshotOut != nil), ("--tracking", tracking != nil),
                                       ("--cancel-at", cancelAt != nil)]
        if let (flag, _) = given.first(where: \.1) {
            throw ValidationError("\(flag): applies to the snapshot phase only; add --snapshot")
        }
    }

    /// The phase's options, or nil without `--snapshot`.
    func options() throws -> SnapshotOptions? {
        guard snapshot else { return nil }
        var options = Self.defaults
        if let writers { options.writers = writers }
        if let writeRate {
            guard writeRate >= 0, writeRate.isFinite else {
                throw ValidationError("--write-rate: '\(writeRate)' is not a number of pages per second ≥ 0")
            }
            options.writeRate = writeRate
        }
        if let sampleInterval { options.sampleInterval = sampleInterval }
        if let snapshotOut {
            try OutputPath.checkWritable(snapshotOut, flag: "--snapshot-out", createsDirectories: false)
            options.outputPath = snapshotOut
        }
        if let tracking { options.tracking = tracking }
        if let faultService { options.faultService = faultService }
        options.cancelAt = cancelAt
        return options
    }

    /// A cancel needs a copy under way: strictly between nothing copied and everything.
    static func checkCancelFraction(_ fraction: Double) throws {
        guard fraction > 0, fraction < 1 else {
            throw ValidationError("--cancel-at: '\(fraction)' is not a fraction of the copy strictly between 0 and 1")
        }
    }
}
