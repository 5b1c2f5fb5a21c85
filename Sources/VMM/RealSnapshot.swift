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
        let deadline = MonotonicClock.now() + timeout
        while true {
            if let value = try condition() { return value }
            if cancelled() { throw Stop(status: .failed, reason: "interrupted") }
            if machine.exit != nil { throw Stop(status: .failed, reason: machine.exitReason + " (\(what))") }
            if MonotonicClock.now() > deadline {
                throw Stop(status: .failed, reason: "\(what): nothing within \(Int(timeout)) s; QEMU killed")
            }
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

    /// Offlines the layout's memory blocks in the guest, then lowers `requested-size` by as much:
    /// the driver unplugs offline blocks first.
    private func makeHoles(_ machine: QEMUMachine, qmp: QMPClient, requested: Int, plugged: PluggedRanges,
                           into result: inout Result, cancelled: @escaping @Sendable () -> Bool) throws {
        let block = GuestLayout.memoryBlockSize
        let prefix = plugged.ranges.first.map { $0.lowerBound == 0 ? $0.count / block : 0 } ?? 0
        // Nothing plugged (a 0 fraction): no hole to make, and none missing.
        guard plugged.pluggedBytes > 0 else { return }
        let offsets = layout.blocksToOffline(pluggedBlocks: prefix).map { $0 * block }
        guard !offsets.isEmpty else {
            throw Stop(status: .failed, reason: "no hole to make: the guest plugged \(plugged.ranges.map(PluggedRanges.format)) "
                + "(\(layout.rawValue) needs two whole memory blocks from the device's start)")
        }
        guard spec.guest.takesCommands else {
            throw Stop(status: .failed, reason: "the guest takes no commands (build it again: scripts/qemu-real.sh --guest-only)")
        }
        let base = result.deviceAddress ?? 0
        try waitForCommandPort(machine, cancelled: cancelled)
        for offset in offsets {
            let number = (base + offset) / block
            try machine.tellGuest("offline \(number)")
            let said = try wait("waiting for the guest to offline memory\(number)", timeout: timeouts.plug, machine: machine,
                                cancelled: cancelled) { () -> String? in
                machine.consoleLine { $0 == "@@@ OFFLINED \(number)" || $0.hasPrefix("@@@ FAILED offline \(number):") }
            }
            guard said.hasPrefix("@@@ OFFLINED") else { throw Stop(status: .failed, reason: "the guest: \(said.dropFirst(4))") }
        }
        let lowered = requested - offsets.count * block
        let _: QMPClient.Empty = try qmp.execute("qom-set", arguments: QMPClient.PropertySet(
            path: "/machine/peripheral/vm0", property: "requested-size", value: lowered))
        _ = try wait("waiting for the guest to unplug \(offsets.count) offline blocks", timeout: timeouts.plug,
                     machine: machine, cancelled: cancelled) { () -> Int? in
            let devices: [QMPClient.MemoryDevice] = try qmp.execute("query-memory-devices")
            return devices.first(where: { $0.type == "virtio-mem" })?.data.size == lowered ? lowered : nil
        }
        result.plugged = try wait("reading the guest's unplugging lines", timeout: 10, machine: machine,
                                  cancelled: cancelled) { () -> PluggedRanges? in
            let ranges = try GuestConsole.pluggedRanges(machine.console, deviceAddress: base)
            return ranges.pluggedBytes == lowered ? ranges : nil
        }
        result.offlined = offsets
    }

    /// Waits until the snapshot's thread blocks on the held sink (so protection is in place and the
    /// copy has barely begun) and reads the protection map of the plugged runs. For the image check
    /// the harness then writes its stamp into every `stampStride`-th page of the plugged runs
    /// through `/proc/PID/mem`, as a device's DMA would: the kernel refuses a write to a protected
    /// page (it cannot wait for QEMU's handler from another process), so a write that lands is one
    /// that protection does not track. (The kernel refuses because a remote access may not wait
    /// for a userfault, `handle_userfault` without `FAULT_FLAG_ALLOW_RETRY`; `ProtectionMapOfAProcess`
    /// checks it on the host.) The guest itself cannot write while the copy is held: its first
    /// write to protected memory (its kernel's own data) waits for the held migration thread.
    private func holdCopy(_ machine: QEMUMachine, qmp: QMPClient, deviceStart: UInt?, into result: inout Result,
                          cancelled: @escaping @Sendable () -> Bool) throws {
        // No QMP while the copy is held: a vCPU that writes a protected page waits for the migration
        // thread, and may hold the lock the monitor needs. The thread may start a little after
        // `migrate` returns (QEMU 10); gone after it ran, or never seen within 2 s, it has ended (the
        // stream fitted the pipe) or failed, and nothing is held.
        var seen = false
        let asked = MonotonicClock.now()
        // Polled often: the copy is held from when it blocks until the harness has looked.
        let held = try wait("waiting for the copy to reach the held sink", timeout: 30, interval: 0.002, machine: machine,
                            cancelled: cancelled) { () -> Bool? in
            switch SnapshotThread.state(pid: machine.pid) {
            case .blockedWriting: return true
            case .running: seen = true; return nil
            case .absent: return seen || MonotonicClock.now() - asked > 2 ? false : nil
            }
        }
        guard let deviceStart, let plugged = result.plugged, !plugged.ranges.isEmpty else { return }
        guard held else {
            // A stream of plugged memory does not fit a pipe: a copy that was never held is one the
            // harness could not look at, and the row says so rather than leaving the map empty.
            throw Stop(status: .failed, reason: "the snapshot's thread was never seen blocked on the held sink "
                + (seen ? "(it ended first)" : "(no bg_snapshot or mig/snapshot thread within 2 s)"))
        }
        result.midMap = try ProcessPagemap.protectionMap(pid: machine.pid, start: deviceStart, runs: plugged.ranges)
        guard imageCheck else { return }
        let memory = try ProcessMemory(pid: machine.pid)
        let page = ImageStamp.afterStart.page()
        var attempted: [Range<Int>] = [], landed: [Range<Int>] = []
        for run in plugged.ranges {
            // The control pages (each run's first) were written before the snapshot: leave them be.
            for offset in stride(from: run.lowerBound + Self.stampStride, to: run.upperBound, by: Self.stampStride) {
                attempted.append(offset ..< offset + 4096)
                let wrote = try page.withUnsafeBytes { try memory.write($0, at: deviceStart + UInt(offset)) }
                if wrote { landed.append(offset ..< offset + 4096) }
            }
        }
        result.stampAttempts = attempted
        result.stampedRuns = landed
    }

    /// Before the snapshot, a control page at the start of each plugged run: QEMU's image must
    /// hold every one of them where it was written, or its reading is not to be trusted. Returns
    /// the device offsets written.
    private func writeControlPages(pid: Int32, deviceStart: UInt, plugged: PluggedRanges) throws -> [Int] {
        let memory = try ProcessMemory(pid: pid)
        let page = ImageStamp.control.page()
        var written: [Int] = []
        for run in plugged.ranges {
            let wrote = try page.withUnsafeBytes { try memory.write($0, at: deviceStart + UInt(run.lowerBound)) }
            guard wrote else {
                throw Stop(status: .failed, reason: "the image check's control page at \(ByteSize.exact(run.lowerBound)) "
                    + "could not be written before the snapshot")
            }
            written.append(run.lowerBound)
        }
        return written
    }

    /// One stamp every 256 KiB: at most 4096 pages of a 1 GiB device.
    static let stampStride = 256 << 10

    /// Pages of the device's RAMBlock (the one of `spec.size` bytes) that QEMU's image holds
    /// stamped, once it has been seen to hold exactly the control pages written before.
    private func lostWrites(inImage path: String, controls: [Int]) throws -> Int {
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        var stamped: [String: Set<Int>] = [:], controlled: [String: Set<Int>] = [:]
        let stream: MigrationStream
        do {
            stream = try MigrationStream(data) { block, offset, page in
                guard let page else { return }
                if ImageStamp.afterStart.matches(page) { stamped[block, default: []].insert(offset) }
                if ImageStamp.control.matches(page) { controlled[block, default: []].insert(offset) }
            }
        } catch {
            throw Stop(status: .failed, reason: "QEMU's image (\(data.count) bytes): \(error)")
        }
        let devices = stream.blocks.filter { $0.length == spec.size }
        guard devices.count == 1 else {
            throw Stop(status: .failed, reason: "QEMU's image: \(devices.count) RAMBlocks of \(ByteSize.format(spec.size)) "
                + "(\(stream.blocks.map { "\($0.name) \(ByteSize.format($0.length))" }.joined(separator: ", ")))")
        }
        let found = controlled[devices[0].name] ?? []
        guard found == Set(controls) else {
            throw Stop(status: .failed, reason: "QEMU's image holds \(found.count) of the \(controls.count) control pages "
                + "written before the snapshot (at \(found.sorted().prefix(4).map { ByteSize.exact($0) })): "
                + "its reading cannot be trusted")
        }
        return stamped[devices[0].name]?.count ?? 0
    }

    /// The mapping of the memory under test: the one of exactly `size` bytes (boot RAM has
    /// another size, and TCG's code buffer is a page short of 1 GiB), writable, and for memfd
    /// backends named after the memfd.
    func deviceMapping(_ pid: Int32) throws -> SmapsEntry? {
        try Smaps.read(pid: pid).first { entry in
            entry.length == spec.size && entry.permissions.hasPrefix("rw")
                && (spec.backend.declaration.qemuObject?.hasPrefix("memory-backend-memfd") == true
                    ? entry.name.contains("memfd:") : entry.name.isEmpty)
        }
    }
}

