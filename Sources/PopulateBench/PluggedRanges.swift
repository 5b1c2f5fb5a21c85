import Foundation

/// An explicit list of plugged ranges of a region, as a guest's virtio-mem driver left them (or as
/// seen in production), for `--layout ranges:0-128MiB,256MiB-384MiB` or `--layout file:PATH`:
/// each range `START-END` is a byte range of the region, END excluded, in any size notation;
/// a file has one range per line (or comma-separated), `#` starting a comment.
public struct PluggedRanges: Hashable, Codable, Sendable {
    /// Sorted, non-overlapping, non-empty.
    public private(set) var ranges: [Range<Int>]

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// Sorts the ranges and merges touching ones; overlapping or empty ones are an error.
    public init(_ ranges: [Range<Int>]) throws(ParseError) {
        var merged: [Range<Int>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            guard !range.isEmpty, range.lowerBound >= 0 else {
                throw ParseError(description: "\(Self.format(range)) is empty")
            }
            if let last = merged.last {
                guard range.lowerBound >= last.upperBound else {
                    throw ParseError(description: "\(Self.format(last)) and \(Self.format(range)) overlap")
                }
                if range.lowerBound == last.upperBound {
                    merged[merged.count - 1] = last.lowerBound ..< range.upperBound
                    continue
                }
            }
            merged.append(range)
        }
        self.ranges = merged
    }

    /// `0-128MiB,256MiB-384MiB` (the text after `ranges:`).
    public init(parsing text: String) throws(ParseError) {
        let items = text.split(whereSeparator: { $0 == "," || $0 == "\n" })
            .map { $0.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "" }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard !items.isEmpty else { throw ParseError(description: "no ranges given (START-END, e.g. 0-128MiB)") }
        var ranges: [Range<Int>] = []
        for item in items {
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 2, let start = try? ByteSize.parse(String(bounds[0])),
                  let end = try? ByteSize.parse(String(bounds[1])) else {
                throw ParseError(description: "'\(item)' is not a range START-END (e.g. 0-128MiB)")
            }
            guard start < end else { throw ParseError(description: "'\(item)' ends before it starts") }
            ranges.append(start ..< end)
        }
        try self.init(ranges)
    }

    /// A file of ranges, one per line.
    public init(file path: String) throws(ParseError) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ParseError(description: "cannot read \(path)")
        }
        try self.init(parsing: text)
    }

    public var pluggedBytes: Int { ranges.reduce(0) { $0 + $1.count } }

    /// The canonical `--layout` text, which also goes into the CSV's `layout` column.
    public var layoutText: String { "ranges:" + ranges.map(Self.format).joined(separator: ",") }

    public static func format(_ range: Range<Int>) -> String {
        func size(_ bytes: Int) -> String { bytes > 0 && bytes % 1024 == 0 ? ByteSize.format(bytes) : "\(bytes)" }
        return "\(size(range.lowerBound))-\(size(range.upperBound))"
    }

    /// Whether the ranges fit a region of `regionSize` cut into blocks of `blockSize`; the problem if not.
    public func problem(regionSize: Int, blockSize: Int) -> String? {
        if let outside = ranges.first(where: { $0.upperBound > regionSize }) {
            return "\(Self.format(outside)) reaches past the \(ByteSize.format(regionSize)) region"
        }
        if let unaligned = ranges.first(where: { $0.lowerBound % blockSize != 0 || $0.upperBound % blockSize != 0 }) {
            return "\(Self.format(unaligned)) is not made of whole \(ByteSize.format(blockSize)) blocks"
        }
        return nil
    }
}

extension DiscardMap {
    /// The blocks of `ranges` plugged, every other block not; `ranges` must fit (see `problem`).
    public init(regionSize: Int, blockSize: Int, pluggedRanges ranges: PluggedRanges) {
        precondition(ranges.problem(regionSize: regionSize, blockSize: blockSize) == nil)
        var plugged = [Bool](repeating: false, count: regionSize / blockSize)
        for range in ranges.ranges {
            for block in range.lowerBound / blockSize ..< range.upperBound / blockSize { plugged[block] = true }
        }
        self.init(blockSize: blockSize, plugged: plugged)
    }
}
