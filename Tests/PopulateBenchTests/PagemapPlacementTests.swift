import Foundation
import LinuxMM
import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

@Suite struct MemoryBlockTable {
    /// A sysfs tree of three blocks: 0 on node 0, 2 on node 1, 1 linked by both (a block across
    /// a node boundary), 3 on no node.
    @Test func readsBlocksAndTheirNodes() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sysfs-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        for path in ["memory", "node/node0/memory0", "node/node0/memory1", "node/node1/memory1",
                     "node/node1/memory2", "node/node1/memory_failure", "node/node1/cpu1", "node/possible"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(path)", withIntermediateDirectories: true)
        }
        try "8000000\n".write(toFile: "\(root)/memory/block_size_bytes", atomically: true, encoding: .utf8)
        let blocks = try #require(MemoryBlocks.current(sysfs: root))
        #expect(blocks.blockBytes == 128 << 20)
        #expect(blocks.nodes == [0, nil, 1])
        let framesPerBlock = UInt64((128 << 20) / 4096)
        #expect(blocks.node(ofFrame: 5, pageSize: 4096) == 0)
        #expect(blocks.node(ofFrame: framesPerBlock + 5, pageSize: 4096) == nil)
        #expect(blocks.node(ofFrame: 2 * framesPerBlock, pageSize: 4096) == 1)
        #expect(blocks.node(ofFrame: 3 * framesPerBlock, pageSize: 4096) == nil)
    }

    @Test func noTableWithoutTheDirectories() {
        #expect(MemoryBlocks.current(sysfs: "/nonexistent") == nil)
    }

    @Test func placementArithmetic() {
        var a = NUMA.Placement()
        a.pagesPerNode = [0: 10, 1: 4]
        a.zeroPages = 3
        a.absentPages = 7
        var b = NUMA.Placement()
        b.pagesPerNode = [1: 4]
        b.absentPages = 2
        let difference = a - b
        #expect(difference.pagesPerNode == [0: 10])
        #expect(difference.absentPages == 5 && difference.zeroPages == 3)
        #expect(difference + b == a)
    }
}

/// Frame numbers and the memory-block table need root (CAP_SYS_ADMIN); without them every page
/// goes to `move_pages`, which these tests would compare with itself.

extension KernelTests {
    /// The pagemap reader against `move_pages`, page for page, in the cases a trial meets.
    @Suite(needs(.numa),
           needs(.frameNumbers))
    struct PagemapPlacementAgreement {
        /// Every path: with `PAGEMAP_SCAN` (on a one-node host, with and without reading frames), and
        /// reading every entry as before Linux 6.7.
        func readers() throws -> [(String, PagemapPlacement)] {
            let reader = try PagemapPlacement.open()
            // Without the one-node shortcut, so that frames are read and mapped to nodes here too.
            let blocks = reader.blocks.map { MemoryBlocks(blockBytes: $0.blockBytes, nodes: $0.nodes) }
            let fallback = PagemapPlacement(pagemap: reader.pagemap, blocks: blocks,
                                            zeroFrames: reader.zeroFrames, scans: false)
            let framesRead = PagemapPlacement(pagemap: reader.pagemap, blocks: blocks, zeroFrames: reader.zeroFrames,
                                              scans: reader.scans)
            return reader.scans ? [("scan", reader), ("scan, frames read", framesRead), ("entries", fallback)]
                : [("entries", fallback)]
        }

        func expectAgreement(_ region: Region, _ comment: Comment) throws {
            let truth = try NUMA.placement(of: region.mapping, pageSize: region.pageSize)
            let all = try readers()
            defer { try? all.first?.1.close() }
            for (name, reader) in all {
                let measured = try reader.placement(of: region.mapping, pageSize: region.pageSize)
                #expect(measured == truth, "\(comment), \(name): pagemap \(measured.columnText), move_pages \(truth.columnText)")
                #expect(measured.otherErrors == 0)
            }
        }

        @Test func learnsTheZeropage() throws {
            let reader = try PagemapPlacement.open()
            defer { try? reader.close() }
            #expect(reader.zeroFrames.small != nil && reader.zeroFrames.small != 0)
        }

        @Test func anonymousZeroDataAndAbsentPages() throws {
            let region = try Region.allocate(.init(backend: .anonPrivate, size: 16 << 20, pageSize: 4096, thp: .nohuge))
            defer { try? region.teardown() }
            Population.touch(region.slice(0 ..< 8 << 20), stride: 4096)
            // Every third page written: data pages among zeropages, a run per page.
            for offset in stride(from: 0, to: 12 << 20, by: 3 * 4096) {
                region.mapping.base.storeBytes(of: 0xA5, toByteOffset: offset, as: UInt8.self)
            }
            try expectAgreement(region, "anon-private")
            let placement = try NUMA.placement(of: region.mapping, pageSize: 4096)
            #expect(placement.zeroPages > 0 && placement.absentPages > 0 && !placement.pagesPerNode.isEmpty,
                    "the case has all three kinds: \(placement.columnText)")
        }

