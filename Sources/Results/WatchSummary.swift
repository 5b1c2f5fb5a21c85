import Foundation
import LinuxMM
import PopulateBench

/// Each counter of a series of samples: its first, highest and last value, and last minus first.
public struct WatchSummary: Sendable, Equatable {
    public struct Counter: Sendable, Equatable {
        public enum Unit: String, Sendable {
            case bytes
            /// A `/proc/vmstat` counter's own unit: pages, or events.
            case count
        }

        public var name: String
        public var unit = Unit.bytes
        public var start: Int
        /// nil for a counter read only at the watch's start and end (`vmstat`).
        public var peak: Int?
        public var end: Int
        public var delta: Int { end - start }
    }

    public var counters: [Counter]

    /// The counters the samples carry, in the order of `/proc/<pid>/status`, then the system's,
    /// then one per NUMA node, then the monitored `/proc/vmstat` counters as read at the watch's
    /// start and end (`vmstat NAME`, and `vmstat nodeN NAME` where there are several nodes);
    /// empty without samples.
    public init(_ samples: [ProcessSample], vmstat: VMStatReadings? = nil) {
        guard let first = samples.first, let last = samples.last else {
            counters = []
            return
        }
        defer { if let vmstat { counters += vmstat.counters } }
        var readers: [(String, (ProcessSample) -> Int?)] = [
            ("VmRSS", { $0.status.vmRSS }), ("RssAnon", { $0.status.rssAnon }), ("RssFile", { $0.status.rssFile }),
            ("RssShmem", { $0.status.rssShmem }), ("VmPTE", { $0.status.vmPTE }),
            ("HugetlbPages", { $0.status.hugetlbPages }),
        ]
        if first.system != nil {
            readers += [("sys Shmem", { $0.system?.shmemBytes }), ("sys PageTables", { $0.system?.pageTablesBytes }),
                        ("sys hugetlb in use", { $0.system?.hugetlbBytes })]
        }
        let nodes = Set(samples.flatMap { $0.nodeBytes.map { Array($0.keys) } ?? [] }).sorted()
        for node in nodes { readers.append(("node \(node)", { $0.nodeBytes.map { $0[node] ?? 0 } })) }
        counters = readers.map { name, read in
            let values = samples.compactMap(read)
            return Counter(name: name, start: read(first) ?? 0, peak: values.max() ?? 0, end: read(last) ?? 0)
        }
    }

    /// `unit` came after the first release: the `*_bytes` cells of a `count` row hold the counter's
    /// own unit.
    public static let csvColumns = ColumnCatalog.watchSummaryColumns.map(\.name)

    public var csvRows: [[String: String]] {
        counters.map { Column.cells(SideColumns.watchSummary, of: $0) }
    }

    /// A table for people: sizes in binary units, counts as they are, deltas signed.
    public func render() -> String {
        let header = ["counter", "start", "peak", "end", "delta"]
        let rows: [[String]] = counters.map { counter in
            func format(_ value: Int) -> String { counter.unit == .bytes ? ByteSize.format(value) : "\(value)" }
            let peak = counter.peak.map(format) ?? "-"
            let delta = (counter.delta > 0 ? "+" : "") + format(counter.delta)
            return [counter.name, format(counter.start), peak, format(counter.end), delta]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { index, cell in
                index == 0 ? cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[index] - cell.count) + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// The monitored `/proc/vmstat` counters at a watch's start and end.
public struct VMStatReadings: Sendable, Equatable {
    /// The counters in the order `--monitor` named them.
    public var names: [String]
    public var start: VMStatReading
    public var end: VMStatReading

    public init(names: [String], start: VMStatReading, end: VMStatReading) {
        self.names = names
        self.start = start
        self.end = end
    }

    var counters: [WatchSummary.Counter] {
        let system = names.compactMap { name -> WatchSummary.Counter? in
            guard let first = start.system[name], let last = end.system[name] else { return nil }
            return WatchSummary.Counter(name: "vmstat \(name)", unit: .count, start: first, peak: nil, end: last)
        }
        let nodes = end.nodes.keys.sorted().flatMap { node in
            names.compactMap { name -> WatchSummary.Counter? in
                guard let first = start.nodes[node]?[name], let last = end.nodes[node]?[name] else { return nil }
                return WatchSummary.Counter(name: "vmstat node\(node) \(name)", unit: .count, start: first, peak: nil, end: last)
            }
        }
        return system + nodes
    }
}
