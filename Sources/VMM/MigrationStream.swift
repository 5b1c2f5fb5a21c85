import Foundation

/// The RAM of a QEMU migration stream (what a background snapshot writes), read up to the end of
/// its `ram` section: the RAMBlocks it announces and, for each page it carries, whether the page
/// is a zero page or what it holds. The format, as QEMU's `migration/savevm.c` and `ram.c` write
/// it: a `QEVM` header; sections, each a type byte, then for a start (or full) section its id, name,
/// instance and version, for a part or end section its id alone; the ram section's items, each a
/// big-endian address with flags in its low bits, the block's name unless `CONTINUE`, then one fill
/// byte (`ZERO`) or the page (`PAGE`), until `EOS`; then the section's footer.
public struct MigrationStream {
    public struct Unreadable: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// A RAMBlock the stream announces (`MEM_SIZE`): its name and used length.
    public struct Block: Sendable, Equatable {
        public var name: String
        public var length: Int
    }

    public private(set) var blocks: [Block] = []

    static let magic: UInt32 = 0x5145_564D  // "QEVM"
    enum SectionType: UInt8 {
        case eof = 0x00, start = 0x01, part = 0x02, end = 0x03, full = 0x04, subsection = 0x05
        case description = 0x06, configuration = 0x07, command = 0x08, footer = 0x7E
    }

    struct Flags {
        static let zero: UInt64 = 0x02
        static let memSize: UInt64 = 0x04
        static let page: UInt64 = 0x08
        static let eos: UInt64 = 0x10
        static let `continue`: UInt64 = 0x20
        static let known: UInt64 = zero | memSize | page | eos | `continue`
    }

    static let pageSize = 4096

    private var data: Data
    private var position = 0
    /// The block of the last page: `CONTINUE` refers to it across sections, as QEMU's
    /// `last_sent_block` does.
    private var block = ""
    private var sawRAMPages = false
    /// The id of the `ram` section, once it has started.
    private var ramSection: UInt32?

    /// Reads the stream in `data`, calling `visit(block, offset, page)` for each page of RAM it
    /// carries (`page` nil for a zero page), in stream order; a page sent twice is visited twice.
    public init(_ data: Data, visit: (String, Int, UnsafeRawBufferPointer?) throws -> Void) throws {
        self.data = data
        guard try readUInt32() == Self.magic else { throw Unreadable(description: "no QEVM header") }
        let version = try readUInt32()
        guard version == 3 else { throw Unreadable(description: "stream version \(version), not 3") }
        sections: while true {
            let byte = try readByte()
            guard let type = SectionType(rawValue: byte) else {
                throw Unreadable(description: "section type 0x\(String(byte, radix: 16)) at byte \(position - 1)")
            }
            switch type {
            case .configuration:
                _ = try readString(lengthBytes: 4)  // the machine type
                try skipConfigurationSubsections()
            case .start, .full:
                let id = try readUInt32()
                let name = try readString(lengthBytes: 1)
                _ = try readUInt32()  // instance
                _ = try readUInt32()  // version
                guard type == .start, name == "ram" else {
                    guard ramSection != nil else { throw Unreadable(description: "section '\(name)' before the RAM's") }
                    // Device state follows the RAM's pages in a background snapshot: the end of what
                    // is needed. Between the RAM's setup and its pages QEMU 8.0+ sends early device
                    // state (virtio-mem's plugged bitmap, `virtio-mem-device-early`): skipped to its
                    // footer, as there is no description of it to read it by.
                    if sawRAMPages { break sections }
                    try skip(section: id, named: name)
                    continue sections
                }
                ramSection = id
                try readRAM(visit)
                try readFooter(id)
            case .part, .end:
                let id = try readUInt32()
                guard id == ramSection else { throw Unreadable(description: "section \(id) is not the RAM's") }
                sawRAMPages = true
                try readRAM(visit)
                try readFooter(id)
                if type == .end { break sections }
            case .eof:
                break sections
            default:
                throw Unreadable(description: "unexpected section type \(type) at byte \(position - 1)")
            }
        }
        guard ramSection != nil else { throw Unreadable(description: "no RAM section") }
    }

