import Foundation
import LinuxMM
import Synchronization
import PopulateBench
import Results
import VMM


/// What `bench qemu` runs: real QEMU background snapshots of a virtio-mem device of each backend
/// at each plugged fraction, and the same memory as plain guest RAM (the control), on each QEMU
/// program; beside each, the harness's emulation of that configuration with the program's preset.
public struct QEMUPlan: Sendable {
    /// The QEMUs, in the order the first repetition runs them.
    public var programs: [QEMUProgram]
    /// `tcg` or `kvm`, and why.
    public var accelerator: String
    public var acceleratorReason: String
    public var backends: [Backend]
    public var size: Int
    public var pluggedFractions: [Double]
    public var control = true
    public var repetitions = 1
    public var guest: GuestImage
    public var timeouts = RealSnapshot.Timeouts()
    public var sampleInterval = 0.01
    /// Run what the hugetlb pool check would skip (QEMU then dies of SIGBUS: a failed row).
    public var force = false
    public var seed = RunPlan.defaultSeed
    public var trialTimeout = 600.0
    /// The holes the guest makes in what it plugged (`--guest-layout`).
    public var guestLayout = GuestLayout.prefix
    /// Whether the harness stamps the plugged memory during the held copy and QEMU's image is
    /// checked (`--image-check`).
    public var imageCheck = false
    /// `--cancel-at`: the fraction of the plugged memory copied when each snapshot is cancelled.
    public var cancelAt: Double?
    /// With `cancelAt`: seconds the guest's writer may take before the guest counts as hung.
    public var guestWriteBound = 60.0
    /// `--guest-writers`: threads of the guest timing their writes during each snapshot (the
    /// emulation runs as many writers).
    public var guestWriters = 0
    /// The `/proc/vmstat` counters each row records (`--monitor`).
    public var vmstatCounters = VMStatMonitor.defaultCounters

    public static let backends = Backend.allCases.filter { $0.declaration.qemuObject != nil }
    /// virtio-mem's block on these backends: the THP size, and 2 MiB huge pages.
    public static let blockSize = 2 << 20

    public init(programs: [QEMUProgram], accelerator: String, acceleratorReason: String, backends: [Backend], size: Int,
                pluggedFractions: [Double], guest: GuestImage) {
        self.programs = programs
        self.accelerator = accelerator
        self.acceleratorReason = acceleratorReason
        self.backends = backends
        self.size = size
        self.pluggedFractions = pluggedFractions
        self.guest = guest
    }

    /// One real configuration: a QEMU, a backend and a plugged fraction, or the control.
    public struct Case: Sendable, Equatable {
        public var program: QEMUProgram
        public var backend: Backend
        /// nil: the control (plain guest RAM).
        public var pluggedFraction: Double?
        public var configurationLabel: String {
            "\(backend.rawValue) " + (pluggedFraction.map { "virtio-mem plugged=\($0)" } ?? "plain RAM (pc-dimm)")
        }
        public var label: String { "\(program.label): \(configurationLabel)" }
    }

    /// Every case of repetition 1: per backend and fraction (then the control), each program.
    public var cases: [Case] { cases(repetition: 1) }

    /// The cases of one repetition: each configuration on every program in turn, the programs in
    /// the given order on odd repetitions and reversed on even ones, so that a drift of the machine
    /// within a run does not favour one program.
    public func cases(repetition: Int) -> [Case] {
        let order = repetition % 2 == 1 ? programs : programs.reversed()
        return backends.flatMap { backend in
            (pluggedFractions.map(Optional.some) + (control ? [nil] : [])).flatMap { fraction in
                order.map { Case(program: $0, backend: backend, pluggedFraction: fraction) }
            }
        }
    }

