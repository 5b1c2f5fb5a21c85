import Foundation
import LinuxMM
import Testing
@testable import VMM

extension KernelTests {
    /// The held sink without a QEMU: the same `exec:` command QEMU runs, fed a known stream by a
    /// shell. The writer waits until the release, the stream arrives whole, and a kept file that
    /// cannot be written never leaves the writer waiting on a reader that stopped.
    @Suite struct HeldSinkStream {
        /// 1 000 000 bytes of `abcdefgh\n`, known without reading them back from the writer.
        static let stream = "yes abcdefgh | head -c 1000000 | "
        static let expected = Data(String(repeating: "abcdefgh\n", count: 1_000_000 / 9 + 1).utf8.prefix(1_000_000))

        func directory() throws -> String {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("sink-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            return path
        }

        /// The shell pipeline in a process group of its own, so that a failed test kills all of it.
        func startWriter(_ sink: HeldSink) throws -> ChildProcess {
            try ChildProcess(path: "/bin/sh", arguments: ["-c", Self.stream + QEMUMachine.sinkCommand(writingTo: sink.path)],
                             options: .init(ownProcessGroup: true))
        }

        func stop(_ writer: ChildProcess) {
            kill(-writer.pid, SIGKILL)
            _ = writer.wait(timeout: 5)
        }

        /// Whether the FIFO has a reader: a non-blocking open for writing fails with ENXIO without one.
        func hasReader(_ path: String) -> Bool {
            let fd = open(path, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { close(fd) }
            return fd >= 0
        }

        static var hasDevFull: Bool {
            var status = stat()
            return stat("/dev/full", &status) == 0 && (status.st_mode & S_IFMT) == S_IFCHR
        }

        @Test func theWriterWaitsForTheReleaseAndTheStreamIsKeptWhole() throws {
            let folder = try directory()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let sink = HeldSink(path: folder + "/stream.fifo", keepingIn: folder + "/stream")
            try sink.create()
            let writer = try startWriter(sink)
            var waited = false
            defer { if !waited { stop(writer) } }
            // Nothing reads the FIFO before the release: the writer cannot even open it.
            Thread.sleep(forTimeInterval: 0.1)
            #expect(!hasReader(sink.path), "the FIFO has a reader before the release")
            #expect((try? Data(contentsOf: URL(fileURLWithPath: folder + "/stream")))?.isEmpty == true)
            sink.release()
            try sink.finish(timeout: 30)
            let outcome = writer.wait(timeout: 30)
            waited = true
            #expect(outcome.termination == .exited(0), "\(String(decoding: outcome.stderr, as: UTF8.self))")
            #expect(try Data(contentsOf: URL(fileURLWithPath: folder + "/stream")) == Self.expected)
        }

        /// `/dev/full` refuses every write (ENOSPC): the drain says so, but reads the FIFO to its end,
        /// so the writer ends normally instead of waiting, or dying of SIGPIPE.
        @Test(.enabled(if: hasDevFull, "no /dev/full character device here"))
        func aKeptFileThatCannotBeWrittenStillDrainsTheStream() throws {
            let folder = try directory()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let sink = HeldSink(path: folder + "/stream.fifo", keepingIn: "/dev/full")
            try sink.create()
            let writer = try startWriter(sink)
            var waited = false
            defer { if !waited { stop(writer) } }
            sink.release()
            #expect { try sink.finish(timeout: 30) } throws: { "\($0)".contains("ENOSPC") }
            waited = true
            #expect(writer.wait(timeout: 30).termination == .exited(0))
        }

        @Test func aStreamNobodyWritesIsAnErrorNotAHang() throws {
            let folder = try directory()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let sink = HeldSink(path: folder + "/stream.fifo", keepingIn: nil)
            sink.writerTimeout = 0.3
            try sink.create()
            sink.release()
            #expect { try sink.finish(timeout: 10) } throws: { "\($0)".contains("nobody wrote") }
        }
    }
}
