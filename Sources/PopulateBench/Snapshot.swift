import Foundation
import LinuxMM
import Synchronization

/// The background snapshot, modelled on QEMU's (migration/ram.c): a copier streams the plugged
/// pages in address order, un-protecting each after copying it; write-protect faults are served
/// by copying the page first, either between pages by the copier itself, as QEMU's migration
/// thread does, or at once by a thread of their own; guest writers write plugged pages at random
/// until the copier is done, and time every write that stalled. The oracle checks every copied
/// page against what the guest had written when protection began.
public struct SnapshotOptions: Codable, Hashable, Sendable {
    /// How writes during the snapshot are tracked.
    public enum Tracking: String, Codable, CaseIterable, Sendable {
        /// Synchronous write-protect faults that a handler serves by copying first, as QEMU does.
        case sync
        /// `UFFD_FEATURE_WP_ASYNC` (Linux 6.7): the kernel un-protects a written page itself and
        /// nobody waits; `PAGEMAP_SCAN` finds the written pages afterwards. Nothing copies a page
        /// before a write, so the oracle shows what point-in-time consistency this gives up.
        case async
    }

    /// Who serves write-protect faults (sync tracking).
    public enum FaultService: String, Codable, CaseIterable, Sendable {
        /// QEMU's: no thread of its own. Before each page it saves, the migration thread reads at
        /// most one fault message (`poll_fault_page`, called from `get_queued_page` in
        /// `ram_find_and_save_block`), saves the faulting page next, un-protects it after saving
        /// (`ram_save_release_protection`) and continues its scan from there.
        case migrationThread = "migration-thread"
        /// A dedicated thread blocks in `poll` and serves each fault at once: sooner than QEMU,
        /// so the stalls it shows are a lower bound.
        case handlerThread = "handler-thread"
    }

    public var tracking: Tracking = .sync
    public var faultService: FaultService = .migrationThread
    public var writers: Int
    /// Writes per second per writer; 0: as fast as it can.
    public var writeRate: Double
    public var sampleInterval: Double
    public var outputPath: String?
    /// Cancel the snapshot once this fraction of the plugged pages is copied (0 < f < 1), then
    /// read what the cancel left behind (`CancelOutcome`); nil: the snapshot runs to its end.
    public var cancelAt: Double?
    /// Seconds a guest writer is given, after a cancel, to write every plugged page once: 2 s, and
    /// 2 s more per GiB plugged. Writing a word in each page of memory nobody protects takes about
    /// 0.2 s per GiB here (a fault and a fresh page each, where the population left the zero page),
    /// so a writer still waiting at the bound waits on a protected page that nobody will release.
    public static func afterCancelWriteBound(pluggedBytes: Int) -> Double {
        2 + 2 * Double(pluggedBytes) / Double(1 << 30)
    }

    /// The pages a copy cancelled at `fraction` saves of `pluggedPages`: rounded up, so that a
    /// cancel never comes before the first page. At or beyond `pluggedPages` the copy completes
    /// before the cancel: no fraction of a copy that short can be cancelled.
    public static func pagesBeforeCancel(at fraction: Double, of pluggedPages: Int) -> Int {
        Int((fraction * Double(pluggedPages)).rounded(.up))
    }

    /// Whether a cancel at `fraction` of `pluggedPages` comes only once the copy is complete (or
    /// there is nothing to copy): bad input, for `bench run` and `bench qemu` alike.
    public static func cancelComesAfterTheCopy(at fraction: Double, of pluggedPages: Int) -> Bool {
        pagesBeforeCancel(at: fraction, of: pluggedPages) >= pluggedPages
    }
    /// Seconds between the cancel and the reading of what it left, as a real QEMU's is read a fixed
    /// time after it says `cancelled`.
    public static let afterCancelSettle = 0.05

    public init(tracking: Tracking = .sync, faultService: FaultService = .migrationThread, writers: Int = 1,
                writeRate: Double = 0, sampleInterval: Double = 0.001, outputPath: String? = nil) {
        self.tracking = tracking
        self.faultService = faultService
        self.writers = writers
        self.writeRate = writeRate
        self.sampleInterval = sampleInterval
        self.outputPath = outputPath
    }
}