    /// The rules of a plan that need no QEMU to check; the first problem names its input.
    public static func check(backends: [Backend]?, size: Int, repetitions: Int, sampleInterval: Double,
                             pluggedFractions: [Double], control: Bool,
                             guestLayout: GuestLayout = .prefix, imageCheck: Bool = false,
                             cancelAt: Double? = nil, guestWriters: Int = 0) throws(RunPlan.InputError) {
        for item in backends ?? [] where !Self.backends.contains(item) {
            throw RunPlan.InputError(.backends, "\(item.rawValue) is not one of "
                + Self.backends.map(\.rawValue).joined(separator: ", "))
        }
        // Linux onlines and offlines a guest's memory in blocks of 128 MiB on x86-64.
        guard size >= 128 << 20, size % (128 << 20) == 0 else {
            throw RunPlan.InputError(.size, "\(ByteSize.exact(size)) is not a multiple of 128MiB (Linux's memory block)")
        }
        guard repetitions >= 1 else { throw RunPlan.InputError(.repetitions, "must be at least 1, not \(repetitions)") }
        guard sampleInterval >= 0.001 else { throw RunPlan.InputError(.sampleInterval, "must be at least 1ms") }
        guard !pluggedFractions.isEmpty || control else {
            throw RunPlan.InputError(.plugged, "nothing to run (no fractions and \(PlanInput.withoutControl.reference))")
        }
        let blocks = size / blockSize
        if imageCheck, !pluggedFractions.contains(where: { Int(($0 * Double(blocks)).rounded()) > 0 }) {
            throw RunPlan.InputError(.imageCheck, "nothing plugged to check: every \(PlanInput.plugged.reference) fraction is 0")
        }
        guard (0 ... 64).contains(guestWriters) else {
            throw RunPlan.InputError(.guestWriters, "\(guestWriters) is not a number of writer threads from 0 (none) to 64")
        }
        if guestWriters > 0 {
            guard cancelAt == nil else {
                throw RunPlan.InputError(.guestWriters, "a cancelled snapshot's guest writes once after the cancel; "
                    + "drop \(PlanInput.cancelAt.reference) or \(PlanInput.guestWriters.reference)")
            }
            if let empty = pluggedFractions.first(where: { Int(($0 * Double(blocks)).rounded()) == 0 }) {
                throw RunPlan.InputError(.guestWriters, "\(PlanInput.plugged.reference) \(empty) plugs nothing for the guest to write")
            }
        }
        if let cancelAt {
            guard cancelAt > 0, cancelAt < 1 else {
                throw RunPlan.InputError(.cancelAt, "'\(cancelAt)' is not a fraction of the copy strictly between 0 and 1")
            }
            guard !imageCheck else {
                throw RunPlan.InputError(.cancelAt, "a cancelled snapshot leaves no image to check; drop \(PlanInput.imageCheck.reference)")
            }
            if let empty = pluggedFractions.first(where: { Int(($0 * Double(blocks)).rounded()) == 0 }) {
                throw RunPlan.InputError(.cancelAt, "\(PlanInput.plugged.reference) \(empty) plugs nothing: no copy to cancel")
            }
            // The emulation cancels after the fraction of its plugged pages, rounded up: a copy of a
            // few huge pages can reach every one of them first.
            for backend in backends ?? Self.backends {
                let page = backend.pageSize(hugePageSize: 2 << 20, basePageSize: KernelInfo.pageSize)
                for fraction in pluggedFractions {
                    let pages = Int((fraction * Double(blocks)).rounded()) * blockSize / page
                    if SnapshotOptions.cancelComesAfterTheCopy(at: cancelAt, of: pages) {
                        throw RunPlan.InputError(.cancelAt, "\(cancelAt) of the \(pages) plugged "
                            + "\(ByteSize.format(page)) pages of \(PlanInput.plugged.reference) \(fraction) (\(backend.rawValue)) is every page: "
                            + "the emulation's copy would complete before its cancel")
                    }
                }
            }
        }
        if guestLayout != .prefix {
            let block = GuestLayout.memoryBlockSize
            for fraction in pluggedFractions where fraction > 0 {
                let blocks = Int((fraction * Double(size / blockSize)).rounded()) * blockSize / block
                guard blocks >= 2 else {
                    throw RunPlan.InputError(.guestLayout, "\(guestLayout.rawValue) offlines memory blocks of "
                        + "128MiB and needs at least two plugged; \(PlanInput.plugged.reference) \(fraction) of \(ByteSize.format(size)) plugs "
                        + "\(blocks == 0 ? "less than one" : "one")")
                }
            }
        }
    }

    /// Bytes the guest is asked to plug: whole blocks.
    public func requested(_ fraction: Double) -> Int {
        Int((fraction * Double(size / Self.blockSize)).rounded()) * Self.blockSize
    }

    /// Why a case cannot run on this host's hugetlb pool: the snapshot populates what is plugged
    /// (all of it for plain RAM), a huge page each 2 MiB, and QEMU dies of SIGBUS when the pool is out.
    public func poolProblem(_ item: Case) -> String? {
        guard item.backend.isHugetlb, !force else { return nil }
        let populated = item.pluggedFraction.map(requested) ?? size
        let needed = populated / (2 << 20)
        let free = SysfsMM.hugePagePool(pageSize: 2 << 20)?.free ?? 0
        guard needed > free else { return nil }
        return "the snapshot populates \(ByteSize.format(populated)) of hugetlb memory: \(needed) free 2MiB huge pages "
            + "needed, the pool has \(free) (QEMU would die of SIGBUS; grow it: scripts/setup.sh --hugepages \(needed), "
            + "or --force to see that)"
    }
}
