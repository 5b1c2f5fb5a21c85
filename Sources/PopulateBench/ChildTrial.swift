import Foundation
import LinuxMM

/// What the parent sends a child: the trial, and the host facts it was planned with.
public struct TrialRequest: Codable, Sendable {
    public var config: TrialConfig
    public var host: HostCapabilities
    public init(config: TrialConfig, host: HostCapabilities) {
        self.config = config
        self.host = host
    }
}

/// Runs each trial in a fresh child process: the `bench` binary re-executing itself with the
/// hidden `_trial` subcommand, the request as JSON on stdin and the result as JSON on stdout.
/// A child that dies or runs out of time becomes a failed result; the run goes on.
public final class ChildTrialLauncher: @unchecked Sendable {
    public static let subcommand = "_trial"

    let executable: URL
    let timeout: Double
    private let lock = NSLock()
    private var runningPID: pid_t?

    public init(executable: URL, timeout: Double) {
        self.executable = executable
        self.timeout = timeout
    }

    /// The running binary, whatever name it was started by.
    public static var currentExecutable: URL {
        URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0])
    }

    /// Kills the running child, if any (for SIGINT, SIGTERM and timeouts).
    public func killRunningChild() {
        lock.lock()
        defer { lock.unlock() }
        if let pid = runningPID { kill(pid, SIGKILL) }
    }

    public func run(_ request: TrialRequest) -> TrialResult {
        let config = request.config
        func failed(_ reason: String) -> TrialResult { TrialResult(config: config, status: .failed, reason: reason) }
        let process = Process()
        process.executableURL = executable
        process.arguments = [Self.subcommand]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }

        // Drain both pipes while the child runs, so a chatty child never blocks on a full pipe.
        let collected = PipeCollector()
        let readers = DispatchGroup()
        for (pipe, isOutput) in [(output, true), (errors, false)] {
            DispatchQueue.global().async(group: readers) {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                collected.store(data, isOutput: isOutput)
            }
        }
        do {
            try process.run()
        } catch {
            return failed("could not start \(executable.path): \(error)")
        }
        lock.lock()
        runningPID = process.processIdentifier
        lock.unlock()
        do {
            try input.fileHandleForWriting.write(contentsOf: JSONEncoder().encode(request))
            try input.fileHandleForWriting.close()
        } catch {
            // The child died before reading its request; its exit status tells why.
        }
        var timedOut = false
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            killRunningChild()
            finished.wait()
        }
        lock.lock()
        runningPID = nil
        lock.unlock()
        readers.wait()
        let (stdout, stderr) = collected.values
        let lastError = String(decoding: stderr, as: UTF8.self)
            .split(separator: "\n").last.map { String($0) } ?? ""

        if timedOut {
            return failed("timed out after \(ByteSize.formatDecimal(timeout, digits: 1)) s (--trial-timeout); killed")
        }
        switch process.terminationReason {
        case .uncaughtSignal:
            let signal = process.terminationStatus
            return failed("killed by \(Self.signalName(signal)) (signal \(signal)): \(Self.likelyCause(signal, config))"
                + (lastError.isEmpty ? "" : "; stderr: \(lastError)"))
        case .exit where process.terminationStatus != 0:
            return failed("child exited with status \(process.terminationStatus)"
                + (lastError.isEmpty ? "" : ": \(lastError)"))
        default:
            do {
                return try JSONDecoder().decode(TrialResult.self, from: stdout)
            } catch {
                return failed("child sent no readable result (\(error))")
            }
        }
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGKILL: "SIGKILL"
        case SIGBUS: "SIGBUS"
        case SIGSEGV: "SIGSEGV"
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGABRT: "SIGABRT"
        case SIGILL: "SIGILL"
        case SIGTRAP: "SIGTRAP"
        default: "signal \(signal)"
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

    /// The child's side: reads a request, runs it here, writes the result.
    public static func serveRequest() -> Int32 {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        guard let request = try? JSONDecoder().decode(TrialRequest.self, from: data) else {
            FileHandle.standardError.write(Data("bench _trial: no readable trial request on stdin\n".utf8))
            return 1
        }
        HeapReserve.prepare(bytes: 32 << 20)
        let result = Trial(config: request.config, host: request.host).run()
        guard let encoded = try? JSONEncoder().encode(result) else { return 1 }
        FileHandle.standardOutput.write(encoded)
        return 0
    }
}

private final class PipeCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var output = Data()
    private var errors = Data()

    func store(_ data: Data, isOutput: Bool) {
        lock.lock()
        defer { lock.unlock() }
        if isOutput { output = data } else { errors = data }
    }

    var values: (Data, Data) {
        lock.lock()
        defer { lock.unlock() }
        return (output, errors)
    }
}
