import LinuxMM
import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

extension KernelTests {
    /// In the serialized suite: it builds page tables, which the trials beside it would count.
    @Suite struct ProcStatusReaderOnTheKernel {
        /// Reading again regenerates the text: a page table built between two readings shows.
        @Test func theRealFileReadTwice() throws {
            let reader = try ProcStatusReader()
            let before = try reader.read()
            #expect(before.vmPTE == (try ProcStatus.current()).vmPTE)
            let length = 256 << 20
            let mapping = try Mapping.map(length: length, protection: [.read], flags: [.private, .anonymous, .noReserve])
            defer { try? mapping.unmap() }
            try mapping.advise(.noHugePage)
            try mapping.advise(.populateRead)
            let after = try reader.read()
            // 128 last-level tables at least; the other fields as the general parser reads them.
            #expect(after.vmPTE - before.vmPTE >= 128 * 4096, "VmPTE \(before.vmPTE) -> \(after.vmPTE)")
            #expect(after.vmPTE == (try ProcStatus.current()).vmPTE)
        }
    }
}
