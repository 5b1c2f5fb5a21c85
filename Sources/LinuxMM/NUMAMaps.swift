/// A process's pages per NUMA node, from `/proc/<pid>/numa_maps`: each mapping's `N<node>=<pages>`
/// counts pages of that mapping's own size (`kernelpagesize_kB`), so a hugetlb mapping's 2 MiB
/// page counts once. Reading it walks the process's page tables, which costs the reader, not the
/// process read.
public enum NUMAMaps {
    /// Bytes per node over every mapping of a `numa_maps` text.
    public static func nodeBytes(text: String) -> [Int: Int] {
        var bytes: [Int: Int] = [:]
        for line in text.split(separator: "\n") {
            var pages: [(node: Int, count: Int)] = []
            var pageKiB = 4
            for field in line.split(separator: " ") {
                if field.hasPrefix("kernelpagesize_kB="), let size = Int(field.dropFirst(18)) {
                    pageKiB = size
                } else if field.hasPrefix("N") {
                    let parts = field.dropFirst().split(separator: "=")
                    if parts.count == 2, let node = Int(parts[0]), let count = Int(parts[1]) {
                        pages.append((node, count))
                    }
                }
            }
            for (node, count) in pages { bytes[node, default: 0] += count * pageKiB * 1024 }
        }
        return bytes
    }

    /// The corresponding file is `/proc/<pid>/numa_maps`; nil pid is the calling process.
    public static func read(pid: Int32?) throws(SystemCallError) -> [Int: Int] {
        nodeBytes(text: try ProcFile.read("/proc/\(pid.map(String.init) ?? "self")/numa_maps"))
    }
}
