/// What the guest wrote before the snapshot: a seeded choice of resident pages among the plugged
/// ones, each filled with a word derived from the seed and its index, so a copy can be checked
/// later without having read guest memory up front.
public struct GuestPattern: Sendable {
    public let seed: UInt64
    public let residentFraction: Double
    /// Exactly these pages (indices, sorted runs) instead of a seeded choice: where a real guest wrote.
    public let residentPages: [Range<Int>]?

    public init(seed: UInt64, residentFraction: Double, residentPages: [Range<Int>]? = nil) {
        self.seed = seed
        self.residentFraction = residentFraction
        self.residentPages = residentPages
    }

    public func isResident(page: Int) -> Bool {
        if let residentPages {
            var low = 0, high = residentPages.count
            while low < high {
                let middle = (low + high) / 2
                if residentPages[middle].upperBound <= page { low = middle + 1 } else { high = middle }
            }
            return low < residentPages.count && residentPages[low].contains(page)
        }
        if residentFraction >= 1 { return true }
        if residentFraction <= 0 { return false }
        let draw = SeededRandom.mix(seed ^ (UInt64(page) &* 0xD6E8_FEB8_6659_FD93))
        return Double(draw >> 11) / Double(1 << 53) < residentFraction
    }

    /// The word a resident page is filled with; never zero, so it differs from an untouched page.
    public func word(page: Int) -> UInt64 {
        SeededRandom.mix(seed &+ 0x5851_F42D_4C95_7F2D &* UInt64(page + 1)) | 1
    }

    /// The word every 8 bytes of the page hold at plug time: the pattern, or zero.
    public func initialWord(page: Int, plugged: Bool) -> UInt64 {
        plugged && isResident(page: page) ? word(page: page) : 0
    }

    /// Writes every resident page of the plugged runs and tells `model` about each.
    public func plug(_ region: Region, map: DiscardMap, model: inout CostModel) {
        let wordsPerPage = region.pageSize / 8
        map.replayPopulated { run in
            for page in run.lowerBound / region.pageSize ..< run.upperBound / region.pageSize
            where isResident(page: page) {
                let offset = page * region.pageSize
                (region.mapping.base + offset).initializeMemory(as: UInt64.self, repeating: word(page: page),
                                                                count: wordsPerPage)
                _ = model.guestWrite(offset: offset)
            }
        }
    }
}
