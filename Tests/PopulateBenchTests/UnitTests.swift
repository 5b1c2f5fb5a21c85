import Foundation
import LinuxMM
import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

@Suite struct ByteSizeParsing {
    @Test(arguments: [("4096", 4096), ("64KiB", 64 << 10), ("256MiB", 256 << 20), ("1GiB", 1 << 30),
                      ("2M", 2 << 20), ("1g", 1 << 30), ("512k", 512 << 10), ("0", 0)])
    func accepts(text: String, bytes: Int) throws {
        #expect(try ByteSize.parse(text) == bytes)
    }

    @Test(arguments: ["", "MiB", "1.5GiB", "-4KiB", "12 apples", "99999999999999999999GiB"])
    func rejects(text: String) {
        #expect(throws: ByteSize.ParseError.self) { try ByteSize.parse(text) }
    }

    /// `3GB` is 3×10^9 bytes to some and 3 GiB to others: refused, with the binary spelling offered.
    @Test(arguments: ["3GB", "100MB", "4kb", "1TB"])
    func refusesDecimalUnits(text: String) {
        #expect(throws: ByteSize.ParseError.self) { try ByteSize.parse(text) }
        do {
            _ = try ByteSize.parse(text)
        } catch {
            let binary = text.dropLast(2) + ["k": "KiB", "m": "MiB", "g": "GiB", "t": "TiB"][text.dropLast().last!.lowercased()]!
            #expect(error.isDecimalUnit && error.description.contains("write \(binary) "), "\(error)")
        }
    }

    @Test func formats() {
        #expect(ByteSize.format(256 << 20) == "256MiB")
        #expect(ByteSize.format(1 << 30) == "1GiB")
        #expect(ByteSize.format(2056 << 10) == "2.01MiB")
        #expect(ByteSize.format(-(384 << 10)) == "-384KiB")
        #expect(ByteSize.format(100) == "100B")
    }
}

@Suite struct DiscardMapLayouts {
    @Test(arguments: DiscardMap.Layout.allCases)
    func plugsTheRoundedFraction(layout: DiscardMap.Layout) {
        let map = DiscardMap(regionSize: 1 << 30, blockSize: 2 << 20, pluggedFraction: 0.25, layout: layout, seed: 7)
        #expect(map.blockCount == 512)
        #expect(map.pluggedBlockCount == 128)
        let plugged = map.pluggedRuns.reduce(0) { $0 + $1.count }
        let discarded = map.discardedRuns.reduce(0) { $0 + $1.count }
        #expect(plugged == 256 << 20)
        #expect(plugged + discarded == 1 << 30)
    }

    @Test func runsAreMaximalAndAlternate() {
        let map = DiscardMap(blockSize: 1 << 20, plugged: [true, true, false, true, false, false, true])
        #expect(map.pluggedRuns == [0 ..< 2 << 20, 3 << 20 ..< 4 << 20, 6 << 20 ..< 7 << 20])
        #expect(map.discardedRuns == [2 << 20 ..< 3 << 20, 4 << 20 ..< 6 << 20])
        var replayed: [Range<Int>] = []
        map.replayPopulated { replayed.append($0) }
        #expect(replayed == map.pluggedRuns)
    }

    @Test func prefixIsOneRun() {
        let map = DiscardMap(regionSize: 64 << 20, blockSize: 2 << 20, pluggedFraction: 0.5, layout: .prefix, seed: 1)
        #expect(map.pluggedRuns == [0 ..< 32 << 20])
    }

    @Test func stripedSpreadsEvenly() {
        let map = DiscardMap(regionSize: 16 << 20, blockSize: 2 << 20, pluggedFraction: 0.25, layout: .striped, seed: 1)
        #expect(map.pluggedRuns.count == 2)
        #expect(map.pluggedRuns.allSatisfy { $0.count == 2 << 20 })
    }

    @Test func randomDependsOnlyOnTheSeed() {
        let first = DiscardMap(regionSize: 1 << 30, blockSize: 2 << 20, pluggedFraction: 0.3, layout: .random, seed: 42)
        let again = DiscardMap(regionSize: 1 << 30, blockSize: 2 << 20, pluggedFraction: 0.3, layout: .random, seed: 42)
        let other = DiscardMap(regionSize: 1 << 30, blockSize: 2 << 20, pluggedFraction: 0.3, layout: .random, seed: 43)
        #expect(first == again)
        #expect(first != other)
    }
}

