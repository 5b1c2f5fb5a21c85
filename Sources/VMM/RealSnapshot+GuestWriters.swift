import LinuxMM
import PopulateBench

extension RealSnapshot {
    /// The guest maps four fifths of its plugged memory and writes it once (`writers N MIB`), so
    /// that its writes during the snapshot land on plugged pages the snapshot protects.
    func prepareGuestWriters(_ machine: QEMUMachine, pluggedBytes: Int, cancelled: @escaping @Sendable () -> Bool) throws {
        guard spec.guest.takesWrites else {
            throw Stop(status: .failed, reason: "the guest has no writers (build it again: scripts/qemu-real.sh --guest-only)")
        }
        try waitForCommandPort(machine, cancelled: cancelled)
        let mebibytes = max(1, (pluggedBytes * 4 / 5) >> 20)
        try machine.tellGuest("writers \(guestWriters) \(mebibytes)")
        try awaitGuest("@@@ WRITERS READY \(mebibytes)", doing: "writing \(mebibytes) MiB for its writers", machine: machine,
                       cancelled: cancelled)
    }

    /// Just before `migrate`: the writers start timing their writes.
    func startGuestWriters(_ machine: QEMUMachine, cancelled: @escaping @Sendable () -> Bool) throws {
        try machine.tellGuest("start")
        try awaitGuest("@@@ WRITERS STARTED", doing: "starting its writers", machine: machine, cancelled: cancelled)
    }

    /// Once the snapshot is over: the writers stop and say what their writes took.
    func collectGuestWrites(_ machine: QEMUMachine, into result: inout Result,
                            cancelled: @escaping @Sendable () -> Bool) throws {
        try machine.tellGuest("stop")
        let line = try awaitGuest("@@@ WRITES ", doing: "reporting its writes", machine: machine, cancelled: cancelled)
        guard let latency = GuestWriteLatency(consoleLine: line) else {
            throw Stop(status: .failed, reason: "cannot read the guest's line '\(line)'")
        }
        result.guestWrites = latency
    }

    /// Waits for the console line that starts with `prefix`; a `@@@ FAILED writers` line fails the row.
    @discardableResult
    private func awaitGuest(_ prefix: String, doing what: String, machine: QEMUMachine,
                            cancelled: @escaping @Sendable () -> Bool) throws -> String {
        let said = try wait("waiting for the guest \(what)", timeout: timeouts.plug, interval: 0.02, machine: machine,
                            cancelled: cancelled) { () -> String? in
            machine.consoleLine { $0.hasPrefix(prefix) || $0.hasPrefix("@@@ FAILED writers") }
        }
        guard said.hasPrefix(prefix) else { throw Stop(status: .failed, reason: "the guest: \(said.dropFirst(4))") }
        return said
    }
}
