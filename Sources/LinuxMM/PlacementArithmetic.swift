extension NUMA.Placement {
    /// The counts of two disjoint sets of pages together.
    public static func + (lhs: NUMA.Placement, rhs: NUMA.Placement) -> NUMA.Placement {
        var sum = lhs
        sum.pagesPerNode.merge(rhs.pagesPerNode, uniquingKeysWith: +)
        sum.zeroPages += rhs.zeroPages
        sum.absentPages += rhs.absentPages
        sum.otherErrors += rhs.otherErrors
        return sum
    }

    /// The counts of `lhs` without the pages of `rhs`, a subset of them; a node left with no
    /// page is dropped, as a query of the rest would not name it.
    public static func - (lhs: NUMA.Placement, rhs: NUMA.Placement) -> NUMA.Placement {
        var difference = lhs
        difference.pagesPerNode.merge(rhs.pagesPerNode.mapValues { -$0 }, uniquingKeysWith: +)
        difference.pagesPerNode = difference.pagesPerNode.filter { $0.value != 0 }
        difference.zeroPages -= rhs.zeroPages
        difference.absentPages -= rhs.absentPages
        difference.otherErrors -= rhs.otherErrors
        return difference
    }
}