@Suite struct StrategyRanges {
    let map = DiscardMap(blockSize: 2 << 20, plugged: [true, false, true, true, false, false, true, false])

    @Test func qemu62ReadsOnlyBelowTheRunsOwnSize() {
        // Runs: [0,2M) [4M,8M) [12M,14M). With `offset < size`: [0,2M) whole; 4M < 4M is false; 12M < 2M false.
        #expect(Strategy.qemu62.populateRanges(regionSize: 16 << 20, map: map) == [0 ..< 2 << 20])
        #expect(Strategy.qemu72.populateRanges(regionSize: 16 << 20, map: map) == map.pluggedRuns)
    }

    @Test func scopes() {
        #expect(Strategy.fullTouch.populateRanges(regionSize: 16 << 20, map: map) == [0 ..< 16 << 20])
        #expect(Strategy.none.populateRanges(regionSize: 16 << 20, map: map).isEmpty)
        #expect(Strategy.qemu72.protectRanges(regionSize: 16 << 20, map: map) == [0 ..< 16 << 20])
        #expect(Strategy.qemu80.protectRanges(regionSize: 16 << 20, map: map) == map.pluggedRuns)
        #expect(Strategy.wpUnpopulated.requiredFeatures == .wpUnpopulated)
        #expect(Strategy.fullMadvise.populateMethod == .madvise)
    }
}

@Suite struct PageSets {
    @Test func insertCountsOnlyNewMembers() {
        var set = PageSet(capacity: 1000)
        #expect(set.insert(10 ..< 200) == 190)
        #expect(set.insert(100 ..< 300) == 100)
        #expect(set.count == 290)
        #expect(set.count(in: 0 ..< 64) == 54)
        #expect(set.remove(0 ..< 150) == 140)
        #expect(set.count == 150)
        #expect(!set.contains(149) && set.contains(150))
    }
}

@Suite struct CostModelArithmetic {
    /// First principles, written out: 4 KiB tables of 512 entries, so 2 MiB per PTE table.
    let table = 4096

    @Test func fullReadOfAnonymousGiB() {
        var model = CostModel(backing: .init(backend: .anonPrivate, pageSize: 4096), regionSize: 1 << 30)
        let cost = model.read(0 ..< 1 << 30)
        #expect(cost.pageTableBytes == 512 * table + table + table)
        #expect(cost.dataBytes == 0)
    }

    @Test func shmemReadsAllocateAndProtectionMarksTheRest() {
        var model = CostModel(backing: .init(backend: .memfdShmem, pageSize: 4096), regionSize: 256 << 20)
        let read = model.read(0 ..< 64 << 20)
        #expect(read.dataBytes == 64 << 20)
        #expect(read.pageTableBytes == 32 * table + 2 * table)
        let protect = model.protect(0 ..< 256 << 20, marksEmptyEntries: true)
        #expect(protect.pageTableBytes == 96 * table)
    }

    /// Under shmem THP protection unmaps a huge PMD (its pages stay in the file) and a later read
    /// maps back only what it reads, once; pages a discard freed were never mapped and do not
    /// come back as data.
    @Test func shmemTHPUnmappedByProtectionComesBackWhenRead() {
        var model = CostModel(backing: .init(backend: .memfdShmem, pageSize: 4096, transparentHuge: true),
                              regionSize: 8 << 20)
        #expect(model.guestWrite(offset: 0).dataBytes == 2 << 20)
        #expect(model.guestWrite(offset: 2 << 20).dataBytes == 2 << 20)
        model.discard(3 << 20 ..< 4 << 20)
        #expect(model.protect(0 ..< 8 << 20, marksEmptyEntries: true).dataBytes == -(3 << 20))
        #expect(model.read(0 ..< 1 << 20).dataBytes == 1 << 20)
        #expect(model.read(0 ..< 2 << 20).dataBytes == 1 << 20)
        #expect(model.read(0 ..< 2 << 20).dataBytes == 0)
    }

