import Foundation
import LinuxMM
import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

/// The presets as QEMU's code of each release has them (migration/ram.c).
@Suite struct Presets {
    /// A run that starts past its own length: QEMU 6.2 up to 7.2.0 reads none of it, 7.2.1 all of it.
    let lateRun = DiscardMap(blockSize: 2 << 20, plugged: [false, false, false, false, true, true, false, false])

    @Test func qemu720KeepsTheBoundThat721Fixed() {
        #expect(Strategy.qemu720.populateRanges(regionSize: 16 << 20, map: lateRun).isEmpty)
        #expect(Strategy.qemu72.populateRanges(regionSize: 16 << 20, map: lateRun) == [8 << 20 ..< 12 << 20])
    }
}

extension KernelTests {
    /// QEMU 6.1 read one byte every 4 KiB even over huge pages; 6.2 and later one per huge page.
    /// Each strategy's reads go over anonymous memory without THP, where every read maps one 4 KiB
    /// page: the pages the kernel then shows present count the reads.
    @Suite struct PopulationStride {
        @Test(arguments: [(Strategy.qemu61, 4096), (.qemu62, 2 << 20), (.qemu72, 2 << 20)])
        func qemu61ReadsEveryBasePageOfAHugePage(strategy: Strategy, bytesPerRead: Int) throws {
            let size = 8 << 20
            let region = try Region.allocate(.init(backend: .anonPrivate, size: size, pageSize: 4096, thp: .nohuge))
            defer { try? region.teardown() }
            Population.touch(region.mapping, stride: strategy.touchStride(pageSize: 2 << 20, basePageSize: KernelInfo.pageSize))
            let map = try ProcessPagemap.protectionMap(pid: getpid(), start: region.mapping.address, runs: [0 ..< size])
            #expect(map.populatedBytes == size / bytesPerRead * KernelInfo.pageSize, "\(map)")
        }
    }
}

/// The default matrix starts with `none`, which populates nothing: the warm-up must not be it.
@Suite struct WarmUp {
    @Test func theWarmUpPopulates() {
        let plan = RunPlan(backends: [.anonPrivate, .memfdShmem])
        let warmups = TrialExperiment(plan: plan, host: HostCapabilities.probe()).warmups
        #expect(warmups.map(\.backend) == [.anonPrivate, .memfdShmem])
        #expect(warmups.allSatisfy { $0.strategy.populateScope != .nothing }, "\(warmups.map(\.strategy))")
    }
}
