import LinuxMM

/// What this host offers, probed once: the facts `bench doctor` prints and every skip is decided by.
public struct HostCapabilities: Codable, Sendable {
    public var hostName: String
    public var kernel: String
    public var basePageSize: Int
    public var cpus: Int
    public var thp: SysfsMM.TransparentHugePages
    public var hugePagePools: [SysfsMM.HugePagePool]
    /// What `UFFDIO_API` offers, or nil when no userfaultfd can be opened.
    public var userfaultfdFeatures: Userfaultfd.Features?
    public var userfaultfdError: String?
    /// The interfaces newer than uffd-wp that the harness uses or falls back from.
    public var interfaces: KernelInterfaces
    public var numaAvailable: Bool
    public var numaNodes: [NUMA.Node]
    public var memInfo: MemInfo

    public static func probe() -> HostCapabilities {
        var features: Userfaultfd.Features?
        var uffdError: String?
        do { features = try Userfaultfd.availableFeatures() } catch { uffdError = "\(error)" }
        return HostCapabilities(hostName: KernelInfo.hostName, kernel: KernelInfo.release, basePageSize: KernelInfo.pageSize,
                    cpus: KernelInfo.onlineCPUs, thp: SysfsMM.transparentHugePages(),
                    hugePagePools: SysfsMM.hugePagePools(), userfaultfdFeatures: features,
                    userfaultfdError: uffdError, interfaces: KernelInterfaces.probe(), numaAvailable: NUMA.isAvailable, numaNodes: NUMA.nodes(),
                    memInfo: (try? MemInfo.current()) ?? MemInfo())
    }

    public var thpPMDSize: Int { thp.pmdSize ?? PageTableGeometry.x86_64.pteSpan }

    public func pool(pageSize: Int) -> SysfsMM.HugePagePool? {
        hugePagePools.first { $0.pageSize == pageSize }
    }

    /// Whether transparent huge pages will back a region of this backend with this advice.
    public func transparentHuge(backend: Backend, advice: THPMode) -> Bool {
        switch backend {
        case .memfdHugetlb, .hugetlbfs:
            return false
        case .anonPrivate:
            guard let enabled = thp.effectiveEnabled, enabled != "never" else { return false }
            switch advice {
            case .huge: return true
            case .nohuge: return false
            case .inherit: return enabled == "always"
            }
        case .anonShared, .memfdShmem:
            switch thp.effectiveShmemEnabled {
            case "force": return true
            case "always", "within_size": return advice != .nohuge
            case "advise": return advice == .huge
            default: return false
            }
        }
    }

    public func backing(for config: TrialConfig) -> CostModel.Backing {
        CostModel.Backing(backend: config.backend, pageSize: config.pageBytes,
                          transparentHuge: transparentHuge(backend: config.backend, advice: config.thp),
                          hugeZeroPage: thp.useZeroPage)
    }

    /// The userfaultfd features a trial needs: markers on shmem and hugetlb, and the strategy's own.
    public func requiredFeatures(for config: TrialConfig) -> Userfaultfd.Features {
        var features = config.strategy.requiredFeatures
        if config.backend.protectionMarksEmptyEntries { features.insert(.wpHugetlbfsShmem) }
        if config.snapshot?.tracking == .async { features.insert(.wpAsync) }
        return features
    }

    /// The Linux releases a skip reason names, as `(Linux 5.19)`: every skip for something the
    /// kernel is too old for names the release that brought it, and `bench compare` tells a
    /// difference that comes with the kernel by it.
    public static func linuxReleases(namedIn reason: String) -> [String] {
        reason.split(separator: "(Linux ").dropFirst().compactMap { part in
            let release = part.prefix { $0.isNumber || $0 == "." }
            return part.dropFirst(release.count).first == ")" && !release.isEmpty ? String(release) : nil
        }
    }

    /// Why this host cannot run the trial, or nil when it can. Decided before anything is mapped.
    /// Without `checkingPoolSize` (`--force`) a too-small hugetlb pool is left to the kernel: mmap
    /// fails, or surplus pages (`nr_overcommit_hugepages`) back it.
    public func skipReason(for config: TrialConfig, checkingPoolSize: Bool = true) -> String? {
        if config.backend.declaration.isFileInHugetlbfsMount && config.hugetlbfsPath == nil {
            return "no hugetlbfs mount given (--hugetlbfs PATH)"
        }
        if config.backend.isHugetlb {
            guard let pool = pool(pageSize: config.pageBytes) else {
                return "this kernel has no \(ByteSize.format(config.pageBytes)) hugetlb page size"
            }
            let needed = config.regionBytes / config.pageBytes
            if checkingPoolSize && pool.available < needed {
                return "needs \(needed) free \(ByteSize.format(config.pageBytes)) huge pages; the"
                    + " \(ByteSize.format(config.pageBytes)) hugetlb pool has \(pool.available) free of \(pool.total)"
                    + " (grow it: scripts/setup.sh --hugepages \(needed)"
                    + (config.pageBytes == 2 << 20 ? "" : " --hugepage-size \(ByteSize.format(config.pageBytes))")
                    + ", or --force to try)"
            }
        }
        guard let offered = userfaultfdFeatures else {
            return "userfaultfd is unavailable: \(userfaultfdError ?? "unknown error")"
        }
        let missing = requiredFeatures(for: config).subtracting(offered)
        if !missing.isEmpty {
            return "the kernel's userfaultfd lacks \(missing.requirementNames.joined(separator: ", "))"
        }
        if config.strategy.populateMethod == .madvise && !interfaces.populateRead {
            return "the kernel lacks MADV_POPULATE_READ (Linux 5.14)"
        }
        return nil
    }
}
