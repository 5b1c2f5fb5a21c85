import Foundation
import LinuxMM
import Synchronization

/// The sink of a held-back snapshot: QEMU migrates to `exec:dd of=FIFO`, and nothing reads the
/// FIFO until `release()`, so QEMU's migration thread blocks once its pipe is full (a few pages
/// into the copy). After the release a thread drains the FIFO to `keptPath` (the image, for the
/// check) or discards it, until the writer closes it. Released on every way out, so that the
/// shell QEMU started never waits on the FIFO forever.
final class HeldSink: @unchecked Sendable {
    let path: String
    let keptPath: String?
    private let started = Mutex(false)
    private let outcome = Mutex<String?>(nil)
    private let finished = DispatchSemaphore(value: 0)
    /// How long the drain waits for a writer to open the FIFO before it gives up.
    var writerTimeout = 30.0

    init(path: String, keepingIn keptPath: String?) {
        self.path = path
        self.keptPath = keptPath
    }

    func create() throws { try NamedPipe.make(at: path) }

    /// Starts draining (once).
    func release() {
        guard !started.withLock({ let was = $0; $0 = true; return was }) else { return }
        let thread = Thread { [self] in
            outcome.withLock { $0 = drain() }
            finished.signal()
        }
        thread.start()
    }

    /// Waits for the end of the stream; throws what went wrong reading or keeping it.
    func finish(timeout: Double = 120) throws {
        release()
        guard finished.wait(timeout: .now() + timeout) == .success else {
            throw Problem(description: "the snapshot's stream did not end within \(Int(timeout)) s")
        }
        finished.signal()
        if let problem = outcome.withLock({ $0 }) { throw Problem(description: problem) }
    }

    struct Problem: Error, CustomStringConvertible { var description: String }

    /// Nil when the stream ended and was kept (or discarded) whole; else why not.
    private func drain() -> String? {
        do {
            let reader = try NamedPipe.Reader(path: path)
            let kept = try keptPath.map { path throws(SystemCallError) in
                try FileDescriptor.open(path: path, .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite])
            }
            defer { try? kept?.close() }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate() }
            let deadline = MonotonicClock.now() + writerTimeout
            while true {
                switch try reader.read(into: buffer) {
                case let .bytes(count):
                    try kept?.writeAll(UnsafeRawBufferPointer(rebasing: buffer[0 ..< count]), naming: "write(\(keptPath!))")
                case .wouldBlock:
                    try reader.waitReadable(timeout: 0.1)
                case .noWriter:
                    guard MonotonicClock.now() < deadline else { return "nobody wrote the snapshot's stream" }
                    Thread.sleep(forTimeInterval: 0.01)
                case .end:
                    return nil
                }
            }
        } catch {
            return "\(error)"
        }
    }
}

/// What QEMU's snapshot thread is doing, from `/proc/<pid>/task` (QEMU names its threads with
/// `-name debug-threads=on`: `bg_snapshot` in 7.2, `mig/snapshot` since 9.x).
enum SnapshotThread {
    static let names: Set<String> = ["bg_snapshot", "mig/snapshot"]

    enum State: Equatable { case absent, running, blockedWriting }

    /// Blocked writing is the held sink: the kernel names the wait `pipe_write` (`anon_pipe_write`
    /// in 6.18) in `wchan`; where it hides symbols, sleeping in `write` or `writev` (system calls 1
    /// and 20) counts.
    static func state(pid: Int32) -> State {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        for task in tasks {
            let directory = "/proc/\(pid)/task/\(task)"
            guard let name = try? String(contentsOfFile: directory + "/comm", encoding: .utf8),
                  names.contains(name.trimmingCharacters(in: .newlines)) else { continue }
            guard let stat = try? String(contentsOfFile: directory + "/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")"), stat[stat.index(close, offsetBy: 2)] == "S" else { return .running }
            let wchan = (try? String(contentsOfFile: directory + "/wchan", encoding: .utf8)) ?? ""
            if wchan.hasSuffix("pipe_write") { return .blockedWriting }
            if wchan.isEmpty || wchan == "0",
               let call = try? String(contentsOfFile: directory + "/syscall", encoding: .utf8),
               call.hasPrefix("1 ") || call.hasPrefix("20 ") {
                return .blockedWriting
            }
            return .running
        }
        return .absent
    }
}
