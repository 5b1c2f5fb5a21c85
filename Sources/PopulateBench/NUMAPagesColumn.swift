import LinuxMM

extension NUMA.Placement {
    /// The CSV form: `node:pages` per node, then `zero:` and `none:` counts.
    public var columnText: String {
        var parts = pagesPerNode.keys.sorted().map { "\($0):\(pagesPerNode[$0]!)" }
        parts.append("zero:\(zeroPages)")
        parts.append("none:\(absentPages)")
        if otherErrors > 0 { parts.append("error:\(otherErrors)") }
        return parts.joined(separator: ";")
    }
}