    private mutating func readRAM(_ visit: (String, Int, UnsafeRawBufferPointer?) throws -> Void) throws {
        while true {
            let header = try readUInt64()
            let flags = header & UInt64(Self.pageSize - 1)
            let address = Int(header & ~UInt64(Self.pageSize - 1))
            guard flags & ~Flags.known == 0 else {
                throw Unreadable(description: "RAM flags 0x\(String(flags, radix: 16)) (compression, XBZRLE or multifd: "
                    + "not read here)")
            }
            if flags & Flags.memSize != 0 {
                var total = 0
                while total < address {
                    let name = try readString(lengthBytes: 1)
                    let length = Int(try readUInt64())
                    blocks.append(Block(name: name, length: length))
                    total += length
                }
                continue
            }
            if flags & (Flags.zero | Flags.page) != 0 {
                if flags & Flags.continue == 0 { block = try readString(lengthBytes: 1) }
                if flags & Flags.zero != 0 {
                    _ = try readByte()
                    try visit(block, address, nil)
                } else {
                    let start = position
                    try require(Self.pageSize)
                    position += Self.pageSize
                    let name = block
                    try data.withUnsafeBytes { raw in
                        try visit(name, address, UnsafeRawBufferPointer(rebasing: raw[start ..< start + Self.pageSize]))
                    }
                }
            }
            if flags & Flags.eos != 0 { return }
        }
    }

    /// Moves past a section whose contents it cannot read: to its footer (`0x7E` and the section's
    /// id), the first one followed by what can come next: another section's start, or a part or
    /// end of the RAM's section with its id.
    private mutating func skip(section id: UInt32, named name: String) throws {
        func bigEndian(_ value: UInt32) -> [UInt8] { (0 ..< 4).map { UInt8(value >> UInt32(24 - 8 * $0) & 0xFF) } }
        let footer = [SectionType.footer.rawValue] + bigEndian(id)
        let ram = ramSection.map(bigEndian) ?? []
        var index = position
        while index + footer.count < data.count {
            if data[index] == footer[0], Array(data[index ..< index + footer.count]) == footer {
                let next = index + footer.count
                switch SectionType(rawValue: data[next]) {
                case .start?, .full?:
                    position = next
                    return
                case .part?, .end? where next + 5 <= data.count && Array(data[next + 1 ..< next + 5]) == ram:
                    position = next
                    return
                default: break
                }
            }
            index += 1
        }
        throw Unreadable(description: "section '\(name)' has no footer to skip to")
    }

    private mutating func readFooter(_ id: UInt32) throws {
        guard position < data.count, data[position] == SectionType.footer.rawValue else { return }
        position += 1
        guard try readUInt32() == id else { throw Unreadable(description: "a footer of another section") }
    }

    /// QEMU's configuration may carry subsections (the target page size, validated capabilities).
    private mutating func skipConfigurationSubsections() throws {
        while position < data.count, data[position] == SectionType.subsection.rawValue {
            position += 1
            let name = try readString(lengthBytes: 1)
            _ = try readUInt32()  // version
            switch name {
            case "configuration/target-page-bits": _ = try readUInt32()
            case "configuration/capabilities":
                let count = try readUInt32()
                for _ in 0 ..< count { _ = try readString(lengthBytes: 1) }
            case "configuration/uuid": try require(16); position += 16
            default: throw Unreadable(description: "configuration subsection '\(name)'")
            }
        }
    }

    private func require(_ count: Int) throws {
        guard position + count <= data.count else {
            throw Unreadable(description: "the stream ends at byte \(data.count), inside an item at \(position)")
        }
    }

    private mutating func readByte() throws -> UInt8 {
        try require(1)
        defer { position += 1 }
        return data[position]
    }

    private mutating func readUInt32() throws -> UInt32 {
        try require(4)
        defer { position += 4 }
        return data[position ..< position + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    private mutating func readUInt64() throws -> UInt64 {
        try require(8)
        defer { position += 8 }
        return data[position ..< position + 8].reduce(0) { $0 << 8 | UInt64($1) }
    }

    private mutating func readString(lengthBytes: Int) throws -> String {
        let length = lengthBytes == 1 ? Int(try readByte()) : Int(try readUInt32())
        try require(length)
        defer { position += length }
        return String(decoding: data[position ..< position + length], as: UTF8.self)
    }
}
