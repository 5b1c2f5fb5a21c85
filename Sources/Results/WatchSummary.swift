import Foundation
import PopulateBench

/// Each counter of a series of samples: its first, highest and last value, and last minus first.
public struct WatchSummary: Sendable, Equatable {
    public struct Counter: Sendable, Equatable {
        public var name: String
        public var start: Int
        public var peak: Int
        public var end: Int
        public var delta: Int { end - start }
    }

    public var counters: [Counter]

    /// The counters the samples carry, in the order of `/proc/<pid>/status`, then the system's,
    /// then one per NUMA node; empty without samples.
    public init(_ samples: [ProcessSample]) {
        guard let first = samples.first, let last = samples.last else {
            counters = []
            return
        }
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

    public static let csvColumns = ["counter", "start_bytes", "peak_bytes", "end_bytes", "delta_bytes"]

    public var csvRows: [[String: String]] {
        counters.map { ["counter": $0.name, "start_bytes": "\($0.start)", "peak_bytes": "\($0.peak)",
                        "end_bytes": "\($0.end)", "delta_bytes": "\($0.delta)"] }
    }

    /// A table for people: sizes in binary units, deltas signed.
    public func render() -> String {
        let header = ["counter", "start", "peak", "end", "delta"]
        let rows = counters.map { counter in
            [counter.name, ByteSize.format(counter.start), ByteSize.format(counter.peak), ByteSize.format(counter.end),
             (counter.delta > 0 ? "+" : "") + ByteSize.format(counter.delta)]
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
