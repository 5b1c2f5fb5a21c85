import LinuxMM
import SystemPackage
import Foundation

/// One trial in the calling process, top to bottom as the data flows: allocate, plug, discard,
/// populate, protect, tear down. Run it in a process of its own (`bench-trial`, started by `ChildTrialLauncher`): VmPTE and
/// RSS are per process, and a clean one gives a clean baseline.
public struct Trial {
    public let config: TrialConfig
    public let host: HostCapabilities
    public var measuresPlacement = true
    /// The `/proc/vmstat` counters read at each phase's edges (`--monitor`).
    public var vmstatCounters: [String] = []
    /// False under `--force`: a hugetlb pool that looks too small is left to the kernel to refuse.
    public var checksPoolSize: Bool

    public init(config: TrialConfig, host: HostCapabilities, checksPoolSize: Bool = true) {
        self.config = config
        self.host = host
        self.checksPoolSize = checksPoolSize
    }

    /// Runs the trial; a skip or a failure is a result, not an error.
    public func run() -> TrialResult {
        var result = outcome()
        result.thp = host.thp
        return result
    }

    private func outcome() -> TrialResult {
        if let reason = host.skipReason(for: config, checkingPoolSize: checksPoolSize) {
            return TrialResult(config: config, status: .skipped, reason: reason)
        }
        do {
            return try measure()
        } catch let error as PoolTooSmall {
            return TrialResult(config: config, status: .skipped, reason: error.description)
        } catch {
            return TrialResult(config: config, status: .failed, reason: "\(error)")
        }
    }

