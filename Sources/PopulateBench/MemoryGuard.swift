import LinuxMM

/// Keeps a trial that would not fit from pushing the host into the OOM killer: the model's
/// prediction of real memory against what the host has free.
public enum MemoryGuard {
    /// An upper bound of the ordinary memory a trial makes the kernel allocate: the data pages
    /// its reads and the guest's writes allocate, and page tables for the whole region.
    public static func predictedBytes(_ config: TrialConfig, geometry: PageTableGeometry = .x86_64) -> Int {
        let tables = (config.regionBytes / geometry.pteSpan + 2) * geometry.tableBytes
        guard !config.backend.isHugetlb else { return tables }
        let plugged = Double(config.regionBytes) * config.pluggedFraction
        let written = Int(plugged * config.residentFraction)
        guard config.backend.readAllocatesPages else { return written + tables }
        let populated = config.strategy.populateScope == .wholeRegion ? config.regionBytes : Int(plugged)
        return max(written, populated) + tables
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
