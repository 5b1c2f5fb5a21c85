/// A set of page indices as a bitmap: 2 MiB of bits cover 64 GiB of 4 KiB pages.
public struct PageSet: Equatable, Sendable {
    private var words: [UInt64]
    public let capacity: Int
    public private(set) var count = 0

    public init(capacity: Int) {
        self.capacity = capacity
        words = [UInt64](repeating: 0, count: (capacity + 63) / 64)
    }

    public func contains(_ index: Int) -> Bool {
        words[index >> 6] & (1 << UInt64(index & 63)) != 0
    }

    /// Adds the indices in `range`; returns how many were not there before.
    @discardableResult
    public mutating func insert(_ range: Range<Int>) -> Int {
        let before = count
        Self.forEachWord(in: range, capacity: capacity) { word, mask in
            count += (mask & ~words[word]).nonzeroBitCount
            words[word] |= mask
        }
        return count - before
    }

    /// Removes the indices in `range`; returns how many were there.
    @discardableResult
    public mutating func remove(_ range: Range<Int>) -> Int {
        let before = count
        Self.forEachWord(in: range, capacity: capacity) { word, mask in
            count -= (mask & words[word]).nonzeroBitCount
            words[word] &= ~mask
        }
        return before - count
    }

    /// How many indices in `range` are in the set.
    public func count(in range: Range<Int>) -> Int {
        var total = 0
        Self.forEachWord(in: range, capacity: capacity) { word, mask in total += (mask & words[word]).nonzeroBitCount }
        return total
    }

    /// The smallest index in the set at or after `start`, a word at a time (as QEMU's
    /// `find_next_bit` walks its dirty bitmap), or nil when there is none.
    public func first(atOrAfter start: Int) -> Int? {
        guard start < capacity else { return nil }
        var word = max(0, start) >> 6
        var bits = words[word] & (~0 << UInt64(max(0, start) & 63))
        while true {
            if bits != 0 { return word << 6 | bits.trailingZeroBitCount }
            word += 1
            guard word < words.count else { return nil }
            bits = words[word]
        }
    }

    /// Calls `body` with each word index and the mask of `range`'s bits in it.
    private static func forEachWord(in range: Range<Int>, capacity: Int, _ body: (Int, UInt64) -> Void) {
        let clamped = range.clamped(to: 0 ..< capacity)
        guard !clamped.isEmpty else { return }
        var index = clamped.lowerBound
        while index < clamped.upperBound {
            let word = index >> 6
            let first = index & 63
            let last = min(64, first + (clamped.upperBound - index))
            let mask: UInt64 = last - first == 64 ? ~0 : ((1 << UInt64(last - first)) - 1) << UInt64(first)
            body(word, mask)
            index += last - first
        }
    }
}
