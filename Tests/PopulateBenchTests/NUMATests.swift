import LinuxMM
import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

@Suite struct NUMAPolicyParsing {
    @Test func formsResolveAgainstTheHostsNodes() throws {
        #expect(try NUMAPolicyText.parse("local", nodes: [0, 1]) == .local)
        #expect(try NUMAPolicyText.parse("bind:1", nodes: [0, 1]) == .bind([1]))
        #expect(try NUMAPolicyText.parse("interleave:all", nodes: [0, 1]) == .interleave([0, 1]))
        #expect(try NUMAPolicyText.parse("interleave:1,0", nodes: [0, 1]) == .interleave([1, 0]))
        #expect(try NUMAPolicyText.parse("preferred:0", nodes: [0, 1]) == .preferred(0))
        #expect(NUMAPolicyText.format(.interleave([0, 1])) == "interleave:0,1")
    }

    @Test(arguments: ["bind:2", "bind:", "bind:0,0", "interleave:x", "preferred:0,1", "nearest", "local:0"])
    func rejects(text: String) {
        #expect(throws: NUMAPolicyText.ParseError.self) { try NUMAPolicyText.parse(text, nodes: [0, 1]) }
    }

    @Test func nothingButLocalWithoutNUMA() {
        #expect(throws: NUMAPolicyText.ParseError.self) { try NUMAPolicyText.parse("bind:0", nodes: []) }
    }

    @Test func numaMapsLine() {
        let text = """
            7f0000000000 default file=/memfd:x\\040(deleted) dirty=16384 N0=16384 kernelpagesize_kB=4
            7f1000000000 bind:1 anon=10 dirty=10 N0=4 N1=6 kernelpagesize_kB=4
            """
        #expect(NUMA.numaMapsCounts(text: text, address: 0x7f10_0000_0000) == [0: 4, 1: 6])
        #expect(NUMA.numaMapsCounts(text: text, address: 0x1234) == nil)
    }
}

extension KernelTests {
    @Suite(needs(.numa))
    struct Placement {
        @Test func movePagesAgreesWithNumaMaps() throws {
            let region = try Region.allocate(.init(backend: .memfdShmem, size: 64 << 20, pageSize: 4096, thp: .nohuge))
            defer { try? region.teardown() }
            Population.touch(region.slice(0 ..< 48 << 20), stride: 4096)
            let placement = try NUMA.placement(of: region.mapping, pageSize: 4096)
            #expect(placement.totalPages == 16384)
            #expect(placement.absentPages == 4096)
            let counts = try #require(NUMA.numaMapsCounts(text: try ProcFile.read("/proc/self/numa_maps"),
                                                          address: region.mapping.address))
            for (node, pages) in placement.pagesPerNode {
                #expect(within(pages, counts[node] ?? 0, 0.01), "node \(node): move_pages \(pages), numa_maps \(counts)")
            }
        }

        @Test func anonymousReadsMapTheZeropage() throws {
            let region = try Region.allocate(.init(backend: .anonPrivate, size: 8 << 20, pageSize: 4096, thp: .nohuge))
            defer { try? region.teardown() }
            Population.touch(region.slice(0 ..< 4 << 20), stride: 4096)
            let placement = try NUMA.placement(of: region.mapping, pageSize: 4096)
            #expect(placement.zeroPages == 1024)
            #expect(placement.absentPages == 1024)
        }

        @Test func bindPutsEveryPopulatedPageOnItsNode() throws {
            let node = try #require(host.numaNodes.last?.id)
            var trial = config(.memfdShmem, 32 << 20, .fullTouch)
            trial.numaPolicy = .bind([node])
            trial.populateNode = host.numaNodes.first?.id
            let phases = try run(trial)
            #expect(phases.populate.numaPages.hasPrefix("\(node):8192;"), "\(phases.populate.numaPages)")
        }
    }
}
