#if canImport(Glibc)
import Glibc
#endif
import CLinuxMM

/// The page frames of the shared zeropage and of THP's huge zeropage: a read of untouched
/// private anonymous memory maps one of them, and `move_pages` counts such a page as `EFAULT`
/// rather than on a node. Learnt once by reading memory this process never wrote, and asking
/// pagemap where the read went.
public struct ZeroPageFrames: Equatable, Sendable {
    public var small: UInt64?
    /// The huge zeropage's frames, when THP mapped it for the probe.
    public var huge: Range<UInt64>?

    public init(small: UInt64?, huge: Range<UInt64>?) {
        self.small = small
        self.huge = huge
    }

    @inline(__always)
    public func contains(_ frame: UInt64) -> Bool {
        frame == small || huge?.contains(frame) == true
    }

    /// `/proc/kpageflags` bit 24, KPF_ZERO_PAGE: the kernel's own word that a frame is a zeropage.
    static let kpfZeroPage: UInt64 = 1 << 24

    /// Reads a byte of a fresh private anonymous page (THP off) and of a fresh PMD-aligned span
    /// (THP asked for), and takes the frames pagemap shows. A frame counts only if
    /// `/proc/kpageflags` says it is a zeropage, or for the small probe, if kpageflags cannot be
    /// read (a base-page read of untouched private memory maps the zeropage on every
    /// architecture that has one). Without frame numbers (no CAP_SYS_ADMIN) nothing is learnt.
    public static func learn(pagemap: Pagemap, pmdSize: Int = 2 << 20) throws(SystemCallError) -> ZeroPageFrames {
        let flags = try? FileDescriptor.open(path: "/proc/kpageflags", .readOnly)
        defer { try? flags?.close() }
        func isZero(_ frame: UInt64) -> Bool? {
            guard let flags else { return nil }
            var word: UInt64 = 0
            let read = try? withUnsafeMutableBytes(of: &word) { buffer in
                try flags.read(fromAbsoluteOffset: Int64(frame) * 8, into: buffer)
            }
            return read == 8 ? word & kpfZeroPage != 0 : nil
        }

        let probe = try Mapping.reserve(length: 2 * pmdSize, alignment: pmdSize)
        defer { try? probe.unmap() }
        let small = try Mapping.map(length: KernelInfo.pageSize, protection: [.read],
                                    flags: [.private, .anonymous, .fixed], at: probe.address)
        try? small.advise(.noHugePage)
        _ = clmm_load_volatile(small.base)
        let smallFrame = try pagemap.entry(at: small.address).frame.flatMap { frame in
            frame != 0 && isZero(frame) != false ? frame : nil
        }

        let span = try Mapping.map(length: pmdSize, protection: [.read], flags: [.private, .anonymous, .fixed],
                                   at: probe.address + UInt(pmdSize))
        // No THP (disabled, or never for this process): the read maps the small zeropage, which
        // kpageflags calls a zeropage too, but it is not the start of a huge one.
        try? span.advise(.hugePage)
        _ = clmm_load_volatile(span.base)
        let hugeFrame = try pagemap.entry(at: span.address).frame.flatMap { frame in
            frame != 0 && frame != smallFrame && isZero(frame) == true ? frame : nil
        }
        let pagesPerPMD = UInt64(pmdSize / KernelInfo.pageSize)
        return ZeroPageFrames(small: smallFrame, huge: hugeFrame.map { $0 ..< $0 + pagesPerPMD })
    }
}
