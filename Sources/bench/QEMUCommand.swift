import ArgumentParser
import Foundation
import Synchronization
import LinuxMM
import PopulateBench
import Experiments
import Results
import VMM

extension GuestLayout: ExpressibleByArgument {}

struct QEMUCommand: ParsableCommand, BadInputExitCode {
    static let configuration = CommandConfiguration(
        commandName: "qemu",
        abstract: "Run real QEMU background snapshots of a guest that plugs virtio-mem, on one QEMU or several side by side, "
            + "beside the emulation and the model.",
        discussion: "Boots the guest built by scripts/qemu-real.sh --guest-only with a virtio-mem device of --size per "
            + "backend, lets it plug each --plugged fraction, takes QEMU's background snapshot through QMP and records "
            + "what the QEMU process gained; then runs the emulation with the preset of the QEMU version and the guest's "
            + "own plugged ranges, and the control: the same memory as plain guest RAM. Exit codes: 0 every case ok or "
            + "skipped with a reason, 1 a case failed (rows kept), 2 bad input (nothing run), 130/143 SIGINT/SIGTERM."
    )

    enum Accelerator: String, CaseIterable, ExpressibleByArgument { case auto, tcg, kvm }

    @Option(help: ArgumentHelp("A QEMU binary; repeat it or give a comma-separated list to run every case on each, "
        + "their order reversed on every other repetition (scripts/get-qemu.sh makes them). "
        + "(default: qemu-system-x86_64 on PATH)", valueName: "path"),
            completion: .file())
    var qemu: [String] = []

    @Option(help: ArgumentHelp("The emulation's preset for the patched builds (qemu_build patched), or for the only "
        + "--qemu; instead of what the patch or the version says.", valueName: "strategy"),
            completion: .list(Strategy.allCases.map(\.rawValue)))
    var preset: Strategy?

