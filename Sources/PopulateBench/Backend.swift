/// What guest RAM is made of: QEMU's memory backends, and how each discards an unplugged range
/// (`ram_block_discard_range`).
public enum Backend: String, CaseIterable, Codable, Sendable {
    case anonPrivate = "anon-private"
    case anonShared = "anon-shared"
    case memfdShmem = "memfd-shmem"
    case memfdHugetlb = "memfd-hugetlb"
    case hugetlbfs = "hugetlbfs"

    public var isHugetlb: Bool { self == .memfdHugetlb || self == .hugetlbfs }

    /// Reading an absent page maps the shared zeropage only on private anonymous memory; the other
    /// backends allocate a real page.
    public var readAllocatesPages: Bool { self != .anonPrivate }

    /// shmem and hugetlb take uffd-wp through PTE markers (`UFFD_FEATURE_WP_HUGETLBFS_SHMEM`), which
    /// fill empty entries too, so protecting builds page tables for the whole range.
    public var protectionMarksEmptyEntries: Bool { self != .anonPrivate }

    /// The page size of the region: the base page, or the hugetlb page size asked for.
    public func pageSize(hugePageSize: Int, basePageSize: Int) -> Int {
        isHugetlb ? hugePageSize : basePageSize
    }

    /// virtio-mem's default block size: the THP size for base-page backends, at least 1 MiB for hugetlb.
    public func defaultBlockSize(pageSize: Int, thpPMDSize: Int) -> Int {
        isHugetlb ? max(pageSize, 1 << 20) : max(pageSize, thpPMDSize)
    }

    /// A size that shows the effect in well under a second here.
    public var defaultRegionSize: Int {
        switch self {
        case .anonPrivate: 1 << 30
        case .anonShared, .memfdShmem: 256 << 20
        case .memfdHugetlb, .hugetlbfs: 128 << 20
        }
    }

    /// The CSV column of that counter's change.
    public var dataColumn: String {
        switch self {
        case .anonPrivate: "rss_anon_bytes"
        case .anonShared, .memfdShmem: "rss_shmem_bytes"
        case .memfdHugetlb, .hugetlbfs: "hugetlb_bytes"
        }
    }

    /// What the data pages of this backend are counted as in `/proc/self/status`.
    public var dataCounter: String {
        switch self {
        case .anonPrivate: "RssAnon"
        case .anonShared, .memfdShmem: "RssShmem"
        case .memfdHugetlb, .hugetlbfs: "HugetlbPages"
        }
    }
}

/// What the region asks of transparent huge pages, as QEMU's `madvise(QEMU_MADV_HUGEPAGE)` does.
public enum THPMode: String, CaseIterable, Codable, Sendable {
    case inherit, huge, nohuge
}