    private func measure() throws -> TrialResult {
        let map = config.discardMap
        var model = CostModel(backing: host.backing(for: config), regionSize: config.regionBytes)
        let setupStart = MonotonicClock.now()
        let region = try allocate()
        var protection: Userfaultfd?
        var tornDown = false
        // A writer of a cancelled snapshot that nobody could let go would fault on an unmapped
        // region: then the region stays, with its userfaultfd, until the process ends.
        var keepMapped = false
        // Unmapped before the userfaultfd closes: closing it first makes the kernel clear the
        // uffd-wp bit of every entry of the registered region, as long again as protecting it.
        func tearDown() throws {
            tornDown = true
            // The userfaultfd is closed whatever the unmap did, and after it.
            do {
                try region.teardown()
            } catch {
                try? protection?.close()
                throw error
            }
            try protection?.close()
        }
        defer { if !tornDown && !keepMapped { try? tearDown() } }
        /// The trial's result once the region is gone, with what its set-up and teardown took.
        func finished(_ phases: [PhaseResult], setupSeconds: Double) throws -> TrialResult {
            let start = MonotonicClock.now()
            try tearDown()
            var result = TrialResult(config: config, status: .ok, phases: phases)
            result.setupSeconds = setupSeconds
            result.teardownSeconds = MonotonicClock.now() - start
            return result
        }

        if config.numaPolicy != .local { try NUMA.apply(config.numaPolicy, to: region.mapping) }
        try NUMA.onNode(config.guestNode) { config.guestPattern.plug(region, map: map, model: &model) }
        try map.replayDiscarded { range in
            try region.discard(range)
            model.discard(range)
        }

        let setupSeconds = MonotonicClock.now() - setupStart

        // The first sample initializes what sampling needs (runtime metadata, buffers) after it has
        // read VmPTE; a throwaway one keeps that out of the populate row.
        _ = try Sample.take(hugePageSize: config.pageBytes)
        let placement = measuresPlacement ? try PlacementLedger(region: region) : nil
        let populateRanges = config.strategy.populateRanges(regionSize: region.size, map: map)
        var populate = PhaseResult(phase: .populate)
        populate.expected = populateRanges.reduce(CostModel.Cost()) { $0 + model.read($1) }
        try NUMA.onNode(config.populateNode) {
            try measurePhase(&populate, placement: placement, changing: populateRanges) {
                let stride = config.strategy.touchStride(pageSize: region.pageSize, basePageSize: host.basePageSize)
                for range in populateRanges {
                    try Population.populate(region.slice(range), stride: stride, method: config.strategy.populateMethod)
                }
                return populateRanges.reduce(0) { $0 + $1.count }
            }
        }

        let protectRanges = config.strategy.protectRanges(regionSize: region.size, map: map)
        let features = host.requiredFeatures(for: config)
        // UFFDIO_API turns WP_UNPOPULATED on with WP_ASYNC (fs/userfaultfd.c, userfaultfd_api).
        let marksEmpty = config.backend.protectionMarksEmptyEntries || !features.isDisjoint(with: [.wpUnpopulated, .wpAsync])
        var protect = PhaseResult(phase: .protect)
        protect.expected = protectRanges.reduce(CostModel.Cost()) {
            $0 + model.protect($1, marksEmptyEntries: marksEmpty)
        }
        var stepSeconds: (register: Double, writeProtect: Double) = (0, 0)
        try measurePhase(&protect, placement: placement,
                         changing: PlacementLedger.rangesChanged(byProtecting: protectRanges, backend: config.backend)) {
            let start = MonotonicClock.now()
            let uffd = try Userfaultfd.open(features: features)
            protection = uffd
            // Like QEMU's ram_write_tracking_start: the whole block is registered, only the
            // strategy's ranges protected (registering each run would split the VMA per run).
            try uffd.register(region.mapping, mode: .writeProtect)
            let registered = MonotonicClock.now()
            for range in protectRanges { try uffd.writeProtect(region.slice(range), true) }
            stepSeconds = (registered - start, MonotonicClock.now() - registered)
            return protectRanges.reduce(0) { $0 + $1.count }
        }
        protect.registerSeconds = stepSeconds.register
        protect.writeProtectSeconds = stepSeconds.writeProtect

        guard let options = config.snapshot, let tracker = protection else {
            return try finished([populate, protect], setupSeconds: setupSeconds)
        }
        var snapshot = PhaseResult(phase: .snapshot)
        let sink = try options.outputPath.map { path throws(SystemCallError) in
            try FileDescriptor.open(path: path, .writeOnly, options: [.create, .truncate],
                                    permissions: [.ownerReadWrite, .groupRead, .otherRead])
        }
        defer { try? sink?.close() }
        let run = SnapshotRun(region: region, tracker: tracker, pattern: config.guestPattern, map: map,
                              protectRanges: protectRanges, onCancel: config.strategy.declaration.onCancel,
                              options: options, seed: config.seed, sink: sink, guestNode: config.guestNode)
        // What the copy starts from, for what a cancel leaves: protection holds where an entry exists
        // (populated, or written by the guest) or where the kernel marks empty entries.
        let protectedAtStart = options.cancelAt == nil ? nil
            : Self.protectedPages(protectRanges, populated: populateRanges, model: model, marksEmpty: marksEmpty,
                                  pageSize: region.pageSize)
        var outcome: SnapshotOutcome?
        // Whatever happens next, no writer of a cancelled snapshot outlives the region.
        defer {
            if run.guestWritesAfterCancel()?.failure != nil { keepMapped = true }
        }
        // The copier, the writers, the sampler and the fault handler all spend the phase's CPU.
        // Writers write plugged pages and the copier reads them; nothing else is touched.
        // Without writers the copy only reads: it costs what reading the plugged runs costs.
        if options.writers == 0 {
            snapshot.expected = map.pluggedRuns.reduce(CostModel.Cost()) { $0 + model.read($1) }
        }
        // One pass over the plugged runs for the map and what is there before the copy: nothing
        // else of the region changes in the snapshot.
        var tracked = try ProcessPagemap.protectionMap(pid: getpid(), start: region.mapping.address, runs: map.pluggedRuns)
        tracked.showsProtection = host.interfaces.pagemapWriteProtectBit
        snapshot.protectionMap = tracked
        // The shared zero page is present but not the process's: on private anonymous memory only
        // exclusive pages are data.
        let anonymous = !config.backend.readAllocatesPages
        let presentBefore = anonymous ? tracked.exclusiveBytes : tracked.populatedBytes
        try measurePhase(&snapshot, placement: placement, changing: map.pluggedRuns, wholeProcess: true) {
            let result = try run.run()
            outcome = result
            return result.copiedPages * region.pageSize
        }
        snapshot.regionDataBytes = try map.pluggedRuns.reduce(0) { total, run in
            try total + ProcessPagemap.presentRuns(pid: getpid(), start: region.mapping.address + UInt(run.lowerBound),
                                                   length: run.count, exclusiveOnly: anonymous).reduce(0) { $0 + $1.count }
        } - presentBefore
        if let outcome {
            // After a cancel the guest writes once more (now that the phase's memory is read); only
            // then are the snapshot's writers joined and their writes counted.
            let afterCancel = run.guestWritesAfterCancel()
            if let failure = afterCancel?.failure { throw SnapshotError(message: failure) }
            snapshot.wpFaults = outcome.wpFaults
            snapshot.writes = afterCancel?.writes ?? outcome.writes
            snapshot.writtenPages = outcome.writtenPages
            snapshot.inconsistentPages = outcome.inconsistentPages
            snapshot.samples = outcome.samples
            snapshot.peakRSSBytes = outcome.samples.map(\.rssBytes).max()
            snapshot.peakPTEBytes = outcome.samples.map(\.pteBytes).max()
            snapshot.samplerCPUSeconds = outcome.samplerCPUSeconds
            if options.tracking == .sync {
                snapshot.stalls = afterCancel?.stalls ?? outcome.stalls
                snapshot.faultsServedByCopier = outcome.faultsServedByCopier
            }
            if var cancel = outcome.cancel, let protectedAtStart, let copied = outcome.copiedAtCancel, let afterCancel {
                cancel.guestAlive = afterCancel.alive
                cancel.guestWaitSeconds = afterCancel.seconds
                if !host.interfaces.pagemapWriteProtectBit { cancel.protectedBytes = nil }
                cancel.modelProtectedBytes = config.strategy.declaration.onCancel == .stopsTracking ? 0
                    : Self.pagesLeftProtected(protectedAtStart, copied: copied) * region.pageSize
                snapshot.cancel = cancel
            }
        }
        return try finished([populate, protect, snapshot], setupSeconds: setupSeconds)
    }

