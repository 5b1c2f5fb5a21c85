import LinuxMM

/// Keeps a trial that would not fit from pushing the host into the OOM killer: the model's
/// prediction of real memory against what the host has free.
public enum MemoryGuard {
    /// An upper bound of the ordinary memory a trial makes the kernel allocate: the data pages
    /// its reads and the guest's writes allocate, and the page tables of the whole region (a
    /// read of 1 TiB of private anonymous memory allocates no data but 2 GiB of tables).
    public static func predictedBytes(_ config: TrialConfig, geometry: PageTableGeometry = .x86_64) -> Int {
        let tables = pageTableBytes(regionBytes: config.regionBytes, pageBytes: config.pageBytes, geometry: geometry)
        guard !config.backend.isHugetlb else { return tables }
        let plugged = Double(config.regionBytes) * config.pluggedFraction
        let written = Int(plugged * config.residentFraction)
        guard config.backend.readAllocatesPages else { return written + tables }
        let populated = config.strategy.populateScope == .wholeRegion ? config.regionBytes : Int(plugged)
        return max(written, populated) + tables
    }

    /// Every table that maps a region alone in its window, at each level `VmPTE` counts: a PTE
    /// table per 2 MiB below the PMD-sized pages, a PMD table per GiB below 1 GiB pages, a PUD
    /// table per 512 GiB (the same count as `CostModel` for a read of the whole region; an
    /// anonymous THP deposits the PTE table it would have needed).
    public static func pageTableBytes(regionBytes: Int, pageBytes: Int, geometry: PageTableGeometry = .x86_64) -> Int {
        func tables(_ span: Int) -> Int { (regionBytes + span - 1) / span }
        var count = tables(geometry.pudSpan)
        if pageBytes < geometry.pmdSpan { count += tables(geometry.pmdSpan) }
        if pageBytes < geometry.pteSpan { count += tables(geometry.pteSpan) }
        return count * geometry.tableBytes
    }

    /// Why the trial should be skipped, or nil when it fits.
    /// (Huge pages are `HostCapabilities.skipReason`'s: the pool is a fact of the host.)
    public static func check(_ config: TrialConfig, memAvailable: Int) -> String? {
        let needed = predictedBytes(config)
        let usable = memAvailable / 10 * 9
        if needed > usable {
            return "memory guard: needs about \(ByteSize.format(needed)), 90% of MemAvailable is "
                + "\(ByteSize.format(usable)) (--force runs it anyway)"
        }
        return nil
    }
}
