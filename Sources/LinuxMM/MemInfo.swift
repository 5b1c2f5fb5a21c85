/// The system-wide view of `/proc/meminfo`, in bytes (huge page counts as counts). It sees shmem
/// pages that no process maps, which per-process RSS does not.
public struct MemInfo: Equatable, Sendable, Codable {
    public var memTotal: Int
    public var memAvailable: Int
    public var shmem: Int
    public var pageTables: Int
    public var hugePagesTotal: Int
    public var hugePagesFree: Int
    public var hugePageSize: Int

    public init(memTotal: Int = 0, memAvailable: Int = 0, shmem: Int = 0, pageTables: Int = 0,
                hugePagesTotal: Int = 0, hugePagesFree: Int = 0, hugePageSize: Int = 0) {
        self.memTotal = memTotal
        self.memAvailable = memAvailable
        self.shmem = shmem
        self.pageTables = pageTables
        self.hugePagesTotal = hugePagesTotal
        self.hugePagesFree = hugePagesFree
        self.hugePageSize = hugePageSize
    }

    public init(parsing text: String) throws {
        let values = KeyValueText.parse(text)
        func field(_ name: String) throws -> Int {
            guard let value = values[name] else { throw ProcStatus.MissingField(name: name) }
            return value
        }
        self.init(memTotal: try field("MemTotal"), memAvailable: try field("MemAvailable"),
                  shmem: try field("Shmem"), pageTables: try field("PageTables"),
                  hugePagesTotal: values["HugePages_Total"] ?? 0, hugePagesFree: values["HugePages_Free"] ?? 0,
                  hugePageSize: values["Hugepagesize"] ?? 0)
    }

    public static func current() throws -> MemInfo {
        try MemInfo(parsing: ProcFile.read("/proc/meminfo"))
    }
}
