#if canImport(Glibc)
import Glibc
#endif
import CLinuxMM

/// A range of the address space that `mmap` returned. A value: unmapping it is explicit.
public struct Mapping: Hashable, Sendable {
    /// The first byte, as an integer so that the value can cross threads.
    public let address: UInt
    public let length: Int

    public init(address: UInt, length: Int) {
        self.address = address
        self.length = length
    }

    public var base: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: address)! }

    public struct Protection: OptionSet, Sendable {
        public let rawValue: CInt
        public init(rawValue: CInt) { self.rawValue = rawValue }
        public static let none = Protection([])
        public static let read = Protection(rawValue: PROT_READ)
        public static let write = Protection(rawValue: PROT_WRITE)
    }

    public struct Flags: OptionSet, Sendable {
        public let rawValue: CInt
        public init(rawValue: CInt) { self.rawValue = rawValue }
        public static let shared = Flags(rawValue: MAP_SHARED)
        public static let `private` = Flags(rawValue: MAP_PRIVATE)
        public static let anonymous = Flags(rawValue: MAP_ANONYMOUS)
        public static let noReserve = Flags(rawValue: MAP_NORESERVE)
        public static let fixed = Flags(rawValue: MAP_FIXED)
    }

    /// The corresponding C function is `mmap`.
    public static func map(
        length: Int,
        protection: Protection,
        flags: Flags,
        file: FileDescriptor? = nil,
        offset: Int = 0,
        at address: UInt? = nil
    ) throws(SystemCallError) -> Mapping {
        let hint = address.flatMap { UnsafeMutableRawPointer(bitPattern: $0) }
        let result = mmap(hint, length, protection.rawValue, flags.rawValue, file?.rawValue ?? -1, off_t(offset))
        guard let result, result != MAP_FAILED else {
            throw SystemCallError(call: "mmap(\(length) bytes)", errno: Glibc.errno)
        }
        return Mapping(address: UInt(bitPattern: result), length: length)
    }

    /// An inaccessible, unaccounted range whose start is a multiple of `alignment`, to map into
    /// with `.fixed`. Keeping the unused rest reserved stops other mappings from sharing its
    /// page tables, so page-table costs measured in it are the region's alone.
    public static func reserve(length: Int, alignment: Int) throws(SystemCallError) -> Mapping {
        let padded = try map(length: length + alignment, protection: .none,
                             flags: [.private, .anonymous, .noReserve])
        let start = (padded.address + UInt(alignment) - 1) / UInt(alignment) * UInt(alignment)
        let head = Int(start - padded.address)
        if head > 0 { try Mapping(address: padded.address, length: head).unmap() }
        let tail = alignment - head
        if tail > 0 { try Mapping(address: start + UInt(length), length: tail).unmap() }
        return Mapping(address: start, length: length)
    }

    /// The corresponding C function is `munmap`.
    public func unmap() throws(SystemCallError) {
        _ = try valueOrThrow("munmap") { munmap(base, length) }
    }

    /// The part of this mapping from `offset` for `length` bytes.
    public func slice(offset: Int, length: Int) -> Mapping {
        precondition(offset >= 0 && length >= 0 && offset + length <= self.length)
        return Mapping(address: address + UInt(offset), length: length)
    }

    public enum Advice: Sendable, CaseIterable {
        case dontNeed, remove, populateRead, populateWrite, hugePage, noHugePage

        public var rawValue: CInt {
            switch self {
            case .dontNeed: MADV_DONTNEED
            case .remove: MADV_REMOVE
            case .populateRead: clmm_madv_populate_read
            case .populateWrite: clmm_madv_populate_write
            case .hugePage: MADV_HUGEPAGE
            case .noHugePage: MADV_NOHUGEPAGE
            }
        }

        public var name: String {
            switch self {
            case .dontNeed: "MADV_DONTNEED"
            case .remove: "MADV_REMOVE"
            case .populateRead: "MADV_POPULATE_READ"
            case .populateWrite: "MADV_POPULATE_WRITE"
            case .hugePage: "MADV_HUGEPAGE"
            case .noHugePage: "MADV_NOHUGEPAGE"
            }
        }
    }

    /// The corresponding C function is `madvise`.
    public func advise(_ advice: Advice) throws(SystemCallError) {
        _ = try valueOrThrow("madvise(\(advice.name))") { madvise(base, length, advice.rawValue) }
    }

    /// Reads one byte every `stride` bytes, from the first: one read fault per page that is not
    /// yet mapped. The loop is C's (`clmm_read_every`), so that it runs as plain C would.
    public func readEvery(stride: Int) {
        precondition(stride > 0)
        clmm_read_every(base, length, stride)
    }
}
