import Foundation
import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

@Suite struct ExplicitLayout {
    @Test func rangesAreSortedMergedAndCanonical() throws {
        let ranges = try PluggedRanges(parsing: "256MiB-384MiB, 0-64MiB,64MiB-128MiB")
        #expect(ranges.ranges == [0 ..< 128 << 20, 256 << 20 ..< 384 << 20])
        #expect(ranges.layoutText == "ranges:0-128MiB,256MiB-384MiB")
        #expect(try PluggedRanges(parsing: String(ranges.layoutText.dropFirst(7))) == ranges)
    }

    @Test(arguments: ["", "0-", "5MiB-1MiB", "0-2MiB,1MiB-3MiB", "a-b", "0-1GiB-2GiB"])
    func rejects(text: String) {
        #expect(throws: PluggedRanges.ParseError.self) { try PluggedRanges(parsing: text) }
    }

    @Test func aFileHasARangePerLineAndComments() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ranges-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "# plugged by the guest\n0-2MiB\n\n6MiB-8MiB # the last block\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try PluggedRanges(file: path).ranges == [0 ..< 2 << 20, 6 << 20 ..< 8 << 20])
    }

    @Test func theMapPlugsExactlyTheRanges() throws {
        let ranges = try PluggedRanges(parsing: "2MiB-6MiB,10MiB-12MiB")
        let map = DiscardMap(regionSize: 16 << 20, blockSize: 2 << 20, pluggedRanges: ranges)
        #expect(map.plugged == [false, true, true, false, false, true, false, false])
        #expect(map.pluggedRuns == ranges.ranges)
        #expect(ranges.problem(regionSize: 16 << 20, blockSize: 4 << 20) != nil, "2MiB-6MiB is not whole 4 MiB blocks")
        #expect(ranges.problem(regionSize: 8 << 20, blockSize: 2 << 20) != nil, "10MiB-12MiB is past 8 MiB")
    }

    @Test func thePlanRunsTheRangesAsTheirOwnFraction() throws {
        let plan = RunPlan(backends: [.memfdShmem], strategies: [.qemu72], sizes: [64 << 20], pluggedFractions: [0.25, 0.5],
                           layouts: [.named(.prefix), .ranges(try PluggedRanges(parsing: "0-16MiB"))])
        let configs = plan.configs(host: host)
        #expect(configs.map { $0.pluggedFraction } == [0.25, 0.5, 0.25])
        #expect(configs.last?.layoutText == "ranges:0-16MiB")
        #expect(configs.last?.discardMap.pluggedRuns == [0 ..< 16 << 20])
    }
}