/// One reading of the sampler thread.
public struct MemorySample: Codable, Sendable, Equatable {
    public var seconds: Double
    public var rssBytes: Int
    public var pteBytes: Int
    public var rssShmemBytes: Int
    public var hugetlbBytes: Int
}

public struct SnapshotOutcome: Sendable {
    /// What a cancel left (`cancelAt`), without the model's prediction or the guest's writes, and the
    /// pages copied by then. With a cancel, `writes` and `stalls` are final only once
    /// `SnapshotRun.guestWritesAfterCancel` has joined the writers (`AfterCancel`).
    public var cancel: CancelOutcome?
    public var copiedAtCancel: PageSet?
    public var wpFaults: Int
    public var writes: Int
    /// Pages `PAGEMAP_SCAN` reports written (async tracking only).
    public var writtenPages: Int?
    public var inconsistentPages: Int
    public var copiedPages: Int
    public var samples: [MemorySample]
    public var stalls: StallDistribution
    public var faultsServedByCopier: Int
    /// CPU time of the sampler's thread over the phase: what it can take from the phase's work.
    public var samplerCPUSeconds: Double?
}

/// What one writer is writing now: whoever un-protects a page marks the writes waiting on it as
/// stalled, before the un-protect wakes them.
final class WriterSlot: Sendable {
    let page = Atomic<Int>(-1)
    let sequence = Atomic<Int>(0)
    let stalledSequence = Atomic<Int>(-1)
}

final class SnapshotRun: @unchecked Sendable {
    let region: Region
    let tracker: Userfaultfd
    let pattern: GuestPattern
    let pluggedPages: [Int]
    let pluggedRuns: [Range<Int>]
    /// What the strategy write-protected, and what a cancel does to it.
    let protectRanges: [Range<Int>]
    let onCancel: Strategy.CancelEnd
    let options: SnapshotOptions
    let seed: UInt64
    let sink: FileDescriptor?
    /// The node the guest's writers run on, as `--guest-node` asks.
    let guestNode: Int?

    let copied: Mutex<PageSet>
    let copierDone = Atomic<Bool>(false)
    let writersDone = Atomic<Bool>(false)
    /// Set by a cancel, as the copy stops: from then on nobody serves a fault, and a write that
    /// ends after it is the guest's (`guestWritesAfterCancel`), not the snapshot's.
    let cancelled = Atomic<Bool>(false)
    /// When the cancel took effect (`MonotonicClock.nanoseconds`): a write that ended before it is
    /// the snapshot's, even if its writer sees `cancelled` only afterwards.
    let cancelNanoseconds = Atomic<UInt64>(UInt64.max)
    /// What `guestWritesAfterCancel` found, kept for every later call (the trial's teardown asks too).
    let afterCancel = Mutex<AfterCancel?>(nil)
    /// After a cancel: the writers (some may wait on a protected page), until
    /// `guestWritesAfterCancel` joins them.
    let pendingWriters = Mutex<[DispatchSemaphore]?>(nil)
    let faults = Atomic<Int>(0)
    /// Faults the copier served itself (QEMU's scheme), as opposed to a handler thread.
    let faultsServedByCopier = Atomic<Int>(0)
    let writes = Atomic<Int>(0)
    let inconsistent = Atomic<Int>(0)
    let failure = Mutex<String?>(nil)
    let slots: [WriterSlot]
    /// Signalled by each writer as it begins its first write: the guest's vCPUs run before a
    /// snapshot begins, so the copier starts only once every writer does.
    let writersRunning = DispatchSemaphore(value: 0)
    let recorders = Mutex<WriteStallRecorder>(WriteStallRecorder())

