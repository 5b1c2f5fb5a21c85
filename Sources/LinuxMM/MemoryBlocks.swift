/// Which NUMA node each memory block belongs to, from sysfs: the map from a physical page frame
/// to its node (Documentation/admin-guide/mm/memory-hotplug.rst). Every online page frame lies
/// in a memory block, and `/sys/devices/system/node/node<N>/memory<M>` links block M to node N.
public struct MemoryBlocks: Equatable, Sendable {
    public let blockBytes: Int
    /// The node of each block by index; nil for a block no node or more than one node links
    /// (early memory can put a block across a node boundary).
    public let nodes: [Int?]
    /// The node, when the system has exactly one: every present page frame is on it, so no frame
    /// needs looking up.
    public let soleNode: Int?

    public init(blockBytes: Int, nodes: [Int?], soleNode: Int? = nil) {
        self.blockBytes = blockBytes
        self.nodes = nodes
        self.soleNode = soleNode
    }

    /// The node of the page frame `frame` of `pageSize` bytes, or nil when no single node has it.
    @inline(__always)
    public func node(ofFrame frame: UInt64, pageSize: Int) -> Int? {
        let block = Int(frame) / (blockBytes / pageSize)
        return block < nodes.count ? nodes[block] : nil
    }

    /// The table as sysfs shows it now, or nil without the memory-block directories
    /// (no CONFIG_MEMORY_HOTPLUG, or no NUMA sysfs).
    public static func current(sysfs: String = "/sys/devices/system") -> MemoryBlocks? {
        // block_size_bytes is hexadecimal without a prefix.
        guard let text = ProcFile.firstLine("\(sysfs)/memory/block_size_bytes"),
              let blockBytes = Int(text.trimmingWhitespace, radix: 16), blockBytes > 0 else { return nil }
        var owners: [Int: Int?] = [:]
        var systemNodes: [Int] = []
        for name in ProcFile.list(directory: "\(sysfs)/node") {
            guard name.hasPrefix("node"), let node = Int(name.dropFirst(4)) else { continue }
            systemNodes.append(node)
            for entry in ProcFile.list(directory: "\(sysfs)/node/\(name)") {
                guard entry.hasPrefix("memory"), let block = Int(entry.dropFirst(6)) else { continue }
                owners[block] = owners[block] == nil ? node : .some(nil)
            }
        }
        guard let last = owners.keys.max() else { return nil }
        return MemoryBlocks(blockBytes: blockBytes, nodes: (0 ... last).map { owners[$0] ?? nil },
                            soleNode: systemNodes.count == 1 ? systemNodes[0] : nil)
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
