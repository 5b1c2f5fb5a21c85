import Foundation
import LinuxMM
import Synchronization
import PopulateBench

/// One background snapshot of a real QEMU: boot the guest, let it plug, read what it plugged,
/// then `migrate` with `background-snapshot` to a sink while sampling the QEMU process before,
/// during and after. A QEMU that lacks the capability, crashes, or a guest that does not get
/// there in time is a skipped or failed result with the reason, never a hang.
public struct RealSnapshot: Sendable {
    public struct Timeouts: Sendable {
        /// Seconds for QEMU's QMP socket and the guest's `@@@ READY`.
        public var boot: Double = 120
        /// Seconds for the guest to plug what was requested.
        public var plug: Double = 120
        /// Seconds for the snapshot to complete.
        public var snapshot: Double = 600
        public init() {}
    }

    public var spec: QEMUMachineSpec
    public var timeouts = Timeouts()
    public var sampleInterval = 0.01
    /// Seconds the guest is left alone after plugging, before what it wrote is read.
    public var settle = 0.3
    /// Seconds sampled before the snapshot starts and after it completes (10 samples at 10 ms).
    public var sampleWindow = 0.1
    /// The holes the guest makes in what it plugged before the snapshot.
    public var layout = GuestLayout.prefix
    /// Whether the harness stamps the plugged memory while the copy is held back, and QEMU's image
    /// is kept and checked.
    public var imageCheck = false
    /// Cancel the snapshot once this fraction of the plugged memory is copied (`--cancel-at`), and
    /// measure what the cancel leaves instead of a completed snapshot.
    public var cancelAt: Double?
    /// Seconds the guest's writer is given after a cancel (docs/cancel.md).
    public var guestWriteBound = 60.0
    /// Threads of the guest that write its plugged memory during the snapshot, timing each write.
    public var guestWriters = 0
    /// The `/proc/vmstat` counters read just before `migrate` and just after completion.
    public var vmstatCounters: [String] = []
    /// The nodes whose own counters are read too (`VMStatMonitor.nodes`).
    public var vmstatNodes: [Int] = []

    public init(spec: QEMUMachineSpec) { self.spec = spec }

    public struct Result: Sendable {
        public var status: TrialStatus = .failed
        public var reason = ""
        /// The device's block size and base address, from `query-memory-devices`.
        public var blockSize: Int?
        public var deviceAddress: Int?
        /// What the guest plugged, as device offsets, from its `plugging memory: A - B` lines.
        public var plugged: PluggedRanges?
        /// The process just before `migrate` and just after the snapshot completed.
        public var before: ProcessSample?
        public var after: ProcessSample?
        /// Highest `VmRSS` and `VmPTE` while the snapshot ran (absolute).
        public var peakRSS: Int?
        public var peakPTE: Int?
        /// Wall time from `migrate` until `query-migrate` said completed; QEMU's own `total-time`.
        public var seconds: Double?
        public var qemuMilliseconds: Int?
        /// Data pages of the tested memory's own mapping, before and after (`/proc/PID/smaps`).
        public var deviceDataBefore: Int?
        /// Where the guest had written the tested memory before the snapshot: byte runs of the mapping.
        public var deviceResidentRuns: [Range<Int>]?
        public var deviceDataAfter: Int?
        /// The mapping's start, modulo 2 MiB: a mapping that is not 2 MiB aligned spends a table
        /// more per run of blocks.
        public var deviceMisalignment: Int?
        public var samples: [SamplingThread.Labelled] = []
        /// The QEMU process the samples are of.
        public var samplesPID: Int32 = 0
        /// QEMU's own trace events over the snapshot, on the samples' clock (`QEMUTrace`), and the
        /// steps they bound.
        public var qemuEvents: [QEMUTrace.Mark] = []
        public var qemuSteps: QEMUTrace.Steps?
        /// Why the snapshot has no events or steps, where it has none.
        public var qemuEventsProblem: String?
        /// The memory blocks the guest offlined (device offsets) for the layout.
        public var offlined: [Int] = []
        /// Write protection over the plugged runs while the copy was held back (QEMU's pagemap).
        public var midMap: ProtectionMap?
        /// The change of the monitored `/proc/vmstat` counters over the snapshot (system-wide).
        public var vmstat: VMStatReading?
        /// The image check: the device pages the harness tried to stamp while the copy was held,
        /// those the kernel let it write (untracked, or already sent), and the pages of the
        /// device's RAMBlock in QEMU's own image that hold the stamp.
        public var stampAttempts: [Range<Int>]?
        public var stampedRuns: [Range<Int>]?
        public var imageLostWrites: Int?
        /// With `cancelAt`: what the cancel left, and QEMU's own state after it.
        public var cancel: CancelOutcome?
        public var qemuEndState: String?
        /// With `guestWriters`: what the guest's writes took during the snapshot.
        public var guestWrites: GuestWriteLatency?

