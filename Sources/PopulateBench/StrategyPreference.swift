extension Strategy {
    /// Among strategies of equal measured cost, the one `bench doctor --recommend` names, from what
    /// each declares, so that a new strategy needs no rank: first a protection that covers every
    /// plugged page (a population of all of them, or markers on the empty ones; 6.2's loop bound
    /// misses runs, and no population without markers misses every empty page); then protecting the
    /// plugged runs rather than the whole block; then populating less; then what a QEMU program does
    /// (a release, or a change on one) over an idea; then a cancel that stops tracking; then
    /// `MADV_POPULATE_READ` over a read per page; last, the order of the cases.
    public func isPreferred(over other: Strategy) -> Bool {
        preferenceKey.lexicographicallyPrecedes(other.preferenceKey)
    }

    var preferenceKey: [Int] {
        let declared = declaration
        let coversEveryPluggedPage = switch declared.populate {
        case .wholeRegion, .pluggedRuns: true
        case .nothing: declared.requiredFeatures.contains(.wpUnpopulated)
        case .pluggedRunsQEMU62Bound: false
        }
        let populates = switch declared.populate {
        case .nothing: 0
        case .pluggedRuns: 1
        case .wholeRegion: 2
        case .pluggedRunsQEMU62Bound: 3
        }
        return [coversEveryPluggedPage ? 0 : 1, declared.protect == .pluggedRuns ? 0 : 1, populates,
                declared.lineage == .idea ? 1 : 0,
                declared.onCancel == .stopsTracking ? 0 : 1, declared.method == .madvise ? 0 : 1,
                Strategy.allCases.firstIndex(of: self) ?? 0]
    }
}
