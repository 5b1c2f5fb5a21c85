import PopulateBench
/// What `bench qemu` adds to each of its rows: the program measured and, on the real snapshot's
/// row, what the tested memory's own mapping did.
public struct VMMFields: Sendable {
    public var qemuVersion: String
    /// `debian`, `backports`, `source` or `patched` (`scripts/get-qemu.sh`).
    public var qemuBuild: String
    /// The patch file's name on a patched build, else empty.
    public var qemuPatch: String
    public var accelerator: String
    public var emulatedBy: String
    /// Real rows of a run with several QEMUs: what separates this program from the one before it.
    public var qemuChange = ""
    public var guestLayout = "prefix"
    /// What the guest left plugged, as `0-128MiB;256MiB-512MiB`.
    public var pluggedRanges = ""
    public var stampedPages: Int?
    /// Real rows only (nil on the emulation's rows).
    public var deviceDataBytes: Int?
    public var deviceResidentBytes: Int?
    public var deviceMisalignmentBytes: Int?
    public var qemuTotalMilliseconds: Int?
    /// Real rows: the real program's steps, from its own trace events.
    public var qemuPopulateSeconds: Double?
    public var qemuProtectSeconds: Double?
    public var qemuCopySeconds: Double?
    /// Real rows of a cancelled snapshot: QEMU's state a second after it said `cancelled`.
    public var afterCancelQEMUState = ""
    /// Real rows with `--guest-writers`: what the guest's own writes took.
    public var guestWrites: GuestWriteLatency?

    public init(qemuVersion: String, qemuBuild: String, qemuPatch: String, accelerator: String, emulatedBy: String) {
        self.qemuVersion = qemuVersion
        self.qemuBuild = qemuBuild
        self.qemuPatch = qemuPatch
        self.accelerator = accelerator
        self.emulatedBy = emulatedBy
    }
}

