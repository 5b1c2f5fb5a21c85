/// `/proc/vmstat`: the kernel's event and page counters, system-wide (mmtests' and lkp-tests'
/// `proc-vmstat` monitor). What explains a figure a process's own counters cannot: a THP split, a
/// huge zeropage allocated, a page-table page.
public enum VMStat {
    /// The counters named in `names` (all when nil), as the kernel prints them: pages or events.
    public static func read(_ names: Set<String>? = nil) throws(SystemCallError) -> [String: Int] {
        try parse(ProcFile.read("/proc/vmstat"), names)
    }

    /// Each memory node's own share of the counters named in `names` (all when nil), from
    /// `/sys/devices/system/node/nodeN/vmstat` (mmtests' `watch-numa-meminfo` reads the same per
    /// node). A node keeps its page counts and NUMA events (`numa_hit`); events such as `pgfault`
    /// and `thp_*` are the system's alone, and a name the node file lacks is left out.
    public static func readNodes(_ nodes: [Int], _ names: Set<String>? = nil) throws(SystemCallError) -> [Int: [String: Int]] {
        var byNode: [Int: [String: Int]] = [:]
        for node in nodes {
            byNode[node] = parse(try ProcFile.read("/sys/devices/system/node/node\(node)/vmstat"), names)
        }
        return byNode
    }

    /// Each node's `change(from:to:)`, for the nodes both readings have.
    public static func change(from start: [Int: [String: Int]], to end: [Int: [String: Int]]) -> [Int: [String: Int]] {
        end.reduce(into: [:]) { deltas, node in
            if let before = start[node.key] { deltas[node.key] = change(from: before, to: node.value) }
        }
    }

    /// Per-node changes as `NODE:NAME:DELTA;...`, nodes in order, each node's counters by name.
    public static func formatNodes(_ byNode: [Int: [String: Int]]) -> String {
        byNode.keys.sorted().flatMap { node in
            byNode[node]!.keys.sorted().map { "\(node):\($0):\(byNode[node]![$0]!)" }
        }.joined(separator: ";")
    }

    /// Each counter of `end` less its value in `start` (0 where `start` lacks it).
    public static func change(from start: [String: Int], to end: [String: Int]) -> [String: Int] {
        end.reduce(into: [:]) { deltas, counter in deltas[counter.key] = counter.value - (start[counter.key] ?? 0) }
    }

    /// `name value` lines; others are passed over.
    public static func parse(_ text: String, _ names: Set<String>? = nil) -> [String: Int] {
        var counters: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let value = Int(fields[1]) else { continue }
            let name = String(fields[0])
            if names?.contains(name) ?? true { counters[name] = value }
        }
        return counters
    }
}
