import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

/// The random layout is part of every result: a baseline CSV compares only with runs that plugged
/// the same blocks. These literals were computed once (and agree with the standard library's
/// `shuffle` of Swift 6.3, which the layout used before); any change to the generator or the
/// shuffle breaks them.
@Suite struct RandomLayoutIsPinned {
    func pluggedBlocks(blocks: Int, fraction: Double, seed: UInt64) -> [Int] {
        let map = DiscardMap(regionSize: blocks * (2 << 20), blockSize: 2 << 20, pluggedFraction: fraction,
                             layout: .random, seed: seed)
        return map.plugged.indices.filter { map.plugged[$0] }
    }

    @Test func thirtyTwoBlocksSeed42() {
        #expect(pluggedBlocks(blocks: 32, fraction: 0.25, seed: 42) == [1, 5, 10, 11, 12, 23, 27, 28])
    }

    @Test func sixtyFourBlocksDefaultSeed() {
        #expect(pluggedBlocks(blocks: 64, fraction: 0.25, seed: RunPlan.defaultSeed)
            == [8, 19, 23, 25, 33, 35, 39, 41, 42, 43, 46, 47, 53, 54, 58, 60])
    }

    @Test func sixtyFourBlocksAnotherSeed() {
        #expect(pluggedBlocks(blocks: 64, fraction: 0.25, seed: 0x5EED)
            == [1, 2, 6, 11, 15, 19, 21, 22, 24, 26, 28, 29, 31, 45, 47, 55])
    }

    @Test func shuffleOrderIsPinned() {
        var generator = SeededRandom(seed: 42)
        var order = Array(0 ..< 32)
        generator.shuffle(&order)
        #expect(order.prefix(8) == [23, 5, 10, 12, 1, 28, 11, 27])
    }

    @Test func uniformStaysBelowItsBound() {
        var generator = SeededRandom(seed: 1)
        for bound in [1, 2, 3, 7, 1000, UInt64.max] as [UInt64] {
            for _ in 0 ..< 100 { #expect(generator.uniform(below: bound) < bound) }
        }
    }
}
