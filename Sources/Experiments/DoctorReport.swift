import LinuxMM
import PopulateBench

/// What `bench doctor` says: the host's facts, and for every backend and strategy whether it can
/// run here, with the same reasons the CSV's skipped rows give.
public struct DoctorReport: Codable, Sendable {
    public var host: HostCapabilities
    public var userfaultfdFeatureNames: [String]
    public var hugetlbfsMounts: [String: Int]
    public var backends: [String: String]
    public var strategies: [String: String]
    /// What the rest of the host did to the system-wide counters for a second; nil if unreadable.
    public var activity: HostActivity?

    public init(host: HostCapabilities, plan: RunPlan, activity: HostActivity? = nil) {
        self.host = host
        self.activity = activity
        userfaultfdFeatureNames = host.userfaultfdFeatures?.names ?? []
        hugetlbfsMounts = Dictionary(HugetlbfsMounts.all().map { ($0.path, $0.pageSize) },
                                     uniquingKeysWith: { first, _ in first })
        let configs = plan.configs(host: host)
        func verdict(_ reason: String?) -> String { reason.map { "skipped: \($0)" } ?? "ok" }
        backends = Dictionary(uniqueKeysWithValues: Backend.allCases.map { backend in
            let probe = configs.first { $0.backend == backend && $0.strategy == Strategy.backendProbe }
            return (backend.rawValue, verdict(probe.flatMap { host.skipReason(for: $0) }))
        })
        strategies = Dictionary(uniqueKeysWithValues: Strategy.allCases.map { strategy in
            let probe = configs.first { $0.backend.memory == .privateAnonymous && $0.strategy == strategy }
            return (strategy.rawValue, verdict(probe.flatMap { host.skipReason(for: $0) }))
        })
    }

    public func renderText() -> String {
        var lines: [String] = []
        let memory = host.memInfo
        lines.append("host        \(host.hostName), \(host.cpus) CPUs, \(ByteSize.format(memory.memTotal)) memory, "
            + "\(ByteSize.format(memory.memAvailable)) available")
        lines.append("kernel      \(host.kernel), base page \(ByteSize.format(host.basePageSize))")
        if let features = host.userfaultfdFeatures {
            lines.append("userfaultfd \(features.names.joined(separator: " "))")
            let missing = Userfaultfd.Features.named.filter { !features.contains($0.feature) }.map { named in
                named.name + (Userfaultfd.Features.linuxVersion[named.feature].map { " (Linux \($0))" } ?? "")
            }
            if !missing.isEmpty { lines.append("            missing: \(missing.joined(separator: ", "))") }
        } else {
            lines.append("userfaultfd unavailable: \(host.userfaultfdError ?? "unknown")")
        }
        let interfaces = host.interfaces.listed
        let present = interfaces.filter(\.present).map(\.name)
        lines.append("interfaces  " + (present.isEmpty ? "none of the newer ones" : present.joined(separator: ", ")))
        let lacking = interfaces.filter { !$0.present }
        if !lacking.isEmpty {
            lines.append("            missing: " + lacking.map { "\($0.name) (Linux \($0.linux))" }.joined(separator: ", "))
        }
        let thp = host.thp
        lines.append("THP         enabled=\(thp.enabled ?? "-") defrag=\(thp.defrag ?? "-") "
            + "shmem_enabled=\(thp.shmemEnabled ?? "-") use_zero_page=\(thp.useZeroPage ? 1 : 0) "
            + "PMD size \(thp.pmdSize.map(ByteSize.format) ?? "-")")
        for pool in host.hugePagePools {
            lines.append("hugetlb     \(ByteSize.format(pool.pageSize)) pool: \(pool.total) pages, \(pool.free) free, "
                + "\(pool.reserved) reserved, \(pool.surplus) surplus")
        }
        if hugetlbfsMounts.isEmpty {
            lines.append("hugetlbfs   no mount (scripts/setup.sh --hugepages N mounts one)")
        } else {
            for (path, size) in hugetlbfsMounts.sorted(by: { $0.key < $1.key }) {
                lines.append("hugetlbfs   \(path) (\(ByteSize.format(size)) pages)")
            }
        }
        if host.numaAvailable {
            for node in host.numaNodes {
                lines.append("NUMA node \(node.id) \(ByteSize.format(node.totalBytes)), \(ByteSize.format(node.freeBytes)) "
                    + "free, CPUs \(node.cpus.map(String.init).joined(separator: ","))"
                    + host.hugePagePools.map { pool in
                        let free = NUMA.freeHugePages(node: node.id, pageSize: pool.pageSize).map(String.init) ?? "-"
                        return ", \(free) free \(ByteSize.format(pool.pageSize)) huge pages"
                    }.joined())
            }
        } else {
            lines.append("NUMA        not available (kernel without NUMA support)")
        }
        if let activity { lines.append("activity    \(activity.text)") }
        lines.append("")
        lines.append("backends (at their default sizes):")
        // One column for both lists, as wide as the longest name.
        let width = (Backend.allCases.map(\.rawValue) + Strategy.allCases.map(\.rawValue)).map(\.count).max() ?? 15
        for backend in Backend.allCases { lines.append("  \(backend.rawValue.padding(width)) \(backends[backend.rawValue]!)") }
        lines.append("strategies (on anon-private):")
        for strategy in Strategy.allCases { lines.append("  \(strategy.rawValue.padding(width)) \(strategies[strategy.rawValue]!)") }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
