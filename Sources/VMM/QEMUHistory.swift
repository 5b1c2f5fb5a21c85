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

    /// Presets off the upstream line: a change (a patch, or a kernel feature QEMU could use) on top of
    /// a preset of the line, what to call it without a patch's name, and what it does.
    static let branches: [Strategy: (base: Strategy, unnamedPatch: String, what: String)] = [
        .qemu72WPUnpopulated: (.qemu72, "UFFD_FEATURE_WP_UNPOPULATED",
                               "no population, protection marks empty entries (qemu-7.2-wp-unpopulated)"),
        .wpUnpopulated: (.qemu80, "UFFD_FEATURE_WP_UNPOPULATED", "no population, protection marks empty entries (wp-unpopulated)"),
        .qemu72CancelFix: (.qemu72, "a backport of \(stopTrackingOnCancel.hash)",
                           "a cancelled or failed snapshot stops tracking writes, as \(stopTrackingOnCancel.text)"),
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
        if let branch = branches[to] {
            let name = patch.isEmpty ? branch.unnamedPatch : patch
            let rest = from == branch.base ? "" : "; from \(from.rawValue) to its base: " + change(from: from, to: branch.base)
            return "\(name): \(branch.what)" + rest
        }
        return "from \(from.rawValue) to \(to.rawValue)"
    }
}
