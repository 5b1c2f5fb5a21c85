import LinuxMM

/// `TrialConfig` as JSON (the child's request, `bench run --format json`) keeps the keys it had
/// before the layout and the resident share became one value each: `layout` is the name (`ranges`
/// with `pluggedRanges` beside it), `residentFraction` the share, `residentPages` a real guest's pages.
extension TrialConfig {
    enum CodingKeys: String, CodingKey {
        case backend, regionBytes, pageBytes, blockBytes, layout, thp, pluggedFraction, residentFraction, strategy, seed
        case hugetlbfsPath, numaPolicy, populateNode, guestNode, snapshot, pluggedRanges, noReserve, residentPages
    }

    public init(from decoder: any Decoder) throws {
        let values = try decoder.container(keyedBy: CodingKeys.self)
        let name = try values.decode(String.self, forKey: .layout)
        let layout: TrialLayout
        if name == "ranges" {
            layout = .ranges(try values.decode(PluggedRanges.self, forKey: .pluggedRanges))
        } else if let named = DiscardMap.Layout(rawValue: name) {
            layout = .named(named)
        } else {
            throw DecodingError.dataCorruptedError(forKey: .layout, in: values, debugDescription: "no layout '\(name)'")
        }
        self.init(backend: try values.decode(Backend.self, forKey: .backend),
                  regionBytes: try values.decode(Int.self, forKey: .regionBytes),
                  pageBytes: try values.decode(Int.self, forKey: .pageBytes),
                  blockBytes: try values.decode(Int.self, forKey: .blockBytes), layout: layout,
                  thp: try values.decode(THPMode.self, forKey: .thp),
                  pluggedFraction: try values.decode(Double.self, forKey: .pluggedFraction),
                  residentFraction: try values.decode(Double.self, forKey: .residentFraction),
                  strategy: try values.decode(Strategy.self, forKey: .strategy),
                  seed: try values.decode(UInt64.self, forKey: .seed),
                  hugetlbfsPath: try values.decodeIfPresent(String.self, forKey: .hugetlbfsPath),
                  numaPolicy: try values.decode(NUMA.Policy.self, forKey: .numaPolicy),
                  populateNode: try values.decodeIfPresent(Int.self, forKey: .populateNode),
                  guestNode: try values.decodeIfPresent(Int.self, forKey: .guestNode),
                  snapshot: try values.decodeIfPresent(SnapshotOptions.self, forKey: .snapshot))
        noReserve = try values.decode(Bool.self, forKey: .noReserve)
        if let pages = try values.decodeIfPresent([Range<Int>].self, forKey: .residentPages) {
            resident = .pages(pages, share: resident.share)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var values = encoder.container(keyedBy: CodingKeys.self)
        try values.encode(backend, forKey: .backend)
        try values.encode(regionBytes, forKey: .regionBytes)
        try values.encode(pageBytes, forKey: .pageBytes)
        try values.encode(blockBytes, forKey: .blockBytes)
        try values.encode(layout.name, forKey: .layout)
        try values.encodeIfPresent(layout.pluggedRanges, forKey: .pluggedRanges)
        try values.encode(thp, forKey: .thp)
        try values.encode(pluggedFraction, forKey: .pluggedFraction)
        try values.encode(resident.share, forKey: .residentFraction)
        try values.encodeIfPresent(resident.pages, forKey: .residentPages)
        try values.encode(strategy, forKey: .strategy)
        try values.encode(seed, forKey: .seed)
        try values.encodeIfPresent(hugetlbfsPath, forKey: .hugetlbfsPath)
        try values.encode(numaPolicy, forKey: .numaPolicy)
        try values.encodeIfPresent(populateNode, forKey: .populateNode)
        try values.encodeIfPresent(guestNode, forKey: .guestNode)
        try values.encodeIfPresent(snapshot, forKey: .snapshot)
        try values.encode(noReserve, forKey: .noReserve)
    }
}
