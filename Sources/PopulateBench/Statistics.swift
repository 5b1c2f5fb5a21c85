/// Order statistics over repetitions: robust to the noise of a shared VM.
public struct Statistics: Equatable, Sendable {
    public var count: Int
    public var median: Double
    public var min: Double
    public var max: Double
    /// Interquartile range, Q3 − Q1, with linear interpolation between order statistics.
    public var iqr: Double

    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        count = sorted.count
        median = Self.quantile(sorted, 0.5)
        min = sorted.first!
        max = sorted.last!
        iqr = Self.quantile(sorted, 0.75) - Self.quantile(sorted, 0.25)
    }

    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let position = q * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = Swift.min(lower + 1, sorted.count - 1)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
    }
}
