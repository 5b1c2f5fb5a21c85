import Foundation
import LinuxMM
import PopulateBench

extension RealSnapshot {
    /// Seconds between QEMU's `cancelled` and the reading of what the cancel left: QEMU 8.1 stops
    /// tracking in the cleanup that follows the cancel, in its main loop, not at once.
    public static let afterCancelSettle = 1.0
    /// Seconds a silent monitor's QEMU is given for its snapshot thread to end after a cancel.
    static let silentThreadBound = 30.0

    /// The copy, held back on the sink, is let through a little at a time until `fraction` of the
    /// protection the plugged memory had when it began is released (QEMU un-protects each page once
    /// it is saved); then `migrate_cancel`, the sink drained until QEMU says `cancelled`, and a fixed
    /// time later: what is still protected and registered, QEMU's state, and whether the guest
    /// can still write (`guestWrites`, once the row's memory is read).
    func cancel(at fraction: Double, _ machine: QEMUMachine, qmp: QMPClient, sink: HeldSink, deviceStart: UInt?,
                into result: inout Result, cancelled: @escaping @Sendable () -> Bool) throws {
        guard let deviceStart else {
            throw Stop(status: .failed, reason: "no mapping of \(ByteSize.format(spec.size)) in QEMU: nothing to measure a cancel on")
        }
        // The control has no virtio-mem: all of its memory is plugged.
        let runs = result.plugged?.ranges ?? [0 ..< spec.size]
        func protectedBytes(_ runs: [Range<Int>]) throws -> Int {
            try ProcessPagemap.protectionMap(pid: machine.pid, start: deviceStart, runs: runs).protectedBytes
        }
        let atStart = try result.midMap?.protectedBytes ?? protectedBytes(runs)
        guard atStart > 0 else {
            throw Stop(status: .failed, reason: "nothing of the plugged memory was write-protected as the copy began: "
                + "no copy to cancel")
        }
        let target = Int((Double(atStart) * fraction).rounded(.up))
        var copied = 0
        let deadline = MonotonicClock.now() + timeouts.snapshot
        while true {
            copied = try atStart - protectedBytes(runs)
            if copied >= target { break }
            // Each page the copy saves is at least a zero page's record (9 bytes) of stream: letting
            // through 8 bytes per page still to go never overshoots by more than a step's 4 KiB.
            let step = max(4096, (target - copied) / 4096 * 8)
            if cancelled() { throw Stop(status: .failed, reason: "interrupted") }
            if machine.exit != nil { throw Stop(status: .failed, reason: machine.exitReason + " (letting the copy through)") }
            if MonotonicClock.now() > deadline {
                throw Stop(status: .failed, reason: "the copy reached \(ByteSize.format(copied)) of \(ByteSize.format(target)) "
                    + "within \(Int(timeouts.snapshot)) s; QEMU killed")
            }
            guard try sink.advance(upTo: step, timeout: 0.05) != nil else {
                throw Stop(status: .failed, reason: "the snapshot's stream ended with \(ByteSize.format(copied)) of "
                    + "\(ByteSize.format(atStart)) released: it completed before the cancel point")
            }
        }
        // A monitor that stops answering is an outcome, not a failure: a thread that holds QEMU's
        // big lock may itself wait on a page nobody un-protects. Once it has not answered, QMP is
        // not used again (a late answer would be taken for the next command's).
        var silent: String?
        do {
            let _: QMPClient.Empty = try qmp.execute("migrate_cancel")
        } catch let failure as QMPClient.Failure where failure.isTimeout {
            silent = "migrate_cancel"
        }
        sink.release()
        var migration = "migration cancelled"
        if silent == nil {
            do {
                let info = try wait("waiting for QEMU to say the snapshot is cancelled", timeout: timeouts.snapshot,
                                    interval: 0.01, machine: machine, cancelled: cancelled) { () -> QMPClient.MigrationInfo? in
                    let info: QMPClient.MigrationInfo = try qmp.execute("query-migrate", timeout: 5)
                    return ["completed", "failed", "cancelled"].contains(info.status ?? "") ? info : nil
                }
                guard info.status == "cancelled" else {
                    throw Stop(status: .failed, reason: "the snapshot \(info.status ?? "?") although it was cancelled at "
                        + "\(ByteSize.format(copied)) of \(ByteSize.format(atStart))")
                }
            } catch let failure as QMPClient.Failure where failure.isTimeout {
                silent = "query-migrate"
            }
        }
        if let silent {
            // Without the monitor, the snapshot's end is read from the process: its thread gone. A
            // thread that stays is an outcome too: 7.2's takes the big lock on its way out
            // (bg_migration_iteration_finish), which the monitor's thread may hold, itself waiting.
            let ended = try poll("after the cancel", timeout: Self.silentThreadBound, interval: 0.1, machine: machine,
                                 cancelled: cancelled) { SnapshotThread.state(pid: machine.pid) == .absent ? true : nil } ?? false
            migration = "the monitor stopped answering at \(silent); the snapshot's thread "
                + (ended ? "has ended" : "is still there \(Int(Self.silentThreadBound)) s later")
        }
        MonotonicClock.sleep(seconds: Self.afterCancelSettle)
        let left = try protectedBytes([0 ..< spec.size])
        let mapping = try Smaps.read(pid: machine.pid).first { $0.start == deviceStart }
        let descriptors = QEMUProcess.userfaultfdCount(pid: machine.pid)
        var vm = "VM state unknown (no monitor)"
        if silent == nil {
            do {
                let status: QMPClient.Status = try qmp.execute("query-status", timeout: 5)
                vm = "VM \(status.status)"
            } catch let failure as QMPClient.Failure where failure.isTimeout {
                vm = "the monitor stopped answering at query-status"
            }
        }
        result.qemuEndState = "\(migration); \(vm); \(descriptors) userfaultfd open"
        // The guest's writes come after the row's memory is read (`guestWrites`): they would count as the copy's.
        result.cancel = CancelOutcome(copiedBytes: copied, protectedBytes: left,
                                      uffdRegistered: mapping?.registeredForWriteProtect ?? false,
                                      guestAlive: false, guestWaitSeconds: 0)
    }

