/// Where a trial's plugged blocks are: a named pattern of `--plugged` of the blocks, or exactly the
/// ranges given (`--layout ranges:...`, or what a real guest plugged). One value, so a `ranges`
/// layout cannot be without its ranges, nor ranges beside a named layout.
public enum TrialLayout: Codable, Hashable, Sendable {
    case named(DiscardMap.Layout)
    case ranges(PluggedRanges)

    /// The `layout` column: the layout's name, or the ranges themselves.
    public var text: String {
        switch self {
        case let .named(layout): layout.rawValue
        case let .ranges(ranges): ranges.layoutText
        }
    }

    /// How `--layout` names it: the name, or `ranges`.
    public var name: String {
        switch self {
        case let .named(layout): layout.rawValue
        case .ranges: "ranges"
        }
    }

    public var pluggedRanges: PluggedRanges? {
        if case let .ranges(ranges) = self { ranges } else { nil }
    }
}
