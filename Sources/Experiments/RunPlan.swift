import LinuxMM
import PopulateBench

/// A user's request, validated: the lists to cross, and how to run them.
public struct RunPlan: Codable, Sendable {
    public var backends: [Backend]
    public var strategies: [Strategy]
    /// nil: each backend's default size.
    public var sizes: [Int]?
    public var pluggedFractions: [Double]
    public var residentFractions: [Double]
    /// nil: virtio-mem's default block size for each backend.
    public var blockSizes: [Int]?
    public var layouts: [TrialLayout]
    public var thpModes: [THPMode]
    public var seed: UInt64
    /// The hugetlbfs mount for each huge page size (`--hugetlbfs`, or one found in /proc/mounts).
    public var hugetlbfsMounts: [Int: String]
    /// The huge page sizes the hugetlb backends run with; every size is its own config.
    public var hugePageSizes: [Int]
    public var repetitions: Int
    public var warmup: Int
    public var trialTimeout: Double
    public var force: Bool
    public var numaPolicy: NUMA.Policy = .local
    public var populateNode: Int?
    public var guestNode: Int?
    public var snapshot: SnapshotOptions?
    /// The `/proc/vmstat` counters each phase records (`--monitor`); empty with `--monitor none`.
    public var vmstatCounters = VMStatMonitor.defaultCounters

    public static let defaultSeed = TrialConfig.defaultSeed

    public init(backends: [Backend] = Backend.allCases, strategies: [Strategy] = Strategy.defaultMatrix,
                sizes: [Int]? = nil, pluggedFractions: [Double] = [0.25], residentFractions: [Double] = [0.5],
                blockSizes: [Int]? = nil, layouts: [TrialLayout] = [.named(.random)], thpModes: [THPMode] = [.inherit],
                seed: UInt64 = RunPlan.defaultSeed, hugetlbfsMounts: [Int: String] = [:],
                hugePageSizes: [Int] = [2 << 20],
                repetitions: Int = 3, warmup: Int = 1, trialTimeout: Double = 600, force: Bool = false) {
        self.backends = backends
        self.strategies = strategies
        self.sizes = sizes
        self.pluggedFractions = pluggedFractions
        self.residentFractions = residentFractions
        self.blockSizes = blockSizes
        self.layouts = layouts
        self.thpModes = thpModes
        self.seed = seed
        self.hugetlbfsMounts = hugetlbfsMounts
        self.hugePageSizes = hugePageSizes
        self.repetitions = repetitions
        self.warmup = warmup
        self.trialTimeout = trialTimeout
        self.force = force
    }

