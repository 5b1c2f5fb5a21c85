/// Memory-management settings and pools under `/sys/kernel/mm`. Read only: the harness never
/// changes system settings.
public enum SysfsMM {
    public static let root = "/sys/kernel/mm"

    /// The bracketed choice of a sysfs selector such as `always [madvise] never`.
    public static func selected(in text: String) -> String? {
        guard let open = text.firstIndex(of: "["), let close = text.firstIndex(of: "]"), open < close else {
            return nil
        }
        return String(text[text.index(after: open) ..< close])
    }

    public struct TransparentHugePages: Equatable, Sendable, Codable {
        /// `always`, `madvise` or `never`; nil when the kernel has no THP.
        public var enabled: String?
        public var defrag: String?
        public var shmemEnabled: String?
        public var useZeroPage: Bool
        /// The PMD size, the unit of a THP (2 MiB on x86-64).
        public var pmdSize: Int?
        /// The PMD size's own controls (Linux 6.8+ `hugepages-<size>kB/enabled` and
        /// `shmem_enabled`): `inherit` defers to the global settings above; nil on older kernels.
        public var pmdEnabled: String?
        public var pmdShmemEnabled: String?

        /// What decides PMD THP for anonymous memory: the size's own control unless it inherits.
        public var effectiveEnabled: String? { pmdEnabled == nil || pmdEnabled == "inherit" ? enabled : pmdEnabled }
        /// What decides PMD THP for shmem, likewise.
        public var effectiveShmemEnabled: String? {
            pmdShmemEnabled == nil || pmdShmemEnabled == "inherit" ? shmemEnabled : pmdShmemEnabled
        }

        public init(enabled: String? = nil, defrag: String? = nil, shmemEnabled: String? = nil,
                    useZeroPage: Bool = false, pmdSize: Int? = nil, pmdEnabled: String? = nil,
                    pmdShmemEnabled: String? = nil) {
            self.enabled = enabled
            self.defrag = defrag
            self.shmemEnabled = shmemEnabled
            self.useZeroPage = useZeroPage
            self.pmdSize = pmdSize
            self.pmdEnabled = pmdEnabled
            self.pmdShmemEnabled = pmdShmemEnabled
        }
    }

    public static func transparentHugePages(root: String = root) -> TransparentHugePages {
        let dir = "\(root)/transparent_hugepage"
        let pmdSize = ProcFile.integer("\(dir)/hpage_pmd_size")
        let pmdDir = pmdSize.map { "\(dir)/hugepages-\($0 / 1024)kB" }
        return TransparentHugePages(
            enabled: ProcFile.firstLine("\(dir)/enabled").flatMap(selected(in:)),
            defrag: ProcFile.firstLine("\(dir)/defrag").flatMap(selected(in:)),
            shmemEnabled: ProcFile.firstLine("\(dir)/shmem_enabled").flatMap(selected(in:)),
            useZeroPage: ProcFile.integer("\(dir)/use_zero_page") == 1,
            pmdSize: pmdSize,
            pmdEnabled: pmdDir.flatMap { ProcFile.firstLine("\($0)/enabled") }.flatMap(selected(in:)),
            pmdShmemEnabled: pmdDir.flatMap { ProcFile.firstLine("\($0)/shmem_enabled") }.flatMap(selected(in:)))
    }

    /// One size of the hugetlb pool.
    public struct HugePagePool: Equatable, Sendable, Codable {
        public var pageSize: Int
        public var total: Int
        public var free: Int
        public var reserved: Int
        public var surplus: Int

        public init(pageSize: Int, total: Int, free: Int, reserved: Int, surplus: Int) {
            self.pageSize = pageSize
            self.total = total
            self.free = free
            self.reserved = reserved
            self.surplus = surplus
        }

        /// Pages a new mapping can fault in: free and not promised to another mapping.
        public var available: Int { free - reserved }
    }

    /// Every hugetlb page size the kernel supports, smallest first.
    public static func hugePagePools(root: String = root) -> [HugePagePool] {
        ProcFile.list(directory: "\(root)/hugepages").compactMap { name -> HugePagePool? in
            guard name.hasPrefix("hugepages-"), name.hasSuffix("kB"),
                  let kib = Int(name.dropFirst("hugepages-".count).dropLast(2)) else { return nil }
            return hugePagePool(pageSize: kib * 1024, root: root)
        }.sorted { $0.pageSize < $1.pageSize }
    }

    /// One size's pool, read from its own directory; nil when the kernel has no such page size.
    public static func hugePagePool(pageSize: Int, root: String = root) -> HugePagePool? {
        let path = "\(root)/hugepages/hugepages-\(pageSize / 1024)kB"
        guard let total = ProcFile.integer("\(path)/nr_hugepages") else { return nil }
        return HugePagePool(pageSize: pageSize, total: total,
                            free: ProcFile.integer("\(path)/free_hugepages") ?? 0,
                            reserved: ProcFile.integer("\(path)/resv_hugepages") ?? 0,
                            surplus: ProcFile.integer("\(path)/surplus_hugepages") ?? 0)
    }
}
