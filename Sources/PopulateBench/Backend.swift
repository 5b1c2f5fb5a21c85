/// What guest RAM is made of: QEMU's memory backends, and how each discards an unplugged range
/// (`ram_block_discard_range`).
public enum Backend: String, CaseIterable, Codable, Sendable {
    // The order of the cases is the order of every list of backends: the default matrix, the
    // tables, `bench doctor`, the charts (`docs/columns.json`). What each is lives in `declaration`.
    case anonPrivate = "anon-private"
    case anonShared = "anon-shared"
    case memfdShmem = "memfd-shmem"
    case memfdHugetlb = "memfd-hugetlb"
    case hugetlbfs = "hugetlbfs"

    /// What the kernel makes of a backend's memory: everything the harness decides by backend
    /// follows from it, so a new backend is a case and its declaration.
    public enum Memory: String, Sendable {
        /// Private anonymous pages: a read maps the shared zero page; uffd-wp needs an entry.
        case privateAnonymous = "private-anonymous"
        /// shmem (a shared anonymous mapping is shmem too): a read allocates a page; uffd-wp marks
        /// empty entries; THP maps it by huge PMDs without a deposited PTE table.
        case shmem
        /// hugetlb pages from a pool: a read allocates one; uffd-wp marks empty entries.
        case hugetlb

        /// What its data pages are counted as in `/proc/self/status`, and that counter's change in
        /// a `MemoryDelta`.
        public var dataCounter: (name: String, change: KeyPath<MemoryDelta, Int>) {
            switch self {
            case .privateAnonymous: ("RssAnon", \.rssAnonBytes)
            case .shmem: ("RssShmem", \.rssShmemBytes)
            case .hugetlb: ("HugetlbPages", \.hugetlbBytes)
            }
        }
    }

    /// Everything the harness holds of one backend, in one place.

    public struct Declaration: Sendable {
        public var memory: Memory
        /// A file in a hugetlbfs mount (`--hugetlbfs`), not a memfd or an anonymous mapping.
        public var isFileInHugetlbfsMount = false
        /// A size that shows the effect in well under a second here.
        public var defaultRegionSize: Int
        /// QEMU's memory backend object for it, without its id and size; nil where `bench qemu`
        /// does not run it.
        public var qemuObject: String?
        /// What it stands for, in QEMU's terms.
        public var standsFor: String
    }

    public var declaration: Declaration {
        switch self {
        case .anonPrivate:
            Declaration(memory: .privateAnonymous, defaultRegionSize: 1 << 30, qemuObject: "memory-backend-ram",
                        standsFor: "memory-backend-ram: private anonymous memory")
        case .anonShared:
            Declaration(memory: .shmem, defaultRegionSize: 256 << 20,
                        standsFor: "memory-backend-ram,share=on: shared anonymous memory (shmem)")
        case .memfdShmem:
            Declaration(memory: .shmem, defaultRegionSize: 256 << 20, qemuObject: "memory-backend-memfd,share=on",
                        standsFor: "memory-backend-memfd: a memfd (shmem)")
        case .memfdHugetlb:
            Declaration(memory: .hugetlb, defaultRegionSize: 128 << 20,
                        qemuObject: "memory-backend-memfd,share=on,hugetlb=on,hugetlbsize=2M,reserve=off",
                        standsFor: "memory-backend-memfd,hugetlb=on: a hugetlb memfd")
        case .hugetlbfs:
            Declaration(memory: .hugetlb, isFileInHugetlbfsMount: true, defaultRegionSize: 128 << 20,
                        standsFor: "memory-backend-file on a hugetlbfs mount")
        }
    }

    public var memory: Memory { declaration.memory }

    /// QEMU maps this backend's memory from a memfd (its object is `memory-backend-memfd`), as
    /// `/memfd:...` in its maps; `memory-backend-ram` maps it without a name.
    public var qemuMapsAMemfd: Bool { declaration.qemuObject?.hasPrefix("memory-backend-memfd") == true }

    public var isHugetlb: Bool { memory == .hugetlb }

    /// Reading an absent page maps the shared zeropage only on private anonymous memory; the other
    /// backends allocate a real page. So a present page there is the process's own only when it
    /// is exclusive (pagemap bit 56).
    public var readAllocatesPages: Bool { memory != .privateAnonymous }

    /// shmem and hugetlb take uffd-wp through PTE markers (`UFFD_FEATURE_WP_HUGETLBFS_SHMEM`), which
    /// fill empty entries too, so protecting builds page tables for the whole range.
    public var protectionMarksEmptyEntries: Bool { memory != .privateAnonymous }

    /// The page size of the region: the base page, or the hugetlb page size asked for.
    public func pageSize(hugePageSize: Int, basePageSize: Int) -> Int {
        isHugetlb ? hugePageSize : basePageSize
    }

    /// virtio-mem's default block size: the THP size for base-page backends, at least 1 MiB for hugetlb.
    public func defaultBlockSize(pageSize: Int, thpPMDSize: Int) -> Int {
        isHugetlb ? max(pageSize, 1 << 20) : max(pageSize, thpPMDSize)
    }

    public var defaultRegionSize: Int { declaration.defaultRegionSize }

    /// What the data pages of this backend are counted as in `/proc/self/status`.
    public var dataCounter: String { memory.dataCounter.name }
}

/// What the region asks of transparent huge pages, as QEMU's `madvise(QEMU_MADV_HUGEPAGE)` does.
public enum THPMode: String, CaseIterable, Codable, Sendable {
    case inherit, huge, nohuge
}
