import Foundation
import LinuxMM
import Synchronization
import PopulateBench

/// The guest `bench qemu` boots: a kernel and an initramfs that loads the virtio modules, lets the
/// virtio-mem driver plug what the device requests (logging each `plugging memory: A - B`), says
/// `@@@ READY` on the console and idles. `scripts/qemu-real.sh --guest-only` builds it.
public struct GuestImage: Sendable, Equatable {
    public var kernel: String
    public var initrd: String
    /// What its `/init` understands (`protocol` beside it): `commands 2` takes `offline N` once it has said `@@@ COMMANDS`
    /// on its second serial port, `commands 4` also `write` and `writers`; an older guest takes none.
    public var protocolName: String?

    /// `${XDG_CACHE_HOME:-$HOME/.cache}/populatebench/virtio-mem-guest`, where the script puts it.
    public static var defaultDirectory: String {
        let cache = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() + "/.cache")
        return cache + "/populatebench/virtio-mem-guest"
    }

    public init(directory: String) {
        kernel = directory + "/vmlinuz"
        initrd = directory + "/initrd.cpio"
        protocolName = (try? String(contentsOfFile: directory + "/protocol", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `commands 4` adds `write MIB` (a cancelled snapshot's guest writer) and `writers N MIB`,
    /// `start`, `stop` (timed writes during a snapshot) to `commands 2`'s `offline N`.
    public static let commandsProtocol = "commands 4"
    /// What the guest says once its command port is open.
    public static let commandsMarker = "@@@ COMMANDS"
    public var takesCommands: Bool { protocolName == Self.commandsProtocol || protocolName == "commands 2" }
    /// It takes `write` and `writers`.
    public var takesWrites: Bool { protocolName == Self.commandsProtocol }

    public var isPresent: Bool {
        FileManager.default.isReadableFile(atPath: kernel) && FileManager.default.isReadableFile(atPath: initrd)
    }

    public static let readyMarker = "@@@ READY"
}

/// How one QEMU is started: small preallocated boot RAM and the memory under test, as a virtio-mem
/// device or, for the control, as plain guest RAM (a pc-dimm).
public struct QEMUMachineSpec: Sendable {
    public enum Memory: Sendable, Equatable {
        /// A virtio-mem device whose guest is asked to plug `requested` bytes.
        case virtioMem(requested: Int)
        /// The same memory as a pc-dimm: plain guest RAM, which QEMU populates in full.
        case plainRAM
    }

    public var qemuPath: String
    public var accelerator: String
    public var backend: Backend
    public var size: Int
    public var memory: Memory
    public var guest: GuestImage
    /// `-L` directories: where a QEMU outside `/usr` finds its firmware (`scripts/get-qemu.sh`).
    public var dataDirectories: [String] = []

    public init(qemuPath: String, accelerator: String, backend: Backend, size: Int, memory: Memory, guest: GuestImage) {
        self.qemuPath = qemuPath
        self.accelerator = accelerator
        self.backend = backend
        self.size = size
        self.memory = memory
        self.guest = guest
    }

    /// Boot RAM is preallocated (`prealloc=on`): the snapshot then populates nothing there, and
    /// what QEMU gains is the memory under test plus QEMU's own allocations. Its size differs from
    /// the device's, so the device's mapping is the one of exactly `size` bytes.
    public var bootRAM: Int { size == 256 << 20 ? 288 << 20 : 256 << 20 }

    /// The memory backend object of `backend` (QEMU's names: memory-backend-ram for anonymous
    /// memory, memory-backend-memfd for shmem and, with hugetlb=on, hugetlb).
    /// The backend's declaration holds it (`reserve=off` on hugetlb: the pool need not hold the
    /// whole device, only what gets populated); `QEMUPlan.check` admits only backends that have one.
    public var backendObject: String {
        guard let object = backend.declaration.qemuObject else {
            preconditionFailure("bench qemu does not run \(backend.rawValue)")
        }
        return "\(object),id=mem0,size=\(size)"
    }

    public func arguments(socket: String, console: String, commands: String, trace: String) -> [String] {
        let megabytes = bootRAM >> 20
        var arguments = dataDirectories.flatMap { ["-L", $0] }
        arguments += [
            // Named threads: the harness finds the snapshot's thread blocked on its held sink.
            "-name", "populatebench,debug-threads=on",
            "-machine", "q35,memory-backend=bootram", "-accel", accelerator, "-smp", "1",
            "-m", "\(megabytes)M,slots=2,maxmem=\((bootRAM + size + (2 << 30)) >> 20)M",
            "-object", "memory-backend-ram,id=bootram,size=\(megabytes)M,prealloc=on",
            "-object", backendObject,
        ]
        switch memory {
        case let .virtioMem(requested):
            arguments += ["-device", "virtio-mem-pci,id=vm0,memdev=mem0,requested-size=\(requested)"]
        case .plainRAM:
            arguments += ["-device", "pc-dimm,id=dimm0,memdev=mem0"]
        }
        arguments += [
            "-kernel", guest.kernel, "-initrd", guest.initrd,
            "-append", "console=ttyS0 quiet memhp_default_state=online_movable panic=-1",
            "-serial", "file:\(console)",
            // The guest's second serial port (ttyS1): the harness's commands.
            "-chardev", "socket,id=commands,path=\(commands),server=on,wait=off",
            "-device", "isa-serial,chardev=commands",
            "-display", "none", "-nodefaults", "-no-reboot",
            "-qmp", "unix:\(socket),server=on,wait=off",
        ]
        return arguments + QEMUTrace.arguments(writingTo: trace)
    }
}

/// A running QEMU, its console file and QMP socket in a private directory. `shutDown` kills it by
/// PID (if still running), reaps it and removes the directory: no socket or file is left, and its
/// memfds and hugetlb pages go with the process.
public final class QEMUMachine: @unchecked Sendable {
    public let spec: QEMUMachineSpec
    public let directory: String
    public var socketPath: String { directory + "/qmp.sock" }
    public var consolePath: String { directory + "/console.log" }
    public var commandSocketPath: String { directory + "/commands.sock" }
    /// QEMU's trace log (`QEMUTrace`).
    public var tracePath: String { directory + "/trace.log" }
    private let commandConnection = Mutex<UnixSocket?>(nil)
    private let child: ChildProcess
    private let outcome = Mutex<ChildProcess.Outcome?>(nil)
    private let reaped = DispatchSemaphore(value: 0)

    public var pid: Int32 { child.pid }

    /// util-linux's `setpriv`, where installed (Debian: always, it is essential).
    static let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The command QEMU's `exec:` migration runs to write the stream to `path`: like the harness's
    /// QEMU, it dies with its parent; it opens `path` itself, after that is set.
    public static func sinkCommand(writingTo path: String) -> String {
        // QEMU runs it with /bin/sh -c: exec, so that the writer is QEMU's own child.
        let quoted = "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'"
        let writer = "dd of=\(quoted) bs=64k status=none"
        return "exec " + (setpriv.map { "\($0) --pdeathsig KILL -- \(writer)" } ?? writer)
    }

    public init(spec: QEMUMachineSpec) throws {
        self.spec = spec
        let base = FileManager.default.temporaryDirectory.path
        // sun_path holds 108 bytes; a long TMPDIR falls back to /tmp.
        let parent = base.utf8.count < 60 ? base : "/tmp"
        directory = "\(parent)/bench-qemu-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700])
        do {
            let arguments = spec.arguments(socket: directory + "/qmp.sock", console: directory + "/console.log",
                                           commands: directory + "/commands.sock", trace: directory + "/trace.log")
            // QEMU dies with the harness, even one that crashed: setpriv sets PR_SET_PDEATHSIG and
            // execs it (the same PID).
            if let setpriv = Self.setpriv {
                child = try ChildProcess(path: setpriv, arguments: ["--pdeathsig", "KILL", "--", spec.qemuPath] + arguments)
            } else {
                child = try ChildProcess(path: spec.qemuPath, arguments: arguments)
            }
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        let thread = Thread { [self] in
            // The bound only guards against a waiter that outlives everything; shutDown kills first.
            let result = child.wait(timeout: 24 * 3600)
            outcome.withLock { $0 = result }
            reaped.signal()
        }
        thread.start()
    }

    /// How QEMU ended, or nil while it runs.
    public var exit: ChildProcess.Outcome? { outcome.withLock { $0 } }

    /// The trace events QEMU has logged so far.
    public var traceEvents: [QEMUTrace.Event] {
        QEMUTrace.parse((try? String(contentsOfFile: tracePath, encoding: .utf8)) ?? "")
    }

    public var console: String {
        (try? String(contentsOfFile: consolePath, encoding: .utf8)) ?? ""
    }

    /// Why QEMU is gone, for a row's reason: its exit and its last stderr line.
    public var exitReason: String {
        guard let exit else { return "QEMU is still running" }
        let line = String(decoding: exit.stderr, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        // `-msg timestamp=on` (for the trace) puts the time before each message: not the reason.
        let stderr = line.replacing(#/^\d{4}-\d\d-\d\dT[\d:.]+Z /#, with: "")
        let how: String
        switch exit.termination {
        case let .exited(status): how = "QEMU exited with status \(status)"
        case let .signaled(signal) where signal == SIGBUS && spec.backend.isHugetlb:
            how = "QEMU was killed by SIGBUS: a huge page could not be allocated (the hugetlb pool ran out)"
        case let .signaled(signal): how = "QEMU was killed by \(Signals.name(signal))"
        case .timedOut: how = "QEMU was killed"
        }
        return stderr.isEmpty ? how : "\(how): \(stderr)"
    }

    public func kill() { child.kill() }

    /// The first line of the console `accepts` takes, or nil.
    public func consoleLine(where accepts: (String) -> Bool) -> String? {
        console.split(whereSeparator: \.isNewline).lazy.map(String.init).first(where: accepts)
    }

    /// Sends one command line to the guest's `/init` (its second serial port).
    public func tellGuest(_ command: String) throws {
        try commandConnection.withLock { connection in
            if connection == nil { connection = try UnixSocket(path: commandSocketPath) }
            try connection!.send(Array((command + "\n").utf8))
        }
    }

    /// Kills QEMU (unless it has exited), waits for it, removes the directory.
    public func shutDown() {
        commandConnection.withLock { $0?.close() }
        child.kill()
        reaped.wait()
        reaped.signal()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