        /// More runs than one `PAGEMAP_SCAN` call holds (4096): the next call starts where the
        /// kernel stopped, which may be inside a run already reported; no page may count twice.
        @Test func moreRunsThanOneScanHolds() throws {
            let region = try Region.allocate(.init(backend: .anonPrivate, size: 64 << 20, pageSize: 4096, thp: .nohuge))
            defer { try? region.teardown() }
            Population.touch(region.slice(0 ..< 48 << 20), stride: 4096)
            for offset in stride(from: 0, to: 40 << 20, by: 2 * 4096) {
                region.mapping.base.storeBytes(of: 0xA5, toByteOffset: offset, as: UInt8.self)
            }
            try expectAgreement(region, "anon-private, 10240 runs")
            let placement = try NUMA.placement(of: region.mapping, pageSize: 4096)
            #expect(placement.absentPages == 4096 && placement.zeroPages == 7168,
                    "16 MiB never touched, 28 MiB of zeropages: \(placement.columnText)")
        }

        /// A trial's own pattern (the guest's writes in random plugged blocks, the rest discarded,
        /// then every page read): here the kernel set `walk_end` 60 KiB short of the region's end
        /// after reporting all of it, and the placement counted 15 pages twice (`none:-15`).
        @Test func aTrialsPatternCountsEveryPageOnce() throws {
            let trial = config(.anonPrivate, 32 << 20, .fullTouch, resident: 0.5)
            let region = try Region.allocate(.init(backend: trial.backend, size: trial.regionBytes,
                                                   pageSize: trial.pageBytes, thp: trial.thp))
            defer { try? region.teardown() }
            var model = CostModel(backing: host.backing(for: trial), regionSize: trial.regionBytes)
            trial.guestPattern.plug(region, map: trial.discardMap, model: &model)
            try trial.discardMap.replayDiscarded { try region.discard($0) }
            try expectAgreement(region, "plugged and discarded")
            Population.touch(region.slice(0 ..< region.size), stride: 4096)
            try expectAgreement(region, "plugged, discarded, every page read")
            let reader = try PagemapPlacement.open()
            defer { try? reader.close() }
            if reader.scans {
                let runs = try reader.pagemap.categoryRuns(in: [region.mapping], reporting: [.present, .pfnZero])
                #expect(runs.reduce(0) { $0 + $1.addresses.count } == region.size)
                #expect(zip(runs, runs.dropFirst()).allSatisfy { $0.addresses.upperBound <= $1.addresses.lowerBound })
            }
        }

        @Test func shmemAgreesWithNumaMaps() throws {
            let region = try Region.allocate(.init(backend: .memfdShmem, size: 64 << 20, pageSize: 4096, thp: .nohuge))
            defer { try? region.teardown() }
            Population.touch(region.slice(0 ..< 48 << 20), stride: 4096)
            try expectAgreement(region, "memfd-shmem")
            let reader = try PagemapPlacement.open()
            defer { try? reader.close() }
            let placement = try reader.placement(of: region.mapping, pageSize: 4096)
            #expect(placement.totalPages == 16384)
            #expect(placement.absentPages == 4096)
            let counts = try #require(NUMA.numaMapsCounts(text: try ProcFile.read("/proc/self/numa_maps"),
                                                          address: region.mapping.address))
            for (node, pages) in placement.pagesPerNode {
                #expect(within(pages, counts[node] ?? 0, 0.01), "node \(node): pagemap \(pages), numa_maps \(counts)")
            }
        }

        /// A read of THP-advised private memory maps the huge zeropage, which `move_pages` counts
        /// as zero like the small one.
        @Test(needs(.hugeZeropage))
        func hugeZeropage() throws {
            let region = try Region.allocate(.init(backend: .anonPrivate, size: 8 << 20, pageSize: 4096, thp: .huge))
            defer { try? region.teardown() }
            Population.touch(region.slice(0 ..< 4 << 20), stride: 4096)
            try expectAgreement(region, "anon-private THP")
            #expect(try NUMA.placement(of: region.mapping, pageSize: 4096).zeroPages == 1024)
        }

        @Test(needs(.hugePages(4)))
        func hugetlbPages() throws {
            let region = try Region.allocate(.init(backend: .memfdHugetlb, size: 8 << 20, pageSize: 2 << 20, thp: .inherit))
            defer { try? region.teardown() }
            Population.touch(region.slice(0 ..< 4 << 20), stride: 2 << 20)
            try expectAgreement(region, "memfd-hugetlb")
            #expect(try NUMA.placement(of: region.mapping, pageSize: 2 << 20).absentPages == 2)
        }

        /// A ledger told the ranges a phase changes keeps the same counts as a fresh read of the
        /// whole region, including across a protection it is told changes nothing.
        @Test func ledgerFollowsOnlyTheChangedRanges() throws {
            let region = try Region.allocate(.init(backend: .anonPrivate, size: 32 << 20, pageSize: 4096, thp: .nohuge))
            defer { try? region.teardown() }
            region.mapping.base.storeBytes(of: 1, toByteOffset: 20 << 20, as: UInt8.self)
            let ledger = try PlacementLedger(region: region, readsWholeRegion: false)
            let written = 4 << 20 ..< 8 << 20
            try ledger.begin(changing: [0 ..< 2 << 20, written])
            Population.touch(region.slice(0 ..< 2 << 20), stride: 4096)
            region.slice(written).base.initializeMemory(as: UInt8.self, repeating: 7, count: written.count)
            let afterWrites = try ledger.end()
            #expect(afterWrites == (try NUMA.placement(of: region.mapping, pageSize: 4096)), "\(afterWrites.columnText)")
            #expect(afterWrites.zeroPages == 512 && afterWrites.absentPages == 8192 - 512 - 1024 - 1)

            let uffd = try Userfaultfd.open(features: [])
            defer { try? uffd.close() }
            try ledger.begin(changing: PlacementLedger.rangesChanged(byProtecting: [0 ..< region.size], backend: .anonPrivate))
            try uffd.register(region.mapping, mode: .writeProtect)
            try uffd.writeProtect(region.mapping, true)
            let afterProtect = try ledger.end()
            #expect(afterProtect == (try NUMA.placement(of: region.mapping, pageSize: 4096)), "\(afterProtect.columnText)")
        }
    }
}
