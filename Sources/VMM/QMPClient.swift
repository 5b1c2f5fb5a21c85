import Foundation
import LinuxMM
import PopulateBench

/// A QEMU Machine Protocol client over a unix socket: one JSON object per line, commands answered
/// in order, asynchronous events in between (kept, not answered). Typed: each command decodes its
/// own `return`.
public final class QMPClient {
    private let socket: UnixSocket
    private var buffer: [UInt8] = []
    /// Names of the events seen so far (`MEMORY_DEVICE_SIZE_CHANGE`, `SHUTDOWN`, ...).
    public private(set) var events: [String] = []
    public let greeting: Greeting

    public struct Greeting: Decodable, Sendable {
        public struct Version: Decodable, Sendable {
            public struct Triple: Decodable, Sendable { public var major, minor, micro: Int }
            public var qemu: Triple
            public var package: String
        }
        public var version: Version
    }

    /// A command QEMU refused, or a protocol problem.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        /// QEMU did not answer in time (rather than answering with an error).
        public var isTimeout = false
    }

    /// Connects (retrying while QEMU has not made the socket yet, until `timeout`), reads the
    /// greeting and leaves capabilities negotiation.
    public init(socketPath: String, timeout: Double, stillStarting: () -> Bool = { true }) throws {
        let deadline = MonotonicClock.now() + timeout
        var connected: UnixSocket?
        var lastError: Error?
        while connected == nil {
            do {
                connected = try UnixSocket(path: socketPath)
            } catch {
                lastError = error
                guard MonotonicClock.now() < deadline, stillStarting() else {
                    throw Failure(description: "QMP: cannot connect to \(socketPath): \(lastError.map { "\($0)" } ?? "")")
                }
                MonotonicClock.sleep(seconds: 0.05)
            }
        }
        socket = connected!
        struct Envelope: Decodable { var QMP: Greeting }
        greeting = try JSONDecoder().decode(Envelope.self, from: Data(try Self.readLine(socket, &buffer, timeout: timeout))).QMP
        let _: Empty = try execute("qmp_capabilities", timeout: timeout)
    }

    public struct Empty: Codable, Sendable {}

    /// `query-status`: `running`, `paused`, ...
    public struct Status: Decodable, Sendable {
        public var status: String
    }
    struct NoArguments: Encodable {}

    /// Runs `command` and decodes its `return` as `Response`.
    public func execute<Response: Decodable>(_ command: String, timeout: Double = 10) throws -> Response {
        try execute(command, arguments: NoArguments?.none, timeout: timeout)
    }

    public func execute<Response: Decodable, Arguments: Encodable>(_ command: String, arguments: Arguments?,
                                                                    timeout: Double = 10) throws -> Response {
        var line = try JSONEncoder().encode(QMPRequest(execute: command, arguments: arguments))
        line.append(UInt8(ascii: "\n"))
        try socket.send(Array(line))
        let deadline = MonotonicClock.now() + timeout
        while true {
            let bytes = Data(try Self.readLine(socket, &buffer, timeout: max(0, deadline - MonotonicClock.now())))
            let reply = try JSONDecoder().decode(QMPReply.self, from: bytes)
            if let event = reply.event {
                events.append(event)
                continue
            }
            if let error = reply.error { throw Failure(description: "QMP \(command): \(error.desc)") }
            do {
                return try JSONDecoder().decode(QMPAnswer<Response>.self, from: bytes).return
            } catch {
                throw Failure(description: "QMP \(command): unexpected answer \(String(decoding: bytes, as: UTF8.self))")
            }
        }
    }

    private static func readLine(_ socket: UnixSocket, _ buffer: inout [UInt8], timeout: Double) throws -> [UInt8] {
        let deadline = MonotonicClock.now() + timeout
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                return line
            }
            guard let bytes = try socket.receive(timeout: max(0, deadline - MonotonicClock.now())) else {
                throw Failure(description: "QMP: no answer within \(Int(timeout.rounded())) s", isTimeout: true)
            }
            guard !bytes.isEmpty else { throw Failure(description: "QMP: QEMU closed the connection") }
            buffer += bytes
        }
    }

    public func close() { socket.close() }
}

struct QMPRequest<Arguments: Encodable>: Encodable {
    var execute: String
    var arguments: Arguments?
}

/// Any line from QEMU: an event, an error, or (decoded separately) a command's answer.
struct QMPReply: Decodable {
    struct ErrorBody: Decodable {
        var `class`: String
        var desc: String
    }
    var event: String?
    var error: ErrorBody?
}

struct QMPAnswer<Response: Decodable>: Decodable {
    var `return`: Response
}

/// The answers of the QMP commands `bench qemu` uses.
extension QMPClient {
    /// `query-memory-devices`: a virtio-mem device and how much of it the guest has plugged.
    public struct MemoryDevice: Decodable, Sendable {
        public struct Data: Decodable, Sendable {
            public var id: String?
            public var memaddr: Int?
            public var size: Int?
            public var requestedSize: Int?
            public var blockSize: Int?
            enum CodingKeys: String, CodingKey {
                case id, memaddr, size
                case requestedSize = "requested-size"
                case blockSize = "block-size"
            }
        }
        public var type: String
        public var data: Data
    }

    /// `query-migrate`.
    public struct MigrationInfo: Decodable, Sendable {
        public var status: String?
        public var totalTime: Int?
        public var errorDesc: String?
        enum CodingKeys: String, CodingKey {
            case status
            case totalTime = "total-time"
            case errorDesc = "error-desc"
        }
    }

    public struct Capability: Encodable, Sendable {
        public var capability: String
        public var state: Bool
    }

    /// `qom-set`'s arguments for an integer property.
    public struct PropertySet: Encodable, Sendable {
        public var path: String
        public var property: String
        public var value: Int
    }
}