    /// Checks everything that does not depend on a trial's outcome; the first problem is thrown.
    public func validate(host: HostCapabilities) throws(InputError) {
        try Self.checkList(backends.map(\.rawValue), .backends)
        try Self.checkList(strategies.map(\.rawValue), .strategies)
        try Self.checkList(pluggedFractions.map { "\($0)" }, .plugged)
        try Self.checkList(residentFractions.map { "\($0)" }, .resident)
        try Self.checkList(hugePageSizes.map { "\($0)" }, .hugePageSize)
        try Self.checkList(layouts.map(\.name), .layout)
        try Self.checkList(thpModes.map(\.rawValue), .thp)
        if let sizes { try Self.checkList(sizes.map { "\($0)" }, .size) }
        if let blockSizes { try Self.checkList(blockSizes.map { "\($0)" }, .blockSize) }
        for fraction in pluggedFractions where !(0 ... 1).contains(fraction) {
            throw InputError(.plugged, "\(fraction) is outside 0...1")
        }
        for fraction in residentFractions where !(0 ... 1).contains(fraction) {
            throw InputError(.resident, "\(fraction) is outside 0...1")
        }
        if snapshot?.cancelAt != nil, pluggedFractions.contains(0), layouts.contains(where: { $0.pluggedRanges == nil }) {
            throw InputError(.cancelAt, "nothing is plugged at \(PlanInput.plugged.reference) 0, so there is no copy to cancel")
        }
        guard repetitions >= 1 else { throw InputError(.repetitions, "must be at least 1, not \(repetitions)") }
        guard warmup >= 0 else { throw InputError(.warmup, "must be 0 or more, not \(warmup)") }
        guard trialTimeout > 0 else { throw InputError(.trialTimeout, "must be more than 0 seconds") }
        for size in hugePageSizes where size != 2 << 20 && size != 1 << 30 {
            throw InputError(.hugePageSize, "\(ByteSize.format(size)) is not one of 2MiB, 1GiB")
        }
        if backends.contains(where: \.declaration.isFileInHugetlbfsMount) {
            for (size, path) in hugetlbfsMounts.sorted(by: { $0.key < $1.key }) {
                guard let mountPage = HugetlbfsFile.pageSize(ofMount: path) else {
                    throw InputError(.hugetlbfs, "\(path) is not a directory on a hugetlbfs mount")
                }
                guard mountPage == size else {
                    throw InputError(.hugetlbfs, "\(path) has \(ByteSize.format(mountPage)) pages, "
                        + "not the \(ByteSize.format(size)) of \(PlanInput.hugePageSize.reference)")
                }
            }
        }
        if let snapshot {
            guard (0 ... 1024).contains(snapshot.writers) else {
                throw InputError(.writers, "\(snapshot.writers) is outside 0...1024")
            }
            guard snapshot.writeRate >= 0 else { throw InputError(.writeRate, "must be 0 or more") }
            // Below 100 µs the sampler would busy-spin a core that the writers and copier need.
            guard snapshot.sampleInterval >= 0.0001 else {
                throw InputError(.sampleInterval, "must be at least 100us")
            }
        }
        let nodes = host.numaNodes.map(\.id)
        for (input, node) in [(PlanInput.populateNode, populateNode), (.guestNode, guestNode)] {
            guard let node else { continue }
            guard host.numaAvailable else { throw InputError(input, "this host has no NUMA support") }
            guard nodes.contains(node) else {
                throw InputError(input, "node \(node) does not exist (nodes: \(nodes.map(String.init).joined(separator: ",")))")
            }
        }
        for size in sizes ?? [] where size <= 0 {
            throw InputError(.size, "\(size) is not a positive size")
        }
        for block in blockSizes ?? [] {
            guard block > 0, block & (block - 1) == 0 else {
                throw InputError(.blockSize, "\(ByteSize.exact(block)) is not a power of two")
            }
            guard block >= 1 << 20 else {
                throw InputError(.blockSize, "\(ByteSize.exact(block)) is below virtio-mem's minimum of 1MiB")
            }
        }
        for (backend, page) in backendPages(host: host) {
            for block in blockSizes ?? [] where block % page != 0 {
                throw InputError(.blockSize, "\(ByteSize.exact(block)) is below or not a multiple of "
                    + "\(backend.rawValue)'s \(ByteSize.format(page)) page size")
            }
            for size in regionSizes(for: backend, pageSize: page) {
                for block in blockSizes(for: backend, pageSize: page, host: host) {
                    for ranges in layouts.compactMap(\.pluggedRanges) {
                        if let problem = ranges.problem(regionSize: size, blockSize: block) {
                            throw InputError(.layout, "\(problem) (\(backend.rawValue))")
                        }
                    }
                }
                guard size % page == 0 else {
                    throw InputError(.size, "\(ByteSize.exact(size)) is not a multiple of "
                        + "\(backend.rawValue)'s \(ByteSize.format(page)) page size")
                }
                for block in blockSizes(for: backend, pageSize: page, host: host) where size % block != 0 {
                    throw InputError(.size, "\(ByteSize.exact(size)) is not a multiple of the "
                        + "\(ByteSize.format(block)) block size (\(backend.rawValue))")
                }
            }
        }
        // Rounded up, the pages saved before a cancel can reach every plugged page of a short copy.
        if let fraction = snapshot?.cancelAt {
            // Once per discard map: the strategies, THP modes and resident fractions share theirs.
            var checked = Set<TrialConfig>()
            for var config in configs(host: host) {
                config.strategy = .none
                config.thp = .inherit
                config.resident = .share(0)
                guard checked.insert(config).inserted else { continue }
                let pages = config.discardMap.pluggedRuns.reduce(0) { $0 + $1.count } / config.pageBytes
                guard SnapshotOptions.cancelComesAfterTheCopy(at: fraction, of: pages) else { continue }
                throw InputError(.cancelAt, pages == 0
                    ? "\(config.layoutText) at \(PlanInput.plugged.reference) \(config.pluggedFraction) plugs nothing of \(config.backend.rawValue): no copy to cancel"
                    : "\(fraction) of \(pages) plugged \(ByteSize.format(config.pageBytes)) pages (\(config.backend.rawValue), "
                    + "\(ByteSize.format(config.regionBytes))) is every page: the copy completes before the cancel")
            }
        }
    }

