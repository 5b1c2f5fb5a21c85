#if canImport(Glibc)
import Glibc
#endif

/// The memory-management interfaces the harness uses that came after uffd-wp itself (Linux 5.7),
/// probed on this kernel rather than inferred from its version: a distribution kernel may carry
/// a backport, and a custom one may leave a feature out.
public struct KernelInterfaces: Codable, Sendable, Equatable {
    /// `MADV_POPULATE_READ` (Linux 5.14): the madvise strategies need it.
    public var populateRead: Bool
    /// `MADV_POPULATE_WRITE` (Linux 5.14): without it the guest's writes are plain stores.
    public var populateWrite: Bool
    /// Pagemap bit 57, uffd-wp (Linux 5.13): without it no protection map can be read.
    public var pagemapWriteProtectBit: Bool
    /// `PAGEMAP_SCAN` (Linux 6.7): without it placement reads pagemap entry by entry.
    public var pagemapScan: Bool

    public init(populateRead: Bool, populateWrite: Bool, pagemapWriteProtectBit: Bool, pagemapScan: Bool) {
        self.populateRead = populateRead
        self.populateWrite = populateWrite
        self.pagemapWriteProtectBit = pagemapWriteProtectBit
        self.pagemapScan = pagemapScan
    }

    /// Each interface with the Linux version that brought it and whether this kernel has it, in
    /// the order `bench doctor` lists them.
    public var listed: [(name: String, linux: String, present: Bool)] {
        [("MADV_POPULATE_READ", "5.14", populateRead), ("MADV_POPULATE_WRITE", "5.14", populateWrite),
         ("pagemap uffd-wp bit 57", "5.13", pagemapWriteProtectBit), ("PAGEMAP_SCAN", "6.7", pagemapScan)]
    }

    /// Probes each on a page of private anonymous memory of its own.
    public static func probe() -> KernelInterfaces {
        KernelInterfaces(populateRead: accepts(.populateRead), populateWrite: accepts(.populateWrite),
                         pagemapWriteProtectBit: pagemapShowsWriteProtection(),
                         pagemapScan: (try? Pagemap.open()).map { pagemap in
                             defer { try? pagemap.close() }
                             return pagemap.hasScan
                         } ?? false)
    }

    /// Whether madvise takes `advice`: a kernel that does not know it answers `EINVAL`.
    static func accepts(_ advice: Mapping.Advice) -> Bool {
        guard let page = try? Mapping.map(length: KernelInfo.pageSize, protection: [.read, .write],
                                          flags: [.private, .anonymous]) else { return false }
        defer { try? page.unmap() }
        return (try? page.advise(advice)) != nil
    }

    /// Write-protects a written page with a userfaultfd and reads its pagemap entry: bit 57 is set
    /// on a kernel that reports uffd-wp there. False when no userfaultfd can be had.
    static func pagemapShowsWriteProtection() -> Bool {
        let pageSize = KernelInfo.pageSize
        guard let page = try? Mapping.map(length: pageSize, protection: [.read, .write], flags: [.private, .anonymous])
        else { return false }
        defer { try? page.unmap() }
        page.base.storeBytes(of: 1, as: UInt8.self)
        guard let uffd = try? Userfaultfd.open(features: []) else { return false }
        defer { try? uffd.close() }
        guard (try? uffd.register(page, mode: .writeProtect)) != nil,
              (try? uffd.writeProtect(page, true)) != nil else { return false }
        var entry = PagemapEntry(rawValue: 0)
        do {
            try ProcessPagemap.forEachEntry(pid: getpid(), start: page.address, length: pageSize,
                                            pageSize: pageSize) { _, read in entry = read }
        } catch {
            return false
        }
        return entry.isWriteProtectedByUserfaultfd
    }
}