    @Option(help: ArgumentHelp("Backends, comma-separated: "
        + QEMUPlan.backends.map { "\($0.rawValue) (\($0.declaration.qemuObject ?? ""))" }.joined(separator: ", ")
        + ". (default: all of them)", valueName: "list"),
            completion: .list(QEMUPlan.backends.map(\.rawValue)),
            transform: ArgumentValues.list)
    var backend: [Backend]?

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Size of the virtio-mem device (and of the control's RAM); a multiple of 128MiB, "
        + "Linux's memory block. (default: 1GiB)", valueName: "size"),
            transform: ArgumentValues.size)
    var size: Int = 1 << 30

    @Option(name: .customLong("plugged"), parsing: .unconditional,
            help: ArgumentHelp("Fractions of the device the guest plugs, 0...1, comma-separated. (default: 0,0.25,0.5,1; "
                + "with --cancel-at 0.25,0.5,1)", valueName: "list"),
            transform: ArgumentValues.fractions)
    var pluggedGiven: [Double]?
    var plugged: [Double] { pluggedGiven ?? (cancelAt == nil ? [0, 0.25, 0.5, 1] : [0.25, 0.5, 1]) }

    @Flag(name: .customLong("no-control"), help: "Leave out the control (the same memory as plain guest RAM).")
    var noControl = false

    @Option(name: .customLong("guest-layout"),
            help: ArgumentHelp("prefix (what Linux's driver plugs), hole (the guest offlines a memory block in the middle "
                + "of what it plugged, the first of two, and the driver unplugs it) or holes (every other block)."))
    var guestLayout: GuestLayout = .prefix

    @Flag(name: .customLong("image-check"),
          help: ArgumentHelp("Before the snapshot, write a control page at the start of each plugged run; while the "
              + "copy is held back, write a stamp into a page every 256 KiB past it (through /proc/PID/mem; the kernel "
              + "refuses it where protection tracks the page). QEMU's own image is kept and parsed: it must hold the "
              + "control pages, and the stamps it holds are lost writes. Stamps that land add to the real rows' data."))
    var imageCheck = false

    @Option(name: .customLong("cancel-at"), parsing: .unconditional,
            help: ArgumentHelp("Cancel each snapshot (migrate_cancel) once this fraction of the plugged memory is copied "
                + "(0 < f < 1), then measure what the cancel left: protection, registration, QEMU's state, whether the "
                + "guest can still write (docs/cancel.md).", valueName: "fraction"))
    var cancelAt: Double?
    @Option(name: .customLong("guest-write-bound"),
            help: ArgumentHelp("With --cancel-at: how long the guest's writer may take before the guest counts as hung. "
                + "(default: 60s)", valueName: "duration"),
            transform: ArgumentValues.duration)
    var guestWriteBound: Double?
    @Option(name: .customLong("guest-writers"), parsing: .unconditional,
            help: ArgumentHelp("Guest threads that write its plugged memory during each snapshot and time every write "
                + "(guest_write_* columns; the emulation runs as many writers).", valueName: "n"))
    var guestWriters = 0
    @Option(parsing: .unconditional, help: "Repetitions of every case.")
    var repetitions = 1

    @Option(help: "Accelerator: auto (KVM if a guest boots under /dev/kvm, else TCG), tcg or kvm.")
    var accel: Accelerator = .auto

    @Option(help: ArgumentHelp("Directory of the guest (vmlinuz, initrd.cpio). (default: "
        + "$XDG_CACHE_HOME/populatebench/virtio-mem-guest, ~/.cache without XDG_CACHE_HOME)", valueName: "dir"),
            completion: .directory)
    var guest: String?

    @Option(name: .customLong("boot-timeout"), help: ArgumentHelp("Time for the guest to boot. (default: 120s)",
                                                                   valueName: "duration"),
            transform: ArgumentValues.duration)
    var bootTimeout: Double = 120

    @Option(name: .customLong("plug-timeout"), help: ArgumentHelp("Time for the guest to plug. (default: 120s)",
                                                                   valueName: "duration"),
            transform: ArgumentValues.duration)
    var plugTimeout: Double = 120

    @Option(name: .customLong("snapshot-timeout"), help: ArgumentHelp("Time for the snapshot. (default: 600s)",
                                                                       valueName: "duration"),
            transform: ArgumentValues.duration)
    var snapshotTimeout: Double = 600

    @Option(name: .customLong("sample-interval"),
            help: ArgumentHelp("How often the QEMU process is sampled. (default: 10ms)", valueName: "duration"),
            transform: ArgumentValues.duration)
    var sampleInterval: Double = 0.01

    @Option(parsing: .unconditional, help: "Seed of the emulation's guest pattern.")
    var seed: UInt64 = RunPlan.defaultSeed

    @Flag(help: "Run hugetlb cases the pool cannot back (QEMU then dies of SIGBUS: a failed row).")
    var force = false

    @Option(help: ArgumentHelp("The /proc/vmstat counters each row records (the real snapshot's from just before "
        + "migrate to just after completion; the emulation's per phase), as vmstat_* columns: none, or "
        + "vmstat:NAME,... (default: vmstat:" + VMStatMonitor.defaultCounters.joined(separator: ",") + ").",
                               valueName: "monitor"),
            transform: ArgumentValues.monitor)
    var monitor: [String]?

    @Flag(help: "No progress on stderr.")
    var quiet = false

    @Option(help: ArgumentHelp("CSV file for the rows; samples and summary go beside it.", valueName: "path"),
            completion: .file(extensions: ["csv"]))
    var out = "results/qemu.csv"

    func validate() throws {
        do {
            try QEMUPlan.check(backends: backend, size: size, repetitions: repetitions, sampleInterval: sampleInterval,
                               pluggedFractions: plugged, control: !noControl,
                               guestLayout: guestLayout, imageCheck: imageCheck, cancelAt: cancelAt,
                               guestWriters: guestWriters)
        } catch {
            throw ValidationError(error.commandLineText)
        }
        if guestWriteBound != nil, cancelAt == nil {
            throw ValidationError("--guest-write-bound: applies to a cancelled snapshot only; add --cancel-at")
        }
        if let guestWriteBound, guestWriteBound <= 0 {
            throw ValidationError("--guest-write-bound: must be more than 0 seconds")
        }
        // Flags first, then the host: a wrong flag is named on any machine, with or without a guest.
        try ArgumentValues.checkMonitored(monitor)
        try OutputPath.checkWritable(out, flag: "--out", createsDirectories: true)
        _ = try programs()
        let image = GuestImage(directory: guest ?? GuestImage.defaultDirectory)
        guard image.isPresent else {
            throw ValidationError("--guest: no guest in \(guest ?? GuestImage.defaultDirectory) (vmlinuz, initrd.cpio); "
                + "build it with scripts/qemu-real.sh --guest-only")
        }
        if cancelAt != nil || guestWriters > 0, !image.takesWrites {
            throw ValidationError("--guest: the guest in \(guest ?? GuestImage.defaultDirectory) takes no write command, which "
                + "\(cancelAt != nil ? "--cancel-at" : "--guest-writers") needs; build it again with scripts/qemu-real.sh --guest-only")
        }
        if guestLayout != .prefix, !image.takesCommands {
            throw ValidationError("--guest: the guest in \(guest ?? GuestImage.defaultDirectory) takes no commands, which "
                + "--guest-layout \(guestLayout.rawValue) needs; build it again with scripts/qemu-real.sh --guest-only")
        }
        if accel == .kvm, !FileAccess.isReadWritable("/dev/kvm") {
            throw ValidationError("--accel: kvm needs a usable /dev/kvm")
        }
        if let problem = ChildTrialLauncher.problem(with: ChildTrialLauncher.besideCurrentExecutable) {
            throw ValidationError(problem)
        }
    }

    /// What `programs()` found for a `--qemu` and `--preset`: `validate()` and `run()` both need
    /// them, and each costs a `--version` run per binary (40–80 ms).
    private static let located = Mutex<[String: [QEMUProgram]]>([:])

    /// The QEMU programs, each with its preset; a path that is no usable QEMU is bad input for --qemu.
    func programs() throws -> [QEMUProgram] {
        let key = (qemu + [preset?.rawValue ?? ""]).joined(separator: "\u{0}")
        if let found = Self.located.withLock({ $0[key] }) { return found }
        let found = try locatePrograms()
        Self.located.withLock { $0[key] = found }
        return found
    }

    private func locatePrograms() throws -> [QEMUProgram] {
        let paths = qemu.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        if paths.contains(where: \.isEmpty) { throw ValidationError("--qemu: an empty path") }
        var binaries: [QEMUBinary] = []
        for path in paths.isEmpty ? [nil] : paths.map(Optional.some) {
            do {
                binaries.append(try QEMUBinary.locate(path, searchPath: ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"))
            } catch {
                throw ValidationError("--qemu: \(error)")
            }
        }
        let appliesTo: (QEMUBinary) -> Bool = { binaries.count == 1 || $0.build.kind == .patched }
        if let preset, !binaries.contains(where: appliesTo) {
            throw ValidationError("--preset \(preset.rawValue): it applies to a patched build or the only --qemu, "
                + "and none of the \(binaries.count) is patched")
        }
        let programs = binaries.map { QEMUProgram(binary: $0, override: appliesTo($0) ? preset : nil) }
        var seen: Set<String> = []
        for program in programs where !seen.insert(program.label).inserted {
            throw ValidationError("--qemu: \(program.label) is given twice (give each build once)")
        }
        return programs
    }

    func run() throws {
        let programs = try programs()
        let image = GuestImage(directory: guest ?? GuestImage.defaultDirectory)
        let (accelerator, why): (String, String)
        switch accel {
        case .tcg: (accelerator, why) = ("tcg", "--accel tcg")
        case .kvm: (accelerator, why) = ("kvm", "--accel kvm")
        case .auto: (accelerator, why) = QEMUAccelerator.probe(program: programs[0], guest: image)
        }
        var plan = QEMUPlan(programs: programs, accelerator: accelerator, acceleratorReason: why,
                            backends: backend ?? QEMUPlan.backends, size: size, pluggedFractions: plugged, guest: image)
        plan.control = !noControl
        plan.repetitions = repetitions
        plan.timeouts.boot = bootTimeout
        plan.timeouts.plug = plugTimeout
        plan.timeouts.snapshot = snapshotTimeout
        plan.sampleInterval = sampleInterval
        plan.force = force
        plan.seed = seed
        plan.guestLayout = guestLayout
        plan.imageCheck = imageCheck
        plan.cancelAt = cancelAt
        plan.guestWriters = guestWriters
        if let guestWriteBound { plan.guestWriteBound = guestWriteBound }
        if let monitor { plan.vmstatCounters = monitor }
        let bench = QEMUBench(QEMUExperiment(plan: plan, host: HostCapabilities.probe()), outPath: out,
                              progress: TerminalProgress(quiet: quiet))
        let report: QEMUBench.Report
        do {
            report = try bench.run()
        } catch {
            FileHandle.standardError.write(Data("bench: \(error)\n".utf8))
            throw ExitCode(1)
        }
        print(QEMUTable.render(report.comparisons, plan: plan))
        let skipped = report.comparisons.filter { $0.real.status == .skipped }.count
        var closing = "bench: \(report.comparisons.count) real snapshots: "
            + "\(report.comparisons.count - skipped - report.failedCount) ok, \(skipped) skipped, \(report.failedCount) failed. "
            + "Rows: \(report.rawPath); samples: \(report.samplesPath); summary: \(report.summaryPath)"
        if let signal = report.interruptedBy {
            closing = "bench: interrupted by \(Signals.name(signal)); " + closing.dropFirst(7)
        }
        fflush(nil)
        if !quiet || report.exitCode != 0 { FileHandle.standardError.write(Data((closing + "\n").utf8)) }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