    /// Asks the guest to write nine tenths of its plugged memory (a tmpfs file it then removes: the
    /// guest's allocator takes virtio-mem's movable memory first) and waits up to
    /// `guestWriteBound` for it to say it did.
    func guestWrites(_ machine: QEMUMachine, bytes: Int, into result: inout Result,
                     cancelled: @escaping @Sendable () -> Bool) throws {
        let (alive, seconds) = try guestWrites(machine, bytes: bytes, cancelled: cancelled)
        result.cancel?.guestAlive = alive
        result.cancel?.guestWaitSeconds = seconds
    }

    private func guestWrites(_ machine: QEMUMachine, bytes: Int, cancelled: @escaping @Sendable () -> Bool) throws
        -> (alive: Bool, seconds: Double) {
        guard spec.guest.takesWrites else {
            throw Stop(status: .failed, reason: "the guest takes no write command (build it again: scripts/qemu-real.sh --guest-only)")
        }
        try waitForCommandPort(machine, cancelled: cancelled)
        let mebibytes = max(1, (bytes * 9 / 10) >> 20)
        let start = MonotonicClock.now()
        try machine.tellGuest("write \(mebibytes)")
        // Running out of time is the answer here (a hung guest), not a failure.
        guard let said = try poll("the guest's write", timeout: guestWriteBound, interval: 0.02, machine: machine,
                                  cancelled: cancelled, {
                                      machine.consoleLine { $0 == "@@@ WROTE \(mebibytes)" || $0.hasPrefix("@@@ FAILED write") }
                                  }) else {
            return (false, guestWriteBound)
        }
        guard said.hasPrefix("@@@ WROTE") else { throw Stop(status: .failed, reason: "the guest: \(said.dropFirst(4))") }
        return (true, MonotonicClock.now() - start)
    }
}

/// What a QEMU process holds, from `/proc/PID/fd`.
enum QEMUProcess {
    /// Its open userfaultfds (`anon_inode:[userfaultfd]`).
    static func userfaultfdCount(pid: Int32) -> Int {
        ProcFile.descriptorTargets(pid: pid).filter { $0 == "anon_inode:[userfaultfd]" }.count
    }
}
