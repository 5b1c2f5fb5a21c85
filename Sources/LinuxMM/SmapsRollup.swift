/// The huge-mapping fields of `/proc/<pid>/smaps_rollup`: how much of the process the kernel maps
/// with PMD-sized THPs. Reading it walks every page table of the process, so it is read only
/// where THP can back a region.
public struct SmapsRollup: Equatable, Sendable, Codable {
    /// Anonymous memory mapped by huge PMDs.
    public var anonHugePages: Int
    /// shmem (memfd, `MAP_SHARED|MAP_ANONYMOUS`) mapped by huge PMDs.
    public var shmemPmdMapped: Int

    public init(anonHugePages: Int = 0, shmemPmdMapped: Int = 0) {
        self.anonHugePages = anonHugePages
        self.shmemPmdMapped = shmemPmdMapped
    }

    public init(parsing text: String) {
        let values = KeyValueText.parse(text)
        self.init(anonHugePages: values["AnonHugePages"] ?? 0, shmemPmdMapped: values["ShmemPmdMapped"] ?? 0)
    }

    /// The calling process's rollup. The corresponding file is `/proc/self/smaps_rollup`.
    public static func current() throws(SystemCallError) -> SmapsRollup {
        SmapsRollup(parsing: try ProcFile.read("/proc/self/smaps_rollup"))
    }
}
