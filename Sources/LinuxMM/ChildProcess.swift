#if canImport(Glibc)
import Glibc
#endif

/// A child process with its stdin, stdout and stderr on pipes, waited for with `waitpid` and a
/// deadline. Plain `posix_spawn` and `poll`: Foundation's `Process` learns of a child's exit through
/// loopback sockets, and hangs where there is no loopback interface (a minimal guest's initramfs).
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private var stdinFD: CInt
    /// Guards `reaped`: once `waitpid` has reaped the child its pid may be reused, and must not be killed.
    private let reapLock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var reaped = false
    private let stdoutFD: CInt
    private let stderrFD: CInt

    public enum Termination: Equatable, Sendable {
        case exited(CInt)
        case signaled(CInt)
        /// Still running at the deadline; it was killed with SIGKILL.
        case timedOut
    }

    public struct Outcome: Sendable {
        public var termination: Termination
        public var stdout: [UInt8]
        public var stderr: [UInt8]
    }

    /// How the child starts, beyond its arguments.
    public struct Options: Sendable {
        /// Variables set in the child's environment, on top of (or instead of) the parent's own.
        public var environment: [String: String]
        /// The child leads a process group of its own, so that signals for the parent's group (a
        /// terminal's Ctrl-C is SIGINT to the whole foreground group) do not reach it.
        public var ownProcessGroup: Bool

        public init(environment: [String: String] = [:], ownProcessGroup: Bool = false) {
            self.environment = environment
            self.ownProcessGroup = ownProcessGroup
        }
    }

    /// A child that dies before reading its stdin must not take the parent with it: once a process
    /// starts children, a write to a pipe nobody reads fails with `EPIPE` instead of raising
    /// SIGPIPE. The child gets the default back (`signalsReset`). The corresponding C function is `signal`.
    private static let brokenPipesIgnored: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// The signals whose default the child gets back, whatever the parent ignores or handles.
    static let signalsReset = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE]

    /// Starts `path` with `arguments`; in the child `signalsReset` are back to their defaults and
    /// no signal is blocked, whatever the parent's thread blocks. The corresponding C function is
    /// `posix_spawn`.
    public init(path: String, arguments: [String], options: Options = Options()) throws(SystemCallError) {
        _ = Self.brokenPipesIgnored
        var input: [CInt] = [-1, -1], output: [CInt] = [-1, -1], errors: [CInt] = [-1, -1]
        _ = try valueOrThrow("pipe") { pipe(&input) }
        _ = try valueOrThrow("pipe") { pipe(&output) }
        _ = try valueOrThrow("pipe") { pipe(&errors) }
        // Close-on-exec, so the child holds only the ends dup2 gives it: a child that inherited the
        // write end of its own stdin would never read end-of-file.
        for fd in input + output + errors { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errors[1], 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in Self.signalsReset { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        // A thread that has taken a signal through libdispatch's handler blocks it from then on;
        // the child would inherit that mask and be deaf to the signal.
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        var flags = Int32(POSIX_SPAWN_SETSIGDEF) | Int32(POSIX_SPAWN_SETSIGMASK)
        if options.ownProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        var environment = Self.inheritedEnvironment().filter { options.environment[$0.key] == nil }
        environment.merge(options.environment) { _, new in new }
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }

        var childPID: pid_t = 0
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let status = posix_spawn(&childPID, path, &actions, &attributes, argv, envp)
        for fd in [input[0], output[1], errors[1]] { _ = Glibc.close(fd) }
        guard status == 0 else {
            for fd in [input[1], output[0], errors[0]] { _ = Glibc.close(fd) }
            throw SystemCallError(call: "posix_spawn(\(path))", errno: status)
        }
        pthread_mutex_init(reapLock, nil)
        pid = childPID
        stdinFD = input[1]
        stdoutFD = output[0]
        stderrFD = errors[0]
    }

    /// This process's environment, as `environ` holds it.
    static func inheritedEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        return result
    }

    /// Writes `bytes` to the child's stdin and closes it. A child that exits first is no error
    /// here (its exit status tells); the parent must ignore SIGPIPE.
    public func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(stdinFD, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { break }
            offset += written
        }
        _ = Glibc.close(stdinFD)
        stdinFD = -1
    }

    deinit {
        pthread_mutex_destroy(reapLock)
        reapLock.deallocate()
    }

    /// Kills the child with SIGKILL, unless it was reaped already. The corresponding C function is `kill`.
    public func kill() {
        pthread_mutex_lock(reapLock)
        defer { pthread_mutex_unlock(reapLock) }
        if !reaped { _ = Glibc.kill(pid, SIGKILL) }
    }

    /// Reads the child's output until it exits or `timeout` seconds pass (then kills it), and reaps it.
    public func wait(timeout: Double) -> Outcome {
        var out: [UInt8] = [], err: [UInt8] = []
        var open = [(stdoutFD, true), (stderrFD, false)]
        let deadline = MonotonicClock.now() + timeout
        var termination: Termination?
        var buffer = [UInt8](repeating: 0, count: 65536)
        // Once both pipes are closed the child is exiting, but may not be a zombie yet: a 50 ms
        // wait then would be most of a small trial's time. Its exit is polled from 1 ms on,
        // doubling to 50 ms, so that a child that closed its pipes and lingers costs no busy loop.
        var exitPoll: Int32 = 1
        while true {
            var descriptors = open.map { pollfd(fd: $0.0, events: Int16(POLLIN), revents: 0) }
            _ = poll(&descriptors, nfds_t(descriptors.count), open.isEmpty ? exitPoll : 50)
            if open.isEmpty { exitPoll = min(exitPoll * 2, 50) }
            for (index, descriptor) in descriptors.enumerated() where descriptor.revents != 0 {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor.fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    if open[index].1 { out += buffer[0 ..< count] } else { err += buffer[0 ..< count] }
                } else if count == 0 || errno != EINTR {
                    open[index].0 = -1
                }
            }
            open.removeAll { $0.0 == -1 }
            if termination == nil, let ended = reap(blocking: false) { termination = ended }
            if termination != nil && open.isEmpty { break }
            if termination == nil && MonotonicClock.now() > deadline {
                kill()
                _ = reap(blocking: true)
                termination = .timedOut
                break
            }
        }
        for fd in [stdoutFD, stderrFD] { _ = Glibc.close(fd) }
        if stdinFD >= 0 { _ = Glibc.close(stdinFD) }
        return Outcome(termination: termination!, stdout: out, stderr: err)
    }

    /// The corresponding C function is `waitpid`.
    private func reap(blocking: Bool) -> Termination? {
        var status: CInt = 0
        while true {
            // Wait without reaping (WNOWAIT), then reap under the lock, so kill() never hits a reused pid.
            var info = siginfo_t()
            let waited = waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT | (blocking ? 0 : WNOHANG))
            if waited == -1 && errno == EINTR { continue }
            guard waited == 0, info._sifields._sigchld.si_pid == pid else { return nil }
            pthread_mutex_lock(reapLock)
            let result = waitpid(pid, &status, 0)
            reaped = true
            pthread_mutex_unlock(reapLock)
            guard result == pid else { return nil }
            let signal = status & 0x7f
            return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
        }
    }
}
