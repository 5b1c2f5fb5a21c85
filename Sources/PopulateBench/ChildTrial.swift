import Foundation
import LinuxMM

/// What the parent sends a child: the trial, and the host facts it was planned with.
public struct TrialRequest: Codable, Sendable {
    public var config: TrialConfig
    public var host: HostCapabilities
    /// The parent's `--force`: the child must not skip what the parent chose to run.
    public var checksPoolSize: Bool
    /// The `/proc/vmstat` counters to record per phase (`--monitor`).
    public var vmstatCounters: [String]
    public init(config: TrialConfig, host: HostCapabilities, checksPoolSize: Bool,
                vmstatCounters: [String] = VMStatMonitor.defaultCounters) {
        self.config = config
        self.host = host
        self.checksPoolSize = checksPoolSize
        self.vmstatCounters = vmstatCounters
    }
}

/// Runs each trial in a fresh child process: the `bench-trial` binary beside `bench`, the request as
/// JSON on stdin and the result as JSON on stdout. A child that dies or runs out of time becomes a
/// failed result; the run goes on.
public final class ChildTrialLauncher: @unchecked Sendable {
    /// The child's binary, built beside `bench` (an executable target `bench` depends on).
    public static let trialExecutableName = "bench-trial"

    let executable: URL
    let timeout: Double
    private let lock = NSLock()
    private var running: ChildProcess?
    private var cancelled = false

    public init(executable: URL, timeout: Double) {
        self.executable = executable
        self.timeout = timeout
    }

    /// `bench-trial` in the folder of the running binary, whatever name that was started by.
    public static var besideCurrentExecutable: URL {
        URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(trialExecutableName)
    }

    /// Why trials cannot start here, or nil: `executable` must be there, built beside `bench`.
    public static func problem(with executable: URL) -> String? {
        FileManager.default.isExecutableFile(atPath: executable.path) ? nil
            : "no \(trialExecutableName) at \(executable.path): it runs every trial and is built with bench (swift build)"
    }

    /// Kills the running child, and any started after this (for SIGINT and SIGTERM).
    public func cancel() {
        lock.lock()
        defer { lock.unlock() }
        cancelled = true
        running?.kill()
    }

    public func run(_ request: TrialRequest) -> TrialResult {
        let config = request.config
        func failed(_ reason: String) -> TrialResult { TrialResult(config: config, status: .failed, reason: reason) }
        let child: ChildProcess
        let encoded: Data
        do {
            encoded = try JSONEncoder().encode(request)
            // A process group of its own: a terminal's Ctrl-C reaches the parent alone, which ends
            // the child itself and keeps the trial out of the results, instead of the child dying
            // first and being recorded as a failure the harness caused.
            child = try ChildProcess(path: executable.path, arguments: [], options: .init(
                environment: [ParentDeath.parentPIDVariable: "\(getpid())"], ownProcessGroup: true))
        } catch {
            return failed("could not start \(executable.path): \(error)")
        }
        lock.lock()
        running = child
        // A signal that came between the runner's check and now found no child to kill.
        if cancelled { child.kill() }
        lock.unlock()
        child.send(Array(encoded))
        let outcome = child.wait(timeout: timeout)
        lock.lock()
        running = nil
        lock.unlock()
        if outcome.termination != .exited(0) { Self.removeLeftovers(of: child.pid, config: config) }
        let lastError = String(decoding: outcome.stderr, as: UTF8.self)
            .split(separator: "\n").last.map { String($0) } ?? ""

        switch outcome.termination {
        case .timedOut:
            return failed("timed out after \(ByteSize.formatDecimal(timeout, digits: 1)) s (--trial-timeout); killed")
        case let .signaled(signal):
            return failed("killed by \(Signals.name(signal)) (signal \(signal)): \(Self.likelyCause(signal, config))"
                + (lastError.isEmpty ? "" : "; stderr: \(lastError)"))
        case let .exited(status) where status != 0:
            return failed("child exited with status \(status)" + (lastError.isEmpty ? "" : ": \(lastError)"))
        case .exited:
            do {
                return try JSONDecoder().decode(TrialResult.self, from: Data(outcome.stdout))
            } catch {
                return failed("child sent no readable result (\(error))")
            }
        }
    }

    /// A hugetlbfs file is unlinked right after it is created; a child killed in between leaves it
    /// behind, holding its huge pages, under the name that HugetlbfsFile gives it.
    static func removeLeftovers(of pid: pid_t, config: TrialConfig) {
        guard config.backend.declaration.isFileInHugetlbfsMount, let directory = config.hugetlbfsPath,
              let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix("populatebench-\(pid)-") {
            try? FileManager.default.removeItem(atPath: "\(directory)/\(name)")
        }
    }

    static func likelyCause(_ signal: Int32, _ config: TrialConfig) -> String {
        switch signal {
        case SIGKILL: "the OOM killer, a timeout or a user killed the trial"
        case SIGBUS where config.backend.isHugetlb:
            "a hugetlb page could not be allocated: the \(ByteSize.format(config.pageBytes)) pool ran out"
        case SIGBUS: "a page could not be allocated (shmem out of space?)"
        case SIGTRAP, SIGILL, SIGABRT: "the trial crashed (a Swift runtime error)"
        case SIGSEGV: "the trial crashed (invalid memory access)"
        default: "the trial was stopped by a signal"
        }
    }

    /// The child's side, the whole of `bench-trial`: serves one request, then exits with its status.
    public static func serveAndExit() -> Never {
        exit(serveRequest())
    }

    /// The child's side: reads a request, runs it here, writes the result.
    static func serveRequest() -> Int32 {
        // Before anything else: a parent killed with SIGKILL must take this trial with it.
        if let parent = ParentDeath.expectedParent {
            do {
                guard try ParentDeath.follow(expectedParent: parent) else { return 1 }
            } catch {
                FileHandle.standardError.write(Data("bench-trial: \(error)\n".utf8))
                return 1
            }
        }
        let data = FileHandle.standardInput.readDataToEndOfFile()
        guard let request = try? JSONDecoder().decode(TrialRequest.self, from: data) else {
            FileHandle.standardError.write(Data("bench-trial: no readable trial request on stdin\n".utf8))
            return 1
        }
        // What the measured phases may allocate: a few buffers, the placement scan's runs (more
        // of them the larger the region), and with a snapshot its samples and histograms.
        // Touching the reserve is a trial's largest fixed cost (a page fault and a cleared page per
        // 4 KiB), so a trial up to 16 GiB without a snapshot reserves a quarter of the 32 MiB.
        let small = request.config.snapshot == nil && request.config.regionBytes <= 16 << 30
        HeapReserve.prepare(bytes: small ? 8 << 20 : 32 << 20)
        StackReserve.prepare(bytes: 1 << 20)
        var trial = Trial(config: request.config, host: request.host, checksPoolSize: request.checksPoolSize)
        trial.vmstatCounters = request.vmstatCounters
        let result = trial.run()
        guard let encoded = try? JSONEncoder().encode(result) else { return 1 }
        FileHandle.standardOutput.write(encoded)
        return 0
    }
}