    init(region: Region, tracker: Userfaultfd, pattern: GuestPattern, map: DiscardMap, protectRanges: [Range<Int>],
         onCancel: Strategy.CancelEnd, options: SnapshotOptions, seed: UInt64, sink: FileDescriptor?, guestNode: Int?) {
        self.region = region
        self.protectRanges = protectRanges
        self.onCancel = onCancel
        self.tracker = tracker
        self.pattern = pattern
        self.options = options
        self.seed = seed
        self.sink = sink
        self.guestNode = guestNode
        pluggedRuns = map.pluggedRuns
        pluggedPages = map.pluggedRuns.flatMap { $0.lowerBound / region.pageSize ..< $0.upperBound / region.pageSize }
        copied = Mutex(PageSet(capacity: region.pageCount))
        slots = (0 ..< options.writers).map { _ in WriterSlot() }
    }

    func record(_ error: Error, in role: String) {
        failure.withLock { $0 = $0 ?? "\(role): \(error)" }
    }

    /// Copies `page` unless it was copied already; under the lock, so a copy always comes before
    /// the un-protect that lets a writer change the page.
    func copyOnce(_ page: Int) throws {
        try copied.withLock { set in
            guard !set.contains(page) else { return }
            let offset = page * region.pageSize
            let words = UnsafePointer<UInt64>(OpaquePointer(region.mapping.base + offset))
            let expected = pattern.initialWord(page: page, plugged: true)
            var differs = false
            for index in 0 ..< region.pageSize / 8 where words[index] != expected {
                differs = true
                break
            }
            if differs { inconsistent.add(1, ordering: .relaxed) }
            try sink?.writeAll(UnsafeRawBufferPointer(start: words, count: region.pageSize), atOffset: offset,
                               naming: "pwrite(--snapshot-out)")
            set.insert(page ..< page + 1)
        }
    }

    /// Marks the writes waiting on `page` as stalled, then un-protects it, which wakes them.
    func unprotect(_ page: Int) throws {
        for slot in slots where slot.page.load(ordering: .acquiring) == page {
            slot.stalledSequence.store(slot.sequence.load(ordering: .acquiring), ordering: .releasing)
        }
        try tracker.writeProtect(region.slice(page * region.pageSize ..< (page + 1) * region.pageSize), false)
    }

    /// The pages the copy saves before a cancel (`cancelAt`); nil: it saves them all.
    var pagesBeforeCancel: Int? {
        options.cancelAt.map { SnapshotOptions.pagesBeforeCancel(at: $0, of: pluggedPages.count) }
    }

    var copiedCount: Int { copied.withLock { $0.count } }

    func copier() {
        do {
            if options.tracking == .sync && options.faultService == .migrationThread {
                try migrationThread()
            } else {
                // The lock behind copiedCount is taken per page only when there is a cancel to reach.
                let stopAt = pagesBeforeCancel
                for page in pluggedPages {
                    if let stopAt, copiedCount >= stopAt { break }
                    try copyOnce(page)
                    // In async mode a write un-protects by itself; un-protecting here would make every
                    // copied page look written to PAGEMAP_SCAN.
                    if options.tracking == .sync { try unprotect(page) }
                }
            }
        } catch {
            record(error, in: "copier")
            releaseEveryPage()
        }
        // The cancel takes effect where the copy stopped, before a writer sees the copy's end.
        if options.cancelAt != nil {
            cancelNanoseconds.store(MonotonicClock.nanoseconds(), ordering: .releasing)
            cancelled.store(true, ordering: .releasing)
        }
        copierDone.store(true, ordering: .releasing)
    }

    /// QEMU's migration thread: one non-blocking read of the userfaultfd before each page
    /// (`poll_fault_page`); a faulting page is saved next and the scan goes on after it, wrapping
    /// around until every plugged page is saved (`pss->page` set to the fault, `complete_round`).
    func migrationThread() throws {
        // The pages still to save, as QEMU's dirty bitmap: only this thread copies in this mode.
        var pending = PageSet(capacity: region.pageCount)
        for run in pluggedRuns { pending.insert(run.lowerBound / region.pageSize ..< run.upperBound / region.pageSize) }
        var cursor = 0
        // Only this thread copies here: what it has saved is what has left `pending`, no lock needed.
        let total = pending.count
        let stopAt = pagesBeforeCancel ?? total
        while pending.count > 0 && total - pending.count < stopAt {
            let page: Int
            if let fault = try tracker.readPageFaults(maximum: 1).first {
                page = Int(fault.address - region.mapping.address) / region.pageSize
                faults.add(1, ordering: .relaxed)
                faultsServedByCopier.add(1, ordering: .relaxed)
            } else if let next = pending.first(atOrAfter: cursor) ?? pending.first(atOrAfter: 0) {
                page = next
            } else {
                break
            }
            if pending.contains(page) {
                try copyOnce(page)
                pending.remove(page ..< page + 1)
            }
            try unprotect(page)
            cursor = page + 1
        }
    }