    /// The pages `protectRanges` write-protect: with markers, all of them; else those with an entry.
    static func protectedPages(_ protectRanges: [Range<Int>], populated: [Range<Int>], model: CostModel, marksEmpty: Bool,
                               pageSize: Int) -> PageSet {
        let pages = model.regionSize / pageSize
        var entries = model.presentPages
        for range in populated { _ = entries.insert(range.lowerBound / pageSize ..< range.upperBound / pageSize) }
        var result = PageSet(capacity: pages)
        for range in protectRanges {
            let pagesOfRange = range.lowerBound / pageSize ..< range.upperBound / pageSize
            if marksEmpty {
                _ = result.insert(pagesOfRange)
                continue
            }
            for page in pagesOfRange where entries.contains(page) { _ = result.insert(page ..< page + 1) }
        }
        return result
    }

    /// Of the pages protected when the copy began, those it had not copied (and so not released).
    static func pagesLeftProtected(_ protectedAtStart: PageSet, copied: PageSet) -> Int {
        var left = 0
        var page = protectedAtStart.first(atOrAfter: 0)
        while let current = page {
            if !copied.contains(current) { left += 1 }
            page = protectedAtStart.first(atOrAfter: current + 1)
        }
        return left
    }

    /// Maps the region; a hugetlb mapping the pool cannot back (mmap reserves every huge page) is a skip.
    private func allocate() throws -> Region {
        do {
            return try Region.allocate(.init(backend: config.backend, size: config.regionBytes,
                                             pageSize: config.pageBytes, thp: config.thp,
                                             hugetlbfsPath: config.hugetlbfsPath, noReserve: config.noReserve))
        } catch let error as SystemCallError where config.backend.isHugetlb && error.errno == Errno.noMemory.rawValue {
            throw PoolTooSmall(description: "\(error): the \(ByteSize.format(config.pageBytes)) hugetlb pool is too small")
        }
    }

    /// Samples around `body`, times it, and fills the phase's measured columns; `changing` are
    /// the ranges of the region whose placement the phase can change (see `PlacementLedger`).
    private func measurePhase(_ result: inout PhaseResult, placement: PlacementLedger?, changing: [Range<Int>],
                              wholeProcess: Bool = false, _ body: () throws -> Int) throws {
        try placement?.begin(changing: changing)
        let processBefore = wholeProcess ? try ResourceUsage.currentProcess() : nil
        let readsHugeMappings = host.transparentHuge(backend: config.backend, advice: config.thp)
        let vmstatNodes = VMStatMonitor.nodes(of: host.numaNodes)
        let before = try Sample.take(hugePageSize: config.pageBytes, readsHugeMappings: readsHugeMappings,
                                      vmstat: vmstatCounters, vmstatNodes: vmstatNodes)
        let start = MonotonicClock.now()
        result.touchedBytes = try body()
        result.seconds = MonotonicClock.now() - start
        let after = try Sample.take(hugePageSize: config.pageBytes, readsHugeMappings: readsHugeMappings,
                                      vmstat: vmstatCounters, vmstatNodes: vmstatNodes)
        result.delta = MemoryDelta(from: before, to: after)
        result.startRSSBytes = before.status.vmRSS
        result.startPTEBytes = before.status.vmPTE
        let usage = try processBefore.map { processBefore in
            (processBefore, try ResourceUsage.currentProcess())
        } ?? (before.usage, after.usage)
        result.cpuSeconds = usage.1.cpuSeconds - usage.0.cpuSeconds
        result.minorFaults = usage.1.minorFaults - usage.0.minorFaults
        if let placement { result.numaPages = try placement.end().columnText }
    }
}


struct PoolTooSmall: Error, CustomStringConvertible {
    var description: String
}
