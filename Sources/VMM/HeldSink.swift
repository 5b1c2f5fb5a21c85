import Foundation
import LinuxMM
import Synchronization

/// The sink of a held-back snapshot: QEMU migrates to `exec:dd of=FIFO`, and nothing reads the
/// FIFO until `release()`, so QEMU's migration thread blocks once its pipe and its own buffer are
/// full: about 100 KiB of stream, which is a few dozen written pages but some thousands of zero
/// pages (9 bytes each), tens of MiB of an idle device. After the release a thread drains the FIFO to `keptPath` (the image, for the
/// check) or discards it, until the writer closes it. Released on every way out, so that the
/// shell QEMU started never waits on the FIFO forever.
final class HeldSink: @unchecked Sendable {
    let path: String
    let keptPath: String?
    private let state = Mutex<(reader: NamedPipe.Reader?, kept: FileDescriptor?, started: Bool)>((nil, nil, false))
    private let outcome = Mutex<String?>(nil)
    private let finished = DispatchSemaphore(value: 0)
    /// How long the drain waits for a writer to open the FIFO before it gives up.
    var writerTimeout = 30.0

    init(path: String, keepingIn keptPath: String?) {
        self.path = path
        self.keptPath = keptPath
    }

    deinit { try? state.withLock { $0.kept }?.close() }

    /// Makes the FIFO, and the file the stream is kept in: nothing is created later, when the
    /// directory may be on its way out.
    func create() throws {
        try NamedPipe.make(at: path)
        if let keptPath {
            let kept = try FileDescriptor.open(path: keptPath, .writeOnly, options: [.create, .truncate],
                                               permissions: [.ownerReadWrite])
            state.withLock { $0.kept = kept }
        }
    }

    /// Opens the FIFO for reading at once (so the writer QEMU started is never left waiting for a
    /// reader, even if the FIFO is removed next), then drains it in a thread (once).
    func release() {
        let reader: NamedPipe.Reader? = state.withLock { current in
            guard !current.started else { return nil }
            current.started = true
            if current.reader == nil { current.reader = try? NamedPipe.Reader(path: path) }
            return current.reader
        }
        guard let reader else {
            if state.withLock({ $0.reader == nil }) { outcome.withLock { $0 = $0 ?? "cannot open \(path)" } }
            return
        }
        let thread = Thread { [self] in
            let problem = drain(reader)
            outcome.withLock { $0 = problem }
            finished.signal()
        }
        thread.start()
    }

    /// Waits for the end of the stream; throws what went wrong reading or keeping it.
    func finish(timeout: Double = 120) throws {
        release()
        guard state.withLock({ $0.reader != nil }) else {
            throw Problem(description: outcome.withLock { $0 } ?? "the snapshot's stream could not be opened")
        }
        guard finished.wait(timeout: .now() + timeout) == .success else {
            throw Problem(description: "the snapshot's stream did not end within \(Int(timeout)) s")
        }
        finished.signal()
        if let problem = outcome.withLock({ $0 }) { throw Problem(description: problem) }
    }

    struct Problem: Error, CustomStringConvertible { var description: String }

    /// Before `release()`: reads (and discards) at most `count` bytes of the stream, waiting up to
    /// `timeout` for some; the copy advances by about as much. Nil at the stream's end.
    func advance(upTo count: Int, timeout: Double) throws -> Int? {
        let reader = try state.withLock { current throws -> NamedPipe.Reader in
            precondition(!current.started && current.kept == nil, "advance(upTo:) is for a held stream not kept")
            if let reader = current.reader { return reader }
            let reader = try NamedPipe.Reader(path: path)
            current.reader = reader
            return reader
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 16)
        defer { buffer.deallocate() }
        switch try reader.read(into: buffer) {
        case let .bytes(read): return read
        case .wouldBlock: try reader.waitReadable(timeout: timeout); return 0
        case .noWriter: MonotonicClock.sleep(seconds: min(timeout, 0.01)); return 0
        case .end: return nil
        }
    }

    /// Nil when the stream ended and was kept (or discarded) whole; else why not. A file that
    /// cannot be written is given up, but the FIFO is read to its end all the same: QEMU's copy
    /// must not wait on a reader that stopped.
    private func drain(_ reader: NamedPipe.Reader) -> String? {
        var kept = state.withLock { $0.kept }
        var problem: String?
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        let deadline = MonotonicClock.now() + writerTimeout
        while true {
            do {
                switch try reader.read(into: buffer) {
                case let .bytes(count):
                    do {
                        try kept?.writeAll(UnsafeRawBufferPointer(rebasing: buffer[0 ..< count]), naming: "write(\(keptPath ?? ""))")
                    } catch {
                        problem = problem ?? "\(error)"
                        kept = nil
                    }
                case .wouldBlock:
                    try reader.waitReadable(timeout: 0.1)
                case .noWriter:
                    guard MonotonicClock.now() < deadline else { return "nobody wrote the snapshot's stream" }
                    MonotonicClock.sleep(seconds: 0.01)
                case .end:
                    return problem
                }
            } catch {
                // The FIFO itself failed: nothing more can be read of it.
                return problem ?? "\(error)"
            }
        }
    }
}
