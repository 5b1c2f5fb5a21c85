#if canImport(Glibc)
import Glibc
#endif
import CNUMA

/// NUMA topology and page placement, through libnuma.
public enum NUMA {
    /// Whether the kernel has NUMA support (`numa_available`).
    public static var isAvailable: Bool { numa_available() >= 0 }

    public struct Node: Equatable, Sendable, Codable {
        public var id: Int
        public var totalBytes: Int
        public var freeBytes: Int
        public var cpus: [Int]
    }

    /// The nodes that have memory, with their CPUs. The corresponding C functions are
    /// `numa_node_size64` and `numa_node_to_cpus`.
    public static func nodes() -> [Node] {
        guard isAvailable else { return [] }
        let maxNode = Int(numa_max_node())
        let cpuCount = Int(numa_num_configured_cpus())
        return (0 ... maxNode).compactMap { id -> Node? in
            var free: Int64 = 0
            let total = numa_node_size64(CInt(id), &free)
            guard total > 0 else { return nil }
            var cpus: [Int] = []
            if let mask = numa_allocate_cpumask() {
                defer { numa_free_cpumask(mask) }
                if numa_node_to_cpus(CInt(id), mask) == 0 {
                    cpus = (0 ..< cpuCount).filter { numa_bitmask_isbitset(mask, UInt32($0)) != 0 }
                }
            }
            return Node(id: id, totalBytes: Int(total), freeBytes: Int(free), cpus: cpus)
        }
    }

    /// Where the pages of a range are: pages per node, pages mapping the shared zeropage, and
    /// pages not present.
    public struct Placement: Equatable, Sendable, Codable {
        public var pagesPerNode: [Int: Int] = [:]
        public var zeroPages = 0
        public var absentPages = 0
        public var otherErrors = 0

        public init() {}

        public var totalPages: Int { pagesPerNode.values.reduce(0, +) + zeroPages + absentPages + otherErrors }
    }

    /// Asks `move_pages` in query mode (no target nodes: nothing moves, nothing is allocated) where
    /// each page of `range` lies, in steps of `pageSize`. The zeropage reports `EFAULT`, an absent
    /// page `ENOENT`. The corresponding C function is `move_pages`.
    public static func placement(of range: Mapping, pageSize: Int) throws(SystemCallError) -> Placement {
        try placement(ofPages: range.length / pageSize) { range.address + UInt($0 * pageSize) }
    }

    /// `move_pages` in query mode for `count` pages, the address of the i-th being `address(i)`.
    public static func placement(ofPages count: Int, address: (Int) -> UInt) throws(SystemCallError) -> Placement {
        var placement = Placement()
        let batch = 65536
        var pages = [UnsafeMutableRawPointer?](repeating: nil, count: min(batch, count))
        var status = [CInt](repeating: 0, count: min(batch, count))
        var first = 0
        while first < count {
            let size = min(batch, count - first)
            for index in 0 ..< size {
                pages[index] = UnsafeMutableRawPointer(bitPattern: address(first + index))
            }
            _ = try valueOrThrow("move_pages") {
                pages.withUnsafeMutableBufferPointer { pagesBuffer in
                    status.withUnsafeMutableBufferPointer { statusBuffer in
                        move_pages(0, UInt(size), pagesBuffer.baseAddress, nil, statusBuffer.baseAddress, 0)
                    }
                }
            }
            for index in 0 ..< size {
                let code = status[index]
                if code >= 0 {
                    placement.pagesPerNode[Int(code), default: 0] += 1
                } else if code == -EFAULT {
                    placement.zeroPages += 1
                } else if code == -ENOENT {
                    placement.absentPages += 1
                } else {
                    placement.otherErrors += 1
                }
            }
            first += size
        }
        return placement
    }
}

extension NUMA {
    /// A memory policy for a range, as QEMU's memory backends set with `host-nodes` and `policy`.
    public enum Policy: Equatable, Hashable, Sendable, Codable {
        /// The process default: first touch allocates on the toucher's node.
        case local
        case bind([Int])
        case interleave([Int])
        case preferred(Int)

        var mode: CInt {
            switch self {
            case .local: MPOL_DEFAULT
            case .bind: MPOL_BIND
            case .interleave: MPOL_INTERLEAVE
            case .preferred: MPOL_PREFERRED
            }
        }

        var nodes: [Int] {
            switch self {
            case .local: []
            case let .bind(nodes), let .interleave(nodes): nodes
            case let .preferred(node): [node]
            }
        }
    }

    /// Sets the policy of a mapped range; on shmem it becomes the shared policy of the object.
    /// The corresponding C function is `mbind`.
    public static func apply(_ policy: Policy, to range: Mapping) throws(SystemCallError) {
        let bitsPerWord = UInt.bitWidth
        let maxNode = (policy.nodes.max() ?? 0) + 1
        var mask = [UInt](repeating: 0, count: maxNode / bitsPerWord + 1)
        for node in policy.nodes { mask[node / bitsPerWord] |= 1 << UInt(node % bitsPerWord) }
        _ = try valueOrThrow("mbind") {
            mask.withUnsafeBufferPointer { words in
                mbind(range.base, UInt(range.length), policy.mode, policy.nodes.isEmpty ? nil : words.baseAddress,
                      policy.nodes.isEmpty ? 0 : UInt(mask.count * bitsPerWord + 1), 0)
            }
        }
    }

    /// Restricts the calling thread to the CPUs of `node` (for a thread that runs only that).
    /// The corresponding C function is `numa_run_on_node`.
    public static func runOnNode(_ node: Int) throws(SystemCallError) {
        _ = try valueOrThrow("numa_run_on_node(\(node))") { numa_run_on_node(CInt(node)) }
    }

    /// Runs `body` on the CPUs of `node` (or where it is, for nil), then gives the calling thread
    /// back the CPUs it had: an outer `taskset` stays in force.
    /// The corresponding C functions are `numa_sched_getaffinity` and `numa_sched_setaffinity`.
    public static func onNode<T>(_ node: Int?, _ body: () throws -> T) throws -> T {
        guard let node else { return try body() }
        guard let saved = numa_allocate_cpumask() else { throw SystemCallError(call: "numa_allocate_cpumask", errno: ENOMEM) }
        defer { numa_free_cpumask(saved) }
        _ = try valueOrThrow("numa_sched_getaffinity") { numa_sched_getaffinity(0, saved) }
        try runOnNode(node)
        defer { _ = numa_sched_setaffinity(0, saved) }
        return try body()
    }

    /// Free huge pages of one size on one node, from sysfs.
    public static func freeHugePages(node: Int, pageSize: Int) -> Int? {
        ProcFile.integer("/sys/devices/system/node/node\(node)/hugepages/hugepages-\(pageSize / 1024)kB/free_hugepages")
    }

    /// The per-node page counts `/proc/<pid>/numa_maps` gives the mapping that starts at `address`
    /// (`N<node>=<pages>`), or nil when no line starts there.
    public static func numaMapsCounts(text: String, address: UInt) -> [Int: Int]? {
        let start = String(address, radix: 16)
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.first.map(String.init) == start else { continue }
            var counts: [Int: Int] = [:]
            for field in fields.dropFirst() where field.hasPrefix("N") {
                let parts = field.dropFirst().split(separator: "=")
                if parts.count == 2, let node = Int(parts[0]), let pages = Int(parts[1]) { counts[node] = pages }
            }
            return counts
        }
        return nil
    }
}