    /// Fills `hugetlbfsMounts`: `path` for its own page size, or a mount found for each huge page
    /// size. `required` (the user asked for the hugetlbfs backend) makes a missing mount an error
    /// rather than a skip.
    public mutating func locateHugetlbfs(path: String?, required: Bool) throws(InputError) {
        hugetlbfsMounts = [:]
        if let path {
            guard let page = HugetlbfsFile.pageSize(ofMount: path) else {
                throw InputError(.hugetlbfs, "\(path) is not a directory on a hugetlbfs mount")
            }
            if let other = hugePageSizes.first(where: { $0 != page }) {
                throw InputError(.hugetlbfs, "\(path) has \(ByteSize.format(page)) pages, not the "
                    + "\(ByteSize.format(other)) of \(PlanInput.hugePageSize.reference) (leave out \(PlanInput.hugetlbfs.reference) to use a mount per size)")
            }
            hugetlbfsMounts[page] = path
            return
        }
        for size in hugePageSizes {
            if let found = HugetlbfsMounts.find(pageSize: size) {
                hugetlbfsMounts[size] = found
            } else if required {
                throw InputError(.hugetlbfs, "the hugetlbfs backend needs a mount point (\(PlanInput.hugetlbfs.reference) PATH); "
                    + "none with \(ByteSize.format(size)) pages is mounted (scripts/setup.sh --hugepages N mounts one)")
            }
        }
    }

    private static func checkList(_ values: [String], _ input: PlanInput) throws(InputError) {
        guard !values.isEmpty else { throw InputError(input, "the list is empty") }
        var seen = Set<String>()
        for value in values where !seen.insert(value).inserted {
            throw InputError(input, "'\(value)' is listed twice")
        }
    }

    /// The base page for most backends; every `--hugepage-size` for the hugetlb ones.
    public func pageSizes(for backend: Backend, host: HostCapabilities) -> [Int] {
        backend.isHugetlb ? hugePageSizes : [host.basePageSize]
    }

    /// The sizes given, or the backend's default.
    public func regionSizes(for backend: Backend, pageSize: Int) -> [Int] {
        sizes ?? [max(backend.defaultRegionSize, pageSize)]
    }

    public func blockSizes(for backend: Backend, pageSize: Int, host: HostCapabilities) -> [Int] {
        blockSizes ?? [backend.defaultBlockSize(pageSize: pageSize, thpPMDSize: host.thpPMDSize)]
    }

    /// The cross product of every list, in a stable order: backend, page size, size, block, layout,
    /// THP, plugged fraction, resident fraction, strategy.
    public func configs(host: HostCapabilities) -> [TrialConfig] {
        var result: [TrialConfig] = []
        for (backend, page) in backendPages(host: host) {
            for size in regionSizes(for: backend, pageSize: page) {
                for block in blockSizes(for: backend, pageSize: page, host: host) {
                    for layout in layouts {
                        for thp in thpModes {
                            // Explicit ranges are their own fraction.
                            let fractions = layout.pluggedRanges.map { [Double($0.pluggedBytes) / Double(size)] }
                                ?? pluggedFractions
                            for plugged in fractions {
                                for resident in residentFractions {
                                    for strategy in strategies {
                                        result.append(TrialConfig(
                                            backend: backend, regionBytes: size, pageBytes: page, blockBytes: block,
                                            layout: layout, thp: thp, pluggedFraction: plugged,
                                            residentFraction: resident, strategy: strategy, seed: seed,
                                            hugetlbfsPath: backend.declaration.isFileInHugetlbfsMount ? hugetlbfsMounts[page] : nil,
                                            numaPolicy: numaPolicy, populateNode: populateNode,
                                            guestNode: guestNode, snapshot: snapshot))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// Each backend with each of its page sizes.
    func backendPages(host: HostCapabilities) -> [(Backend, Int)] {
        backends.flatMap { backend in pageSizes(for: backend, host: host).map { (backend, $0) } }
    }
}
