import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

/// The migration thread's scan for the next page to save, across word boundaries.
@Suite struct PageSetSearch {
    @Test func firstFindsTheNextMemberAcrossWords() {
        var set = PageSet(capacity: 300)
        set.insert(3 ..< 4)
        set.insert(130 ..< 131)
        set.insert(299 ..< 300)
        #expect(set.first(atOrAfter: 0) == 3)
        #expect(set.first(atOrAfter: 3) == 3)
        #expect(set.first(atOrAfter: 4) == 130)
        #expect(set.first(atOrAfter: 131) == 299)
        #expect(set.first(atOrAfter: 300) == nil)
        set.remove(0 ..< 300)
        #expect(set.first(atOrAfter: 0) == nil)
    }
}