        public var stampedPages: Int? { stampedRuns.map { $0.reduce(0) { $0 + $1.count } / 4096 } }

        public init() {}
    }

    struct Stop: Error { var status: TrialStatus; var reason: String }

    /// Runs it; `cancelled` is polled while waiting (SIGINT), `started` hands out the machine so
    /// that a signal handler can kill it.
    public func run(cancelled: @escaping @Sendable () -> Bool, started: (QEMUMachine?) -> Void) -> Result {
        var result = Result()
        let machine: QEMUMachine
        do {
            machine = try QEMUMachine(spec: spec)
        } catch {
            result.reason = "cannot start \(spec.qemuPath): \(error)"
            return result
        }
        started(machine)
        defer {
            started(nil)
            machine.shutDown()
        }
        do {
            try measure(machine, into: &result, cancelled: cancelled)
            result.status = .ok
        } catch let stop as Stop {
            result.status = stop.status
            result.reason = stop.reason
        } catch {
            result.reason = machine.exit != nil ? machine.exitReason : "\(error)"
        }
        return result
    }

    /// Polls `condition` every `interval` seconds until it gives a value; QEMU's exit, `cancelled` or the
    /// timeout stop the wait.
    func wait<T>(_ what: String, timeout: Double, interval: Double = 0.05, machine: QEMUMachine,
                         cancelled: () -> Bool, _ condition: () throws -> T?) throws -> T {
        guard let value = try poll(what, timeout: timeout, interval: interval, machine: machine, cancelled: cancelled,
                                   condition) else {
            throw Stop(status: .failed, reason: "\(what): nothing within \(Int(timeout)) s; QEMU killed")
        }
        return value
    }

    /// `wait` where running out of time is an answer (a hung guest, a thread that stays): nil then.
    func poll<T>(_ what: String, timeout: Double, interval: Double, machine: QEMUMachine,
                 cancelled: () -> Bool, _ condition: () throws -> T?) throws -> T? {
        let deadline = MonotonicClock.now() + timeout
        while true {
            if let value = try condition() { return value }
            if cancelled() { throw Stop(status: .failed, reason: "interrupted") }
            if machine.exit != nil { throw Stop(status: .failed, reason: machine.exitReason + " (\(what))") }
            if MonotonicClock.now() > deadline { return nil }
            MonotonicClock.sleep(seconds: interval)
        }
    }