/// What the guest says on its console.
public enum GuestConsole {
    public struct Unreadable: Error, CustomStringConvertible {
        public var description: String
    }

    /// What the driver's `virtio_mem virtio0: plugging memory: 0x100000000 - 0x107ffffff` and
    /// `unplugging memory: ...` lines (guest-physical, end included) leave plugged, in their order,
    /// as offsets into the device at `deviceAddress`.
    public static func pluggedRanges(_ console: String, deviceAddress: Int) throws -> PluggedRanges {
        var plugged: [Range<Int>] = []
        for line in console.split(whereSeparator: \.isNewline) where line.contains("plugging memory:") {
            let unplugging = line.contains("unplugging memory:")
            let text = line[line.range(of: "plugging memory:")!.upperBound...]
            let bounds = text.split(separator: "-").map { $0.trimmingCharacters(in: .whitespaces) }
            guard bounds.count == 2, bounds.allSatisfy({ $0.hasPrefix("0x") }),
                  let first = Int(bounds[0].dropFirst(2), radix: 16), let last = Int(bounds[1].dropFirst(2), radix: 16),
                  first >= deviceAddress, last >= first else {
                throw Unreadable(description: "cannot read the guest's line '\(line)'")
            }
            let range = first - deviceAddress ..< last + 1 - deviceAddress
            // Cut the range out of what is plugged, then add it back when plugging.
            plugged = plugged.flatMap { run -> [Range<Int>] in
                guard run.overlaps(range) else { return [run] }
                return [run.lowerBound ..< range.lowerBound, range.upperBound ..< run.upperBound].filter { !$0.isEmpty }
            }
            if !unplugging { plugged.append(range) }
        }
        do {
            return try PluggedRanges(plugged)
        } catch {
            throw Unreadable(description: "the guest's plugging lines: \(error)")
        }
    }
}