    @Test func hugetlbNeedsNoLastLevelTables() {
        var model = CostModel(backing: .init(backend: .memfdHugetlb, pageSize: 2 << 20), regionSize: 128 << 20)
        let cost = model.read(0 ..< 128 << 20)
        #expect(cost.dataBytes == 128 << 20)
        #expect(cost.pageTableBytes == 2 * table)
    }

    @Test func guestWritesAreNotCountedAgain() {
        var model = CostModel(backing: .init(backend: .memfdShmem, pageSize: 4096), regionSize: 4 << 20)
        _ = model.guestWrite(offset: 8192)
        let cost = model.read(0 ..< 4 << 20)
        #expect(cost.dataBytes == (4 << 20) - 4096)
        model.discard(0 ..< 2 << 20)
        #expect(model.presentBytes == 2 << 20)
    }
}

@Suite struct CSVFormat {
    @Test func quotesOnlyWhatNeedsIt() {
        #expect(CSV.line(["a", "b,c", "say \"hi\""]) == "a,\"b,c\",\"say \"\"hi\"\"\"\n")
    }

    @Test func parseInvertsLine() throws {
        let text = CSV.line(["x", "y"]) + CSV.line(["1,2", "z\"q"]) + CSV.line(["", "3"]) + CSV.line(["two\nlines", "4"])
        let parsed = try CSV.parse(text)
        #expect(parsed.header == ["x", "y"])
        #expect(parsed.rows == [["x": "1,2", "y": "z\"q"], ["x": "", "y": "3"], ["x": "two\nlines", "y": "4"]])
        #expect(parsed.lines == [2, 3, 4])
    }

    @Test func crlfAndAMissingFinalNewlineAreFine() throws {
        let parsed = try CSV.parse("x,y\r\n1,2\r\n3,4")
        #expect(parsed.rows == [["x": "1", "y": "2"], ["x": "3", "y": "4"]])
    }

    /// A row cut short (a full disk, a crash mid-write) is an error naming its line, never a row of blanks.
    @Test(arguments: [
        ("x,y,z\n1,2,3\n4,5\n", 3),
        ("x,y\n1,2\n3,4,5\n", 3),
        ("x,y\n\"a\nb\",1\n\"open,2\n", 4),
        ("x,y\n1,2\n\"a\"b,3\n", 3),
        ("x,y\n1,2\na\"b,3\n", 3),
    ])
    func malformedRecordNamesItsLine(text: String, line: Int) {
        #expect(throws: CSV.MalformedRecord.self) { try CSV.parse(text) }
        do { _ = try CSV.parse(text) } catch { #expect(error.line == line, "\(error)") }
    }
}

@Suite struct Statistic {
    @Test func medianAndInterquartileRange() throws {
        let stats = try #require(Statistics([5, 1, 3, 2, 4]))
        #expect(stats.median == 3)
        #expect(stats.min == 1 && stats.max == 5)
        #expect(stats.iqr == 2)
        #expect(Statistics([]) == nil)
        #expect(Statistics([1, 2])?.median == 1.5)
    }
}

@Suite struct PlanValidation {
    let host = HostCapabilities.probe()

    func error(_ change: (inout RunPlan) -> Void) -> RunPlan.InputError? {
        var plan = RunPlan()
        change(&plan)
        do { try plan.validate(host: host) } catch { return error }
        return nil
    }

    @Test func defaultsAreValid() {
        #expect(error { _ in } == nil)
    }

    @Test func eachBadInputNamesItsInput() {
        #expect(error { $0.sizes = [0] }?.input == .size)
        #expect(error { $0.sizes = [(1 << 30) + 100] }?.input == .size)
        #expect(error { $0.sizes = [(1 << 30) + (1 << 20)] }?.input == .size)
        #expect(error { $0.pluggedFractions = [1.5] }?.input == .plugged)
        #expect(error { $0.residentFractions = [0.5, -0.1] }?.input == .resident)
        #expect(error { $0.blockSizes = [3 << 20] }?.input == .blockSize)
        #expect(error { $0.blockSizes = [4096] }?.input == .blockSize)
        #expect(error { $0.backends = [] }?.input == .backends)
        #expect(error { $0.strategies = [.fullTouch, .fullTouch] }?.input == .strategies)
        #expect(error { $0.repetitions = -1 }?.input == .repetitions)
        #expect(error { $0.hugetlbfsMounts = [2 << 20: "/nonexistent"] }?.input == .hugetlbfs)
        #expect(error { $0.hugePageSizes = [2 << 20, 4 << 20] }?.input == .hugePageSize)
        #expect(error { $0.hugePageSizes = [2 << 20, 2 << 20] }?.input == .hugePageSize)
    }

