import PopulateBench

/// The QEMU commits on the path of a background snapshot's population and protection, and which
/// of them separate two presets: what labels the change between two builds in `bench qemu`'s
/// summary (docs/mechanism.md has the history).
public enum QEMUHistory {
    public struct Commit: Sendable, Equatable {
        public var title: String
        public var hash: String
        public var release: String
        public var text: String { "\"\(title)\" (\(hash), \(release))" }
    }

    public static let handleRamDiscardManager = Commit(
        title: "migration/ram: Handle RAMBlocks with a RamDiscardManager on background snapshots",
        hash: "6fee3a1fd9ec", release: "6.2")
    public static let fixPopulateReadRange = Commit(
        title: "migration/ram: Fix populate_read_range()", hash: "5f19a4491941", release: "8.0, 7.2.1")
    public static let optimizeWriteTrackingStart = Commit(
        title: "migration/ram: Optimize ram_write_tracking_start() for RamDiscardManager", hash: "e41c57702e94",
        release: "8.0")
    public static let stopTrackingOnCancel = Commit(
        title: "migration: stop tracking ram writes when cancelling background migration", hash: "3a8b81f2e6",
        release: "8.1")

    /// The upstream line of presets and the commit that leads from each to the next.
    static let line: [(preset: Strategy, commit: Commit?)] = [
        (.qemu61, nil), (.qemu62, handleRamDiscardManager), (.qemu72, fixPopulateReadRange),
        (.qemu80, optimizeWriteTrackingStart), (.qemu81, stopTrackingOnCancel),
    ]

    static func position(_ preset: Strategy) -> Int? {
        let upstream = preset == .qemu720 ? .qemu62 : preset
        return line.firstIndex { $0.preset == upstream }
    }

    /// What separates a build emulated by `from` from one emulated by `to`; `patch` names the
    /// later build's patch, if it has one.
    public static func change(from: Strategy, to: Strategy, patch: String = "") -> String {
        if from == to || position(from).map({ $0 == position(to) }) == true {
            return patch.isEmpty ? "no change on this path (both \(to.rawValue))"
                : "\(patch) changes nothing on this path (both \(to.rawValue))"
        }
        if let start = position(from), let end = position(to) {
            let steps = line[(min(start, end) + 1) ... max(start, end)].compactMap(\.commit).map(\.text)
            return (start < end ? "" : "without ") + steps.joined(separator: " and ")
        }
        if to == .qemu72WPUnpopulated || to == .wpUnpopulated {
            let base = to == .qemu72WPUnpopulated ? Strategy.qemu72 : .qemu80
            let name = patch.isEmpty ? "UFFD_FEATURE_WP_UNPOPULATED" : patch
            let rest = from == base ? "" : "; from \(from.rawValue) to its base: " + change(from: from, to: base)
            return "\(name): no population, protection marks empty entries (\(to.rawValue))" + rest
        }
        if to == .qemu72CancelFix {
            let name = patch.isEmpty ? "a backport of \(stopTrackingOnCancel.hash)" : patch
            let rest = from == .qemu72 ? "" : "; from \(from.rawValue) to its base: " + change(from: from, to: .qemu72)
            return "\(name): a cancelled or failed snapshot stops tracking writes, as \(stopTrackingOnCancel.text)" + rest
        }
        return "from \(from.rawValue) to \(to.rawValue)"
    }
}
