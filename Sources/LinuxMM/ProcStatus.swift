/// The memory fields of `/proc/<pid>/status`, in bytes. RSS counters are per-CPU caches and may
/// lag by a few pages; `VmPTE` and `HugetlbPages` are exact.
public struct ProcStatus: Equatable, Sendable, Codable {
    public var vmRSS: Int
    public var rssAnon: Int
    public var rssFile: Int
    public var rssShmem: Int
    /// Page-table bytes: last-level tables and the PMD and PUD tables above them.
    public var vmPTE: Int
    public var hugetlbPages: Int

    public init(vmRSS: Int = 0, rssAnon: Int = 0, rssFile: Int = 0, rssShmem: Int = 0,
                vmPTE: Int = 0, hugetlbPages: Int = 0) {
        self.vmRSS = vmRSS
        self.rssAnon = rssAnon
        self.rssFile = rssFile
        self.rssShmem = rssShmem
        self.vmPTE = vmPTE
        self.hugetlbPages = hugetlbPages
    }

    public struct MissingField: Error, CustomStringConvertible {
        public var name: String
        public var description: String { "/proc/<pid>/status has no \(name) line" }
    }

    /// Parses the text of a status file.
    public init(parsing text: String) throws {
        let values = KeyValueText.parse(text)
        func field(_ name: String) throws -> Int {
            guard let value = values[name] else { throw MissingField(name: name) }
            return value
        }
        self.init(vmRSS: try field("VmRSS"), rssAnon: try field("RssAnon"), rssFile: try field("RssFile"),
                  rssShmem: try field("RssShmem"), vmPTE: try field("VmPTE"),
                  hugetlbPages: values["HugetlbPages"] ?? 0)
    }

    /// The calling process's status.
    public static func current() throws -> ProcStatus {
        try ProcStatus(parsing: ProcFile.read("/proc/self/status"))
    }

    /// Another process's status, readable as root or as its owner. A process that has exited is
    /// `ENOENT` (reaped) or `MissingField` (a zombie has no memory lines).
    public static func read(pid: Int32) throws -> ProcStatus {
        try ProcStatus(parsing: ProcFile.read("/proc/\(pid)/status"))
    }
}