    @Test func matrixIsTheCrossProduct() {
        var plan = RunPlan(backends: [.anonPrivate, .memfdShmem], strategies: [.fullTouch, .discardTouch])
        plan.pluggedFractions = [0.25, 0.5]
        plan.layouts = [.named(.random), .named(.prefix)]
        #expect(plan.configs(host: host).count == 2 * 2 * 2 * 2)
    }

    /// Every list crosses, the resident fractions and huge page sizes included: `--hugepage-size
    /// 2MiB,1GiB` runs both on the hugetlb backends, and only the base page elsewhere.
    @Test func residentFractionsAndHugePageSizesCross() {
        var plan = RunPlan(backends: [.anonPrivate, .memfdHugetlb], strategies: [.fullTouch])
        plan.residentFractions = [0, 0.5, 1]
        plan.hugePageSizes = [2 << 20, 1 << 30]
        plan.sizes = [1 << 30]
        let configs = plan.configs(host: host)
        #expect(configs.count == 3 + 2 * 3)
        #expect(Set(configs.filter { $0.backend == .memfdHugetlb }.map(\.pageBytes)) == [2 << 20, 1 << 30])
        #expect(Set(configs.filter { $0.backend == .anonPrivate }.map(\.pageBytes)) == [host.basePageSize])
        #expect(Set(configs.map(\.residentFraction)) == [0, 0.5, 1])
    }
}

/// The request's JSON, which `bench run --format json` prints too, keeps the keys it had before
/// the layout and the resident share became one value each.
@Suite struct TrialConfigJSON {
    @Test func keepsItsKeysAndRoundTrips() throws {
        var config = TrialConfig(backend: .memfdShmem, regionBytes: 64 << 20, pageBytes: 4096, blockBytes: 2 << 20,
                                 layout: .ranges(try PluggedRanges(parsing: "0-16MiB")), thp: .huge,
                                 pluggedFraction: 0.25, residentFraction: 0.5, strategy: .qemu72, seed: 7)
        config.resident = .pages([0 ..< 3, 10 ..< 12], share: 0.5)
        let data = try JSONEncoder().encode(config)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["layout"] as? String == "ranges")
        #expect(object["residentFraction"] as? Double == 0.5)
        #expect(object["pluggedRanges"] != nil && object["residentPages"] != nil && object["resident"] == nil)
        #expect(try JSONDecoder().decode(TrialConfig.self, from: data) == config)

        let named = TrialConfig(backend: .anonPrivate, regionBytes: 64 << 20, pageBytes: 4096, blockBytes: 2 << 20,
                                layout: .named(.striped), thp: .inherit, pluggedFraction: 0.25, residentFraction: 0,
                                strategy: .none, seed: 7)
        let namedObject = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(named)) as? [String: Any])
        #expect(namedObject["layout"] as? String == "striped" && namedObject["pluggedRanges"] == nil)
        #expect(try JSONDecoder().decode(TrialConfig.self, from: JSONEncoder().encode(named)) == named)
    }
}

/// A node's own vmstat file, read from this host: it keeps page counts, not `pgfault`, which is the
/// system's alone (so `vmstat_nodes` never shows it).
@Suite(needs(.numa)) struct NodeVMStat {
    @Test func aNodeKeepsPageCountsButNotPageFaults() throws {
        let node = try #require(try VMStat.readNodes([0], ["nr_page_table_pages", "pgfault"])[0])
        #expect(node["nr_page_table_pages"] != nil && node["pgfault"] == nil, "\(node)")
        #expect(try VMStat.read(["pgfault"])["pgfault"] != nil)
    }
}
