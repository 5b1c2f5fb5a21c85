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
    /// Each 4 KiB of this hugetlb region starts with a 1, so the sum of the bytes read counts the reads.
    @Suite(needs(.hugePages(4)))
    struct PopulationStride {
        @Test func qemu61ReadsEveryBasePageOfAHugePage() throws {
            let size = 8 << 20
            let region = try Region.allocate(.init(backend: .memfdHugetlb, size: size, pageSize: 2 << 20, thp: .inherit))
            defer { try? region.teardown() }
            let base = KernelInfo.pageSize
            for offset in stride(from: 0, to: size, by: base) { region.mapping.base.storeBytes(of: 1, toByteOffset: offset, as: UInt8.self) }
            func reads(_ strategy: Strategy) -> UInt64 {
                Population.touch(region.mapping, stride: strategy.touchStride(pageSize: 2 << 20, basePageSize: base))
            }
            #expect(reads(.qemu61) == UInt64(size / base))
            #expect(reads(.qemu72) == UInt64(size / (2 << 20)))
            #expect(reads(.qemu62) == UInt64(size / (2 << 20)))
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