    /// Serves faults until the writers are done. A page whose copy fails is un-protected all the
    /// same: the trial fails with the error, but no writer is left waiting.
    func faultHandler() {
        // A cancel ends the service: a fault after it waits as it would in QEMU.
        do {
            while !cancelled.load(ordering: .acquiring) {
                if try tracker.waitForMessages(milliseconds: 5) {
                    // A fault read after the cancel is left unserved, as QEMU would leave it: its
                    // writer waits until the cancel's end lets it go.
                    for fault in try tracker.readPageFaults() where !cancelled.load(ordering: .acquiring) {
                        let page = Int(fault.address - region.mapping.address) / region.pageSize
                        do { try copyOnce(page) } catch { record(error, in: "fault handler") }
                        try unprotect(page)
                        faults.add(1, ordering: .relaxed)
                    }
                } else if writersDone.load(ordering: .acquiring) {
                    return
                }
            }
        } catch {
            record(error, in: "fault handler")
            releaseEveryPage()
        }
    }

    /// Un-protects every plugged run (which wakes any writer waiting on it): after a failure,
    /// nobody else may be left to do it.
    func releaseEveryPage() {
        for run in pluggedRuns { try? tracker.writeProtect(region.slice(run), false) }
    }

    /// The guest after a cancel: one word in every plugged page, in address order.
    func writeEveryPluggedPage() {
        for page in pluggedPages {
            let target = UnsafeMutablePointer<UInt64>(OpaquePointer(region.mapping.base + page * region.pageSize))
            target.pointee = ~pattern.initialWord(page: page, plugged: true)
        }
    }

    /// The cancel, once the copy has stopped and nobody copies any more (`copied` is final): tracking
    /// stops or stays as the strategy declares, and a fixed time later the harness reads what is
    /// still protected and registered.
    func cancel(copied: PageSet) throws -> CancelOutcome {
        let copiedBytes = copied.count * region.pageSize
        if onCancel == .stopsTracking {
            try unprotectAll()
            try tracker.unregister(region.mapping)
        }
        MonotonicClock.sleep(seconds: SnapshotOptions.afterCancelSettle)
        let protection = try ProcessPagemap.protectionMap(pid: getpid(), start: region.mapping.address,
                                                          runs: [0 ..< region.size])
        let registered = try Smaps.read(pid: getpid()).first { $0.start == region.mapping.address }?
            .registeredForWriteProtect ?? false
        return CancelOutcome(copiedBytes: copiedBytes, protectedBytes: protection.protectedBytes, uffdRegistered: registered,
                             guestAlive: false, guestWaitSeconds: 0)
    }

    /// What the guest did after a cancel, and the snapshot's writes once every writer is joined.
    struct AfterCancel {
        var alive: Bool
        var seconds: Double
        var writes: Int
        var stalls: StallDistribution
        /// Set when a writer could not be let go: the trial fails with it.
        var failure: String?
    }

    /// Seconds each way of letting a hung guest go (un-protect, then unregister) is given to wake it.
    static let releaseBound = 10.0

