/// The mappings of `/proc/<pid>/smaps` with the counters `bench qemu` attributes memory by.
public struct SmapsEntry: Equatable, Sendable {
    public var start: UInt
    public var end: UInt
    public var permissions: String
    /// The path or name (`/memfd:memory-backend-memfd (deleted)`, `[heap]`); empty when anonymous.
    public var name: String
    /// `Rss` in bytes: pages of this mapping in memory (the zeropage is not counted).
    public var rss: Int
    /// `Shared_Hugetlb` + `Private_Hugetlb` in bytes (not in `Rss`).
    public var hugetlb: Int
    /// The mapping's `VmFlags` (two letters each: `uw` is registered for userfaultfd write-protection).
    public var vmFlags: [String] = []

    /// A userfaultfd has the mapping registered in write-protect mode (`VM_UFFD_WP`).
    public var registeredForWriteProtect: Bool { vmFlags.contains("uw") }

    public var length: Int { Int(end - start) }
    /// Pages of data in memory, whatever their kind.
    public var dataBytes: Int { rss + hugetlb }
}

public enum Smaps {
    public static func parse(_ text: String) -> [SmapsEntry] {
        var entries: [SmapsEntry] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            if let range = fields.first, range.contains("-"), !range.hasSuffix(":"), fields.count >= 5 {
                let bounds = range.split(separator: "-")
                guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16) else {
                    continue
                }
                let name = fields.count > 5 ? fields[5].trimmingPrefix(while: { $0 == " " }) : ""
                entries.append(SmapsEntry(start: start, end: end, permissions: String(fields[1]), name: String(name),
                                          rss: 0, hugetlb: 0))
            } else if !entries.isEmpty, fields.first == "VmFlags:" {
                entries[entries.count - 1].vmFlags = line.split(separator: " ").dropFirst().map(String.init)
            } else if !entries.isEmpty, fields.count >= 2, let value = Int(fields[1]) {
                switch fields[0] {
                case "Rss:": entries[entries.count - 1].rss = value * 1024
                case "Shared_Hugetlb:", "Private_Hugetlb:": entries[entries.count - 1].hugetlb += value * 1024
                default: break
                }
            }
        }
        return entries
    }

    /// The corresponding file is `/proc/<pid>/smaps`.
    public static func read(pid: Int32) throws(SystemCallError) -> [SmapsEntry] {
        parse(try ProcFile.read("/proc/\(pid)/smaps"))
    }
}
