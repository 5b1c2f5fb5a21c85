import PopulateBench

/// What separates two QEMU programs on the path of a background snapshot's population and
/// protection, from their presets' lineage (`Strategy.Declaration.lineage`): what labels the change
/// between two builds in `bench qemu`'s table and rows (docs/mechanism.md has the history).
public enum QEMUHistory {
    /// The upstream presets in release order, with the commit that leads to each.
    static var line: [(preset: Strategy, commit: QEMUCommit?)] {
        Strategy.upstreamLine.map { ($0.strategy, $0.commit) }
    }

    static func position(_ preset: Strategy) -> Int? {
        guard let upstream = preset.upstreamCode else { return nil }
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
        if case let .branch(base, change, does) = to.declaration.lineage {
            let name = patch.isEmpty ? change : patch
            let rest = from == base ? "" : "; from \(from.rawValue) to its base: " + self.change(from: from, to: base)
            return "\(name): \(does)" + rest
        }
        return "from \(from.rawValue) to \(to.rawValue)"
    }
}
