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
        var placement = Placement()
        let pageCount = range.length / pageSize
        let batch = 65536
        var pages = [UnsafeMutableRawPointer?](repeating: nil, count: min(batch, pageCount))
        var status = [CInt](repeating: 0, count: min(batch, pageCount))
        var first = 0
        while first < pageCount {
            let count = min(batch, pageCount - first)
            for index in 0 ..< count {
                pages[index] = UnsafeMutableRawPointer(bitPattern: range.address + UInt((first + index) * pageSize))
            }
            _ = try valueOrThrow("move_pages") {
                pages.withUnsafeMutableBufferPointer { pagesBuffer in
                    status.withUnsafeMutableBufferPointer { statusBuffer in
                        move_pages(0, UInt(count), pagesBuffer.baseAddress, nil, statusBuffer.baseAddress, 0)
                    }
                }
            }
            for index in 0 ..< count {
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
            first += count
        }
        return placement
    }
}
