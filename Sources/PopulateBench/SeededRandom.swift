/// SplitMix64: a small, fast generator whose sequence depends only on its seed, so layouts and
/// guest contents repeat exactly across runs and machines.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// The SplitMix64 finalizer: a well-spread hash of one word.
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform number in `0 ..< bound`, by Lemire's multiply-and-reject: the high word of
    /// `next() × bound`, drawing again while the low word falls in the biased sliver. Written out
    /// here, not taken from the standard library, whose algorithm is not promised across releases.
    public mutating func uniform(below bound: UInt64) -> UInt64 {
        precondition(bound > 0, "uniform(below: 0)")
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = next().multipliedFullWidth(by: bound) }
        }
        return product.high
    }

    /// Fisher–Yates from the front: position i swaps with one of i ..< count chosen uniformly.
    /// The order depends only on the seed and the count, whatever Swift's own `shuffle` does.
    public mutating func shuffle<Element>(_ elements: inout [Element]) {
        guard elements.count > 1 else { return }
        for index in 0 ..< elements.count - 1 {
            let remaining = UInt64(elements.count - index)
            elements.swapAt(index, index + Int(uniform(below: remaining)))
        }
    }
}
