/// Which blocks are plugged: the model of QEMU's `RamDiscardManager` as virtio-mem implements it.
/// Replays hand maximal contiguous runs of plugged (or unplugged) blocks, as byte ranges of the
/// region, to a closure, like `ram_discard_manager_replay_populated`.
public struct DiscardMap: Equatable, Sendable {
    public enum Layout: String, CaseIterable, Codable, Sendable {
        /// The first blocks plugged, as after plugging into an empty device.
        case prefix
        /// Plugged blocks chosen at random (seeded), as after much plugging and unplugging.
        case random
        /// Plugged blocks spread evenly: the most runs for a fraction.
        case striped
    }

    public let blockSize: Int
    public private(set) var plugged: [Bool]

    public var blockCount: Int { plugged.count }
    public var pluggedBlockCount: Int { plugged.reduce(0) { $0 + ($1 ? 1 : 0) } }
    public var regionSize: Int { blockCount * blockSize }

    public init(blockSize: Int, plugged: [Bool]) {
        self.blockSize = blockSize
        self.plugged = plugged
    }

    /// `round(fraction × blocks)` blocks plugged in the given layout.
    public init(regionSize: Int, blockSize: Int, pluggedFraction: Double, layout: Layout, seed: UInt64) {
        precondition(blockSize > 0 && regionSize % blockSize == 0)
        let count = regionSize / blockSize
        let target = min(count, max(0, Int((pluggedFraction * Double(count)).rounded())))
        var plugged = [Bool](repeating: false, count: count)
        switch layout {
        case .prefix:
            for index in 0 ..< target { plugged[index] = true }
        case .random:
            var generator = SeededRandom(seed: seed)
            var order = Array(0 ..< count)
            generator.shuffle(&order)
            for index in order.prefix(target) { plugged[index] = true }
        case .striped:
            for index in 0 ..< count where (index + 1) * target / count > index * target / count {
                plugged[index] = true
            }
        }
        self.init(blockSize: blockSize, plugged: plugged)
    }

    /// The maximal runs of plugged blocks, as byte ranges, in address order.
    public var pluggedRuns: [Range<Int>] { runs(where: true) }
    /// The maximal runs of unplugged blocks, as byte ranges, in address order.
    public var discardedRuns: [Range<Int>] { runs(where: false) }

    public func replayPopulated(_ body: (Range<Int>) throws -> Void) rethrows {
        for run in pluggedRuns { try body(run) }
    }

    public func replayDiscarded(_ body: (Range<Int>) throws -> Void) rethrows {
        for run in discardedRuns { try body(run) }
    }

    private func runs(where state: Bool) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var start: Int?
        for index in 0 ... blockCount {
            let matches = index < blockCount && plugged[index] == state
            if matches, start == nil { start = index }
            if !matches, let first = start {
                result.append(first * blockSize ..< index * blockSize)
                start = nil
            }
        }
        return result
    }
}
