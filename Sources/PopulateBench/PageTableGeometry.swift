/// The shape of the page tables: every table is one base page of 8-byte entries, so each level
/// spans 512 times the one below (x86-64 and arm64 with 4 KiB pages, four levels).
public struct PageTableGeometry: Equatable, Sendable {
    public var tableBytes: Int
    public var entriesPerTable: Int

    public static let x86_64 = PageTableGeometry(tableBytes: 4096, entriesPerTable: 512)

    /// What one last-level (PTE) table maps: 2 MiB.
    public var pteSpan: Int { tableBytes * entriesPerTable }
    /// What one PMD table maps: 1 GiB.
    public var pmdSpan: Int { pteSpan * entriesPerTable }
    /// What one PUD table maps: 512 GiB. `VmPTE` counts PTE, PMD and PUD tables, not the PGD.
    public var pudSpan: Int { pmdSpan * entriesPerTable }
}