    /// After a cancel, once the phase's memory is read (the writes would count as the copy's): a
    /// guest writer writes every plugged page once, within `afterCancelWriteBound` or not at all;
    /// then everything is released and every writer of the phase joined and counted. Only the first
    /// call writes; later ones return what it found (nil without a cancel).
    @discardableResult
    func guestWritesAfterCancel() -> AfterCancel? {
        guard let writersDone = pendingWriters.withLock({ pending in defer { pending = nil }; return pending })
        else { return afterCancel.withLock { $0 } }
        let done = DispatchSemaphore(value: 0)
        let bound = SnapshotOptions.afterCancelWriteBound(pluggedBytes: pluggedPages.count * region.pageSize)
        let start = MonotonicClock.now()
        Thread {
            self.writeEveryPluggedPage()
            done.signal()
        }.start()
        let alive = done.wait(timeout: .now() + bound) == .success
        let waited = alive ? MonotonicClock.now() - start : bound
        var failure: String?
        // A hung guest is let go, as QEMU's exit would: un-protecting wakes every waiting write;
        // where that fails, unregistering does.
        if !alive, let unprotecting = release("un-protecting", waitingOn: done, by: unprotectAll) {
            failure = release("unregistering", waitingOn: done) { try tracker.unregister(region.mapping) }
                .map { "\(unprotecting); \($0)" }
        }
        for (index, writer) in writersDone.enumerated() where failure == nil {
            if writer.wait(timeout: .now() + Self.releaseBound) != .success {
                failure = "writer \(index) of the cancelled snapshot is still blocked \(Int(Self.releaseBound)) s after the release"
            }
        }
        self.writersDone.store(true, ordering: .releasing)
        let result = AfterCancel(alive: alive, seconds: waited, writes: writes.load(ordering: .relaxed),
                                 stalls: stallDistribution, failure: failure)
        afterCancel.withLock { $0 = result }
        return result
    }

    /// The writes recorded so far, stalled or not.
    var stallDistribution: StallDistribution {
        recorders.withLock { StallDistribution(stalls: $0.stalls, unstalledWrites: $0.unstalled) }
    }

    /// Un-protects what the strategy protected (which wakes every writer waiting on it).
    func unprotectAll() throws {
        for range in protectRanges { try tracker.writeProtect(region.slice(range), false) }
    }

    /// Lets blocked writers go one way (`how`, done by `action`). Nil once `done` signals within
    /// `releaseBound`; else why not.
    private func release(_ how: String, waitingOn done: DispatchSemaphore, by action: () throws -> Void) -> String? {
        do {
            try action()
        } catch {
            return "\(how) after the cancel: \(error)"
        }
        guard done.wait(timeout: .now() + Self.releaseBound) == .success else {
            return "the guest's writer still waits \(Int(Self.releaseBound)) s after \(how) the region"
        }
        return nil
    }

    func writer(_ index: Int) {
        if let node = guestNode { try? NUMA.runOnNode(node) }
        var generator = SeededRandom(seed: seed &+ UInt64(index) &* 0x9E37_79B9)
        let wordsPerPage = region.pageSize / 8
        let pause = options.writeRate > 0 ? 1 / options.writeRate : 0
        guard !pluggedPages.isEmpty else {
            writersRunning.signal()
            return
        }
        let slot = slots[index]
        var recorder = WriteStallRecorder()
        var sequence = 0
        // The first write is under way when the copier starts: a short copy (a few huge pages)
        // is otherwise over before a writer is scheduled, and proves nothing about consistency.
        repeat {
            let page = pluggedPages[Int(generator.next() % UInt64(pluggedPages.count))]
            let word = Int(generator.next() % UInt64(wordsPerPage))
            let target = UnsafeMutablePointer<UInt64>(OpaquePointer(region.mapping.base + page * region.pageSize)) + word
            sequence += 1
            slot.sequence.store(sequence, ordering: .releasing)
            slot.page.store(page, ordering: .releasing)
            if sequence == 1 { writersRunning.signal() }
            let start = MonotonicClock.nanoseconds()
            target.pointee = ~pattern.initialWord(page: page, plugged: true)
            let elapsed = MonotonicClock.nanoseconds() &- start
            slot.page.store(-1, ordering: .releasing)
            // A write that ends after a cancel is the guest's hang or its release: not the snapshot's.
            if cancelled.load(ordering: .acquiring),
               start &+ elapsed > cancelNanoseconds.load(ordering: .acquiring) { break }
            recorder.record(nanoseconds: elapsed,
                            stalled: slot.stalledSequence.load(ordering: .acquiring) == sequence)
            writes.add(1, ordering: .relaxed)
            // A slow writer's pause ends with the copy: the phase never waits out a long pause.
            var paused = 0.0
            while paused < pause && !copierDone.load(ordering: .acquiring) {
                let step = min(pause - paused, 0.001)
                MonotonicClock.sleep(seconds: step)
                paused += step
            }
        } while !copierDone.load(ordering: .acquiring)
        recorders.withLock { $0.merge(recorder) }
    }