/// The columns `bench qemu` writes after the raw CSV's.
public enum VMMColumns {
    public static let all: [Column<VMMFields>] = [
        Column(Name.qemuVersion, .identity, .text, "what `--version` said: `7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)`") {
            $0.qemuVersion
        },
        Column(Name.qemuBuild, .identity, .text,
               "where the QEMU came from: `debian` (the distribution's package), `backports` (bookworm-backports, "
                   + "unpacked), `source` (built from source), `patched` (built with a patch); `scripts/get-qemu.sh`") {
            $0.qemuBuild
        },
        Column(Name.qemuPatch, .identity, .text, "a patched build's patch file (`wp-unpopulated-7.2.patch`), else empty") {
            $0.qemuPatch
        },
        Column("accelerator", .identity, .text, "`tcg` or `kvm`") { $0.accelerator },
        Column("emulated_by", .identity, .text, "the preset the emulation ran: the version's, a patch's own (its `PopulateBench-Preset:` line) or `--preset`") { $0.emulatedBy },
        Column("qemu_change", .context, .text,
               "real rows of a run of several QEMUs: what separates this program from the one before it on the "
                   + "command line, by the QEMU commits between their presets (or the patch); empty for the first") {
            $0.qemuChange
        },
        Column("guest_layout", .identity, .text,
               "`prefix` (what Linux's driver plugs), `hole` or `holes` (memory blocks the guest offlined and the "
                   + "driver unplugged); `--guest-layout`") { $0.guestLayout },
        Column("plugged_ranges", .context, .text,
               "what the guest left plugged, from its driver's plugging and unplugging lines: `0-128MiB;256MiB-512MiB`") {
            $0.pluggedRanges
        },
        Column("stamped_pages", .context, .count,
               "real rows, `--image-check`: of the stamps the harness wrote into the device while the copy was held "
                   + "(a page every 256 KiB of each plugged run past its first, through `/proc/PID/mem`, as a device's DMA "
                   + "would), those that landed: the kernel refuses a write to a protected page, so these went to untracked "
                   + "pages or to pages the copy had already sent (and unprotected)") {
            Column<VMMFields>.integer($0.stampedPages)
        },
        Column("device_data_bytes", .context, .bytes,
               "real rows: data the tested memory's own mapping gained (`/proc/PID/smaps`); the rest of the "
                   + "process's gain is QEMU's own") { Column<VMMFields>.integer($0.deviceDataBytes) },
        Column("device_resident_bytes", .context, .bytes,
               "real rows: data in that mapping before the snapshot (what the guest had written)") {
            Column<VMMFields>.integer($0.deviceResidentBytes)
        },
        Column("device_misalignment_bytes", .context, .bytes,
               "real rows: the mapping's start modulo 2 MiB (QEMU 7.2 aligns a shmem memfd to the page only)") {
            Column<VMMFields>.integer($0.deviceMisalignmentBytes)
        },
        Column("qemu_total_ms", .context, .count, "real rows: QEMU's own `total-time` of the migration, in milliseconds") {
            Column<VMMFields>.integer($0.qemuTotalMilliseconds)
        },
        Column("qemu_populate_seconds", .context, .seconds,
               "real rows: from QEMU's trace events, `migrate_set_state` setup to `savevm_state_header`: the "
                   + "migration thread's population of RAM before protecting it, after the start of the sink (for "
                   + "`exec:`, a fork of QEMU) and of the thread; empty where QEMU traced nothing "
                   + "(a build without the `log` trace backend)") { $0.qemuPopulateSeconds.map(CellFormat.seconds) ?? "" },
        Column("qemu_protect_seconds", .context, .seconds,
               "real rows: from `migration_thread_setup_complete` to the last `ram_write_tracking_ramblock_start`: "
                   + "the VM's stop, its devices' state, and the write protection of every RAM block") {
            $0.qemuProtectSeconds.map(CellFormat.seconds) ?? ""
        },
        Column("qemu_copy_seconds", .context, .seconds,
               "real rows: from the last `ram_write_tracking_ramblock_start` to `migration_thread_after_loop`: the "
                   + "copy of RAM under write tracking (with the harness's hold of the copy, where it held it)") {
            $0.qemuCopySeconds.map(CellFormat.seconds) ?? ""
        },
        Column("after_cancel_qemu_state", .context, .text,
               "real rows with `--cancel-at`: QEMU a second after it said `cancelled`: its migration state, the VM's "
                   + "run state (`query-status`) and how many userfaultfds it holds open") { $0.afterCancelQEMUState },
        Column("guest_writes", .context, .count,
               "real rows with `--guest-writers`: writes the guest's writers timed from just before `migrate` to the "
                   + "snapshot's end") { Column<VMMFields>.integer($0.guestWrites?.writes) },
        Column("guest_write_p50_us", .context, .microseconds,
               "real rows with `--guest-writers`: the median time of a guest write, measured in the guest (100 ns buckets; "
                   + "under TCG the emulator's time: compare programs, not hosts); the emulation's `stall_*` beside it") {
            $0.guestWrites.map { CellFormat.microseconds(UInt64($0.p50Nanoseconds)) } ?? ""
        },
        Column("guest_write_p99_us", .context, .microseconds, "real rows with `--guest-writers`: the 99th percentile") {
            $0.guestWrites.map { CellFormat.microseconds(UInt64($0.p99Nanoseconds)) } ?? ""
        },
        Column("guest_write_max_us", .context, .microseconds,
               "real rows with `--guest-writers`: the longest guest write (a write that met the harness's hold of the "
                   + "copy includes it: milliseconds)") {
            $0.guestWrites.map { CellFormat.microseconds(UInt64($0.maxNanoseconds)) } ?? ""
        },
    ]

    public static let names = all.map(\.name)

    /// The program's columns that readers of files refer to by name.
    public enum Name {
        public static let qemuBuild = "qemu_build"
        public static let qemuVersion = "qemu_version"
        public static let qemuPatch = "qemu_patch"
    }

}

/// A row of `bench qemu`: a phase of the emulation's trial, or a real QEMU's snapshot (its
/// `trial.subject`), with the program that ran it.
public struct QEMURecord: Sendable {
    public var trial: PhaseRecord
    public var program: VMMFields

    public init(trial: PhaseRecord, program: VMMFields) {
        self.trial = trial
        self.program = program
    }

    /// `bench run`'s columns, then QEMU's.
    public static let columns: [Column<QEMURecord>] = TrialColumns.all.map { $0.reading { $0.trial } }
        + VMMColumns.all.map { $0.reading { $0.program } }
}