    private func measure(_ machine: QEMUMachine, into result: inout Result, cancelled: @escaping @Sendable () -> Bool) throws {
        let qmp = try QMPClient(socketPath: machine.socketPath, timeout: timeouts.boot,
                                stillStarting: { machine.exit == nil && !cancelled() })
        defer { qmp.close() }
        _ = try wait("waiting for the guest's \(GuestImage.readyMarker)", timeout: timeouts.boot, machine: machine,
                     cancelled: cancelled) { machine.console.contains(GuestImage.readyMarker) ? true : nil }

        if case let .virtioMem(requested) = spec.memory {
            let device = try wait("waiting for the guest to plug \(ByteSize.format(requested))", timeout: timeouts.plug,
                                  machine: machine, cancelled: cancelled) { () -> QMPClient.MemoryDevice.Data? in
                let devices: [QMPClient.MemoryDevice] = try qmp.execute("query-memory-devices")
                guard let data = devices.first(where: { $0.type == "virtio-mem" })?.data else { return nil }
                return data.size == requested ? data : nil
            }
            result.blockSize = device.blockSize
            result.deviceAddress = device.memaddr
            let base = device.memaddr ?? 0
            // The console may trail the device by a line: wait until the lines add up too.
            result.plugged = try wait("reading the guest's plugging lines", timeout: 10, machine: machine,
                                      cancelled: cancelled) { () -> PluggedRanges? in
                let ranges = try GuestConsole.pluggedRanges(machine.console, deviceAddress: base)
                return ranges.pluggedBytes == requested ? ranges : nil
            }
        }
        if case let .virtioMem(requested) = spec.memory, layout != .prefix, let plugged = result.plugged {
            try makeHoles(machine, qmp: qmp, requested: requested, plugged: plugged, into: &result, cancelled: cancelled)
        }
        if guestWriters > 0 {
            try prepareGuestWriters(machine, pluggedBytes: result.plugged?.pluggedBytes ?? spec.size, cancelled: cancelled)
        }
        MonotonicClock.sleep(seconds: settle)

        var controls: [Int] = []
        if imageCheck, let plugged = result.plugged, !plugged.ranges.isEmpty, let device = try deviceMapping(machine.pid) {
            controls = try writeControlPages(pid: machine.pid, deviceStart: device.start, plugged: plugged)
        }
        let deviceBefore = try deviceMapping(machine.pid)
        result.deviceDataBefore = deviceBefore?.dataBytes
        result.deviceMisalignment = deviceBefore.map { Int($0.start % (2 << 20)) }
        if let deviceBefore {
            // The shared zeropage is not data: only pages the guest wrote count on anonymous memory.
            result.deviceResidentRuns = try ProcessPagemap.presentRuns(pid: machine.pid, start: deviceBefore.start,
                                                                       length: deviceBefore.length,
                                                                       exclusiveOnly: !spec.backend.readAllocatesPages)
        }
        let sampler = ProcessSampler(pid: machine.pid, interval: sampleInterval, counters: [.system])
        let sampling = SamplingThread(sampler, phase: "before")
        defer { sampling.stop() }
        let wallOffset = MonotonicClock.wallOffset()
        MonotonicClock.sleep(seconds: sampleWindow)

        do {
            let _: QMPClient.Empty = try qmp.execute("migrate-set-capabilities", arguments: [
                "capabilities": [QMPClient.Capability(capability: "background-snapshot", state: true)],
            ])
        } catch let failure as QMPClient.Failure {
            throw Stop(status: .skipped, reason: "no background snapshot: \(failure.description)")
        }
        // The sink is a FIFO the harness opens only once it has looked: the copy is held back until then.
        let sink = HeldSink(path: machine.directory + "/stream.fifo",
                            keepingIn: imageCheck && !controls.isEmpty ? machine.directory + "/stream" : nil)
        try sink.create()
        defer { sink.release() }
        let vmstatBefore = try VMStatReading.read(vmstatCounters, nodes: vmstatNodes)
        let before = try sampler.take(since: MonotonicClock.now())
        sampling.enter("snapshot")
        if guestWriters > 0 { try startGuestWriters(machine, cancelled: cancelled) }
        let start = MonotonicClock.now()
        let _: QMPClient.Empty = try qmp.execute("migrate", arguments: ["uri": "exec:" + QEMUMachine.sinkCommand(writingTo: sink.path)])
        try holdCopy(machine, qmp: qmp, deviceStart: deviceBefore?.start, into: &result, cancelled: cancelled)
        if let cancelAt {
            try cancel(at: cancelAt, machine, qmp: qmp, sink: sink, deviceStart: deviceBefore?.start, into: &result,
                       cancelled: cancelled)
            result.seconds = MonotonicClock.now() - start
            let after = try sampler.take(since: MonotonicClock.now())
            sampling.stop()
            result.samples = sampling.taken
            result.samplesPID = machine.pid
            result.before = before
            result.after = after
            let during = result.samples.filter { $0.phase == "snapshot" }.map(\.sample.status) + [before.status, after.status]
            result.peakRSS = during.map(\.vmRSS).max()
            result.peakPTE = during.map(\.vmPTE).max()
            result.deviceDataAfter = try deviceMapping(machine.pid)?.dataBytes
            try guestWrites(machine, bytes: result.plugged?.pluggedBytes ?? spec.size, into: &result, cancelled: cancelled)
            return
        }
        sink.release()
        // Polled every 10 ms: the wall time of a snapshot of a second is read to that.
        let info = try wait("waiting for the snapshot to complete", timeout: timeouts.snapshot, interval: 0.01,
                            machine: machine, cancelled: cancelled) { () -> QMPClient.MigrationInfo? in
            let info: QMPClient.MigrationInfo = try qmp.execute("query-migrate")
            return ["completed", "failed", "cancelled"].contains(info.status ?? "") ? info : nil
        }
        result.seconds = MonotonicClock.now() - start
        guard info.status == "completed" else {
            throw Stop(status: .failed, reason: "the snapshot \(info.status ?? "?"): \(info.errorDesc ?? "no reason given")")
        }
        result.qemuMilliseconds = info.totalTime
        if guestWriters > 0 { try collectGuestWrites(machine, into: &result, cancelled: cancelled) }
        let after = try sampler.take(since: MonotonicClock.now())
        if let vmstatBefore, let vmstatAfter = try VMStatReading.read(vmstatCounters, nodes: vmstatNodes) {
            result.vmstat = vmstatAfter.change(from: vmstatBefore)
        }
        sampling.enter("after")
        MonotonicClock.sleep(seconds: sampleWindow)
        sampling.stop()
        result.samples = sampling.taken
        result.samplesPID = machine.pid
        let events = machine.traceEvents
        let drift = MonotonicClock.wallOffset() - wallOffset
        if events.isEmpty {
            result.qemuEventsProblem = "QEMU traced no snapshot events (its trace backend is not `log`, or it logs them in a form the harness does not read)"
        } else if abs(drift) > 0.001 {
            result.qemuEventsProblem = String(format: "the wall clock moved %+.3f s against the monotonic one during the snapshot: "
                + "QEMU's events cannot be placed", drift)
        } else {
            result.qemuEvents = QEMUTrace.marks(events, since: sampling.start, wallOffset: wallOffset)
            let steps = QEMUTrace.Steps(events)
            result.qemuSteps = steps
            if steps.populateSeconds == nil || steps.protectSeconds == nil || steps.copySeconds == nil {
                result.qemuEventsProblem = "QEMU's events miss a step's start or end: \(Set(events.map(\.name)).sorted().joined(separator: ", "))"
            }
        }
        let during = result.samples.filter { $0.phase == "snapshot" }.map(\.sample.status) + [before.status, after.status]
        result.before = before
        result.after = after
        result.peakRSS = during.map(\.vmRSS).max()
        result.peakPTE = during.map(\.vmPTE).max()
        result.deviceDataAfter = try deviceMapping(machine.pid)?.dataBytes
        if imageCheck, result.stampAttempts != nil, !controls.isEmpty, let kept = sink.keptPath {
            try sink.finish()
            result.imageLostWrites = try lostWrites(inImage: kept, controls: controls)
        }
    }

    /// The guest opens its command port after READY, and a port's first open drops what came before:
    /// a command is sent only once it has said so.
    func waitForCommandPort(_ machine: QEMUMachine, cancelled: @escaping @Sendable () -> Bool) throws {
        _ = try wait("waiting for the guest's command port", timeout: timeouts.boot, machine: machine, cancelled: cancelled) {
            machine.console.contains(GuestImage.commandsMarker) ? true : nil
        }
    }

    /// The mapping of the memory under test: the one of exactly `size` bytes (boot RAM has
    /// another size, and TCG's code buffer is a page short of 1 GiB), writable, and for memfd
    /// backends named after the memfd.
    func deviceMapping(_ pid: Int32) throws -> SmapsEntry? {
        try Smaps.read(pid: pid).first { entry in
            entry.length == spec.size && entry.permissions.hasPrefix("rw")
                && (spec.backend.qemuMapsAMemfd ? entry.name.contains("memfd:") : entry.name.isEmpty)
        }
    }
}