    /// Runs the phase to its end: every plugged page copied, every writer and the handler stopped.
    func run() throws -> SnapshotOutcome {
        // The same sampler `bench watch` and `bench qemu` run (and the perturbation benchmark measures).
        let sampling = SamplingThread(ProcessSampler(pid: nil, interval: options.sampleInterval), phase: "snapshot")
        let handlerDone = options.tracking == .sync && options.faultService == .handlerThread
            ? spawn { self.faultHandler() } : nil
        let writersDone = (0 ..< options.writers).map { index in spawn { self.writer(index) } }
        for _ in 0 ..< options.writers { writersRunning.wait() }
        copier()
        var cancelOutcome: CancelOutcome?
        if options.cancelAt != nil {
            // The handler acknowledges the cancel by returning; then nobody copies any more.
            handlerDone?.wait()
            let copiedAtCancel = copied.withLock { $0 }
            pendingWriters.withLock { $0 = writersDone }
            do {
                cancelOutcome = try cancel(copied: copiedAtCancel)
            } catch {
                record(error, in: "cancel")
            }
            sampling.stop()
            if let message = failure.withLock({ $0 }) {
                let release = guestWritesAfterCancel()?.failure.map { "; then \($0)" } ?? ""
                throw SnapshotError(message: message + release)
            }
            return SnapshotOutcome(cancel: cancelOutcome, copiedAtCancel: copiedAtCancel,
                                   wpFaults: faults.load(ordering: .relaxed), writes: writes.load(ordering: .relaxed),
                                   writtenPages: nil, inconsistentPages: inconsistent.load(ordering: .relaxed),
                                   copiedPages: copiedAtCancel.count, samples: sampling.taken.map { MemorySample($0.sample) },
                                   stalls: stallDistribution,
                                   faultsServedByCopier: faultsServedByCopier.load(ordering: .relaxed),
                                   samplerCPUSeconds: sampling.cpuSeconds)
        }
        writersDone.forEach { $0.wait() }
        self.writersDone.store(true, ordering: .releasing)
        handlerDone?.wait()
        sampling.stop()
        if let message = failure.withLock({ $0 }) { throw SnapshotError(message: message) }
        var writtenPages: Int?
        if options.tracking == .async {
            let pagemap = try Pagemap.open()
            defer { try? pagemap.close() }
            var written = 0
            for run in pluggedRuns {
                written += try pagemap.writtenRuns(in: region.slice(run)).reduce(0) { $0 + $1.count } / region.pageSize
            }
            writtenPages = written
        }
        return SnapshotOutcome(wpFaults: faults.load(ordering: .relaxed), writes: writes.load(ordering: .relaxed),
                               writtenPages: writtenPages,
                               inconsistentPages: inconsistent.load(ordering: .relaxed),
                               copiedPages: copied.withLock { $0.count }, samples: sampling.taken.map { MemorySample($0.sample) },
                               stalls: stallDistribution,
                               faultsServedByCopier: faultsServedByCopier.load(ordering: .relaxed),
                               samplerCPUSeconds: sampling.cpuSeconds)
    }

    /// Starts `body` on a thread of its own; the semaphore signals its end.
    private func spawn(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            body()
            done.signal()
        }
        thread.start()
        return done
    }
}

struct SnapshotError: Error, CustomStringConvertible {
    var message: String
    var description: String { "snapshot: \(message)" }
}
