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

/// As the `layout` column writes it: a name, or `ranges:START-END,...`.
extension TrialLayout {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        if text.hasPrefix("ranges:") {
            self = .ranges(try PluggedRanges(parsing: String(text.dropFirst("ranges:".count))))
        } else if let named = DiscardMap.Layout(rawValue: text) {
            self = .named(named)
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "no layout '\(text)'"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}
