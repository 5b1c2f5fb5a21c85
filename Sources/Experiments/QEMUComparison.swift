import Foundation
import LinuxMM
import Synchronization
import PopulateBench
import Results
import VMM


/// A real snapshot and its emulation.
public struct QEMUComparison: Sendable {
    public var item: QEMUPlan.Case
    public var real: RealSnapshot.Result
    public var emulationConfig: TrialConfig
    public var emulation: TrialResult?

    /// What the real QEMU process gained over the snapshot. Data is RssAnon + RssShmem +
    /// HugetlbPages: the file pages QEMU's and libc's code adds when the migration code first
    /// runs are page cache, not memory the snapshot allocates.
    public var realGain: (pte: Int, data: Int)? {
        guard real.status == .ok, let before = real.before?.status, let after = real.after?.status else { return nil }
        func data(_ status: ProcStatus) -> Int { status.rssAnon + status.rssShmem + status.hugetlbPages }
        return (after.vmPTE - before.vmPTE, data(after) - data(before))
    }

    /// The emulation's populate, protect and copy together, data counted as for the real process.
    public var emulatedGain: (pte: Int, data: Int)? {
        guard let emulation, emulation.status == .ok else { return nil }
        let phases = emulation.phases
        return (phases.reduce(0) { $0 + $1.delta.pteBytes },
                phases.reduce(0) { $0 + $1.delta.rssAnonBytes + $1.delta.rssShmemBytes + $1.delta.hugetlbBytes })
    }

    /// Data the emulation's region gained (the counterpart of `deviceDataGain`): populate and protect
    /// touch nothing else, and the copy's part is measured on the region alone.
    public var emulatedDeviceGain: Int? {
        guard let emulation, emulation.status == .ok else { return nil }
        return emulation.phases.reduce(0) { total, phase in
            total + (phase.phase == .snapshot ? phase.regionDataBytes ?? 0
                : phase.delta.rssAnonBytes + phase.delta.rssShmemBytes + phase.delta.hugetlbBytes)
        }
    }

    /// The model's expectation for the same.
    public var expected: (pte: Int, data: Int)? {
        guard let emulation, emulation.status == .ok else { return nil }
        let phases = emulation.phases
        return (phases.reduce(0) { $0 + $1.expected.pageTableBytes }, phases.reduce(0) { $0 + $1.expected.dataBytes })
    }

    /// Data the tested memory's own mapping gained (the rest is QEMU's own allocations).
    public var deviceDataGain: Int? {
        guard real.status == .ok, let before = real.deviceDataBefore, let after = real.deviceDataAfter else { return nil }
        return after - before
    }
}
