#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// One page's 64-bit entry in `/proc/<pid>/pagemap` (Documentation/admin-guide/mm/pagemap.rst).
public struct PagemapEntry: RawRepresentable, Equatable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Bit 63: a page frame is mapped.
    public var isPresent: Bool { rawValue >> 63 == 1 }

    /// Bit 57: write-protected by userfaultfd (also set on the PTE markers that protect empty entries).
    public var isWriteProtectedByUserfaultfd: Bool { rawValue >> 57 & 1 == 1 }

    /// Bit 56: the page is mapped by this process alone (not the shared zeropage).
    public var isMappedExclusively: Bool { rawValue >> 56 & 1 == 1 }

    /// Bits 0-54 of a present entry: the page frame number. Since Linux 4.2 it reads as 0
    /// without CAP_SYS_ADMIN.
    public var frame: UInt64? { isPresent ? rawValue & (1 << 55 - 1) : nil }
}

extension Pagemap {
    /// The entries of the base pages from `address` on, `buffer.count` of them.
    /// The corresponding C function is `pread`.
    public func readEntries(at address: UInt, into buffer: UnsafeMutableBufferPointer<UInt64>) throws(SystemCallError) {
        let offset = Int64(address / UInt(KernelInfo.pageSize)) * 8
        let bytes = UnsafeMutableRawBufferPointer(buffer)
        var done = 0
        while done < bytes.count {
            let count = try systemCall("pread(pagemap)") {
                try fileDescriptor.read(fromAbsoluteOffset: offset + Int64(done),
                                        into: UnsafeMutableRawBufferPointer(rebasing: bytes[done...]))
            }
            // Past the end of the address space pagemap reads nothing; below it, never short.
            guard count > 0 else { throw SystemCallError(call: "pread(pagemap): short read", errno: EIO) }
            done += count
        }
    }

    /// The entry of the page at `address`.
    public func entry(at address: UInt) throws(SystemCallError) -> PagemapEntry {
        var raw: UInt64 = 0
        try withUnsafeMutablePointer(to: &raw) { pointer throws(SystemCallError) in
            try readEntries(at: address, into: UnsafeMutableBufferPointer(start: pointer, count: 1))
        }
        return PagemapEntry(rawValue: raw)
    }
}
