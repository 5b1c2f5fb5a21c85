import Histogram

/// What the guest felt during a snapshot: how long each write that hit a write-protected page
/// waited for the page to be copied and un-protected (a vCPU stalls that long), from a real
/// HdrHistogram (3 significant digits). Writes that did not fault are only counted: their share
/// shows how often the guest was stalled at all.
public struct StallDistribution: Codable, Sendable, Equatable {
    /// One value the histogram recorded (the highest equivalent of its bucket) and how often.
    public struct Bucket: Codable, Sendable, Equatable {
        public var nanoseconds: UInt64
        public var count: UInt64
    }

    public var stalledWrites: Int
    public var unstalledWrites: Int
    public var p50Nanoseconds: UInt64
    public var p99Nanoseconds: UInt64
    public var maxNanoseconds: UInt64
    public var buckets: [Bucket]

    /// Stalls up to a minute are kept at full precision; a longer one is clamped there.
    static let highestTrackable: UInt64 = 60_000_000_000

    static func emptyHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highestTrackable,
                          numberOfSignificantValueDigits: .three)
    }

    init(stalls: Histogram<UInt64>, unstalledWrites: Int) {
        stalledWrites = Int(stalls.totalCount)
        self.unstalledWrites = unstalledWrites
        let empty = stalls.totalCount == 0
        p50Nanoseconds = empty ? 0 : stalls.valueAtPercentile(50)
        p99Nanoseconds = empty ? 0 : stalls.valueAtPercentile(99)
        maxNanoseconds = empty ? 0 : stalls.max
        buckets = stalls.recordedValues().map { Bucket(nanoseconds: $0.value, count: $0.count) }
    }
}

/// One writer's record of its own writes; merged when the snapshot ends.
struct WriteStallRecorder {
    var stalls = StallDistribution.emptyHistogram()
    var unstalled = 0

    mutating func record(nanoseconds: UInt64, stalled: Bool) {
        if stalled {
            _ = stalls.record(min(nanoseconds, StallDistribution.highestTrackable))
        } else {
            unstalled += 1
        }
    }

    mutating func merge(_ other: WriteStallRecorder) {
        stalls.add(other.stalls)
        unstalled += other.unstalled
    }
}
