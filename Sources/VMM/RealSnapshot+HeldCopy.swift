import Foundation
import LinuxMM
import PopulateBench

extension RealSnapshot {
    /// Waits until the snapshot's thread blocks on the held sink (so protection is in place and the
    /// copy has barely begun) and reads the protection map of the plugged runs. For the image check
    /// the harness then writes its stamp into every `stampStride`-th page of the plugged runs
    /// through `/proc/PID/mem`, as a device's DMA would: the kernel refuses a write to a protected
    /// page (it cannot wait for QEMU's handler from another process), so a write that lands is one
    /// that protection does not track. (The kernel refuses because a remote access may not wait
    /// for a userfault, `handle_userfault` without `FAULT_FLAG_ALLOW_RETRY`; `ProtectionMapOfAProcess`
    /// checks it on the host.) The guest itself cannot write while the copy is held: its first
    /// write to protected memory (its kernel's own data) waits for the held migration thread.
    func holdCopy(_ machine: QEMUMachine, qmp: QMPClient, deviceStart: UInt?, into result: inout Result,
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
}
