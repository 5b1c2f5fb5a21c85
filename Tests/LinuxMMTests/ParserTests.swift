import Testing
@testable import LinuxMM

@Suite struct ProcStatusParsing {
    static let fixture = """
        Name:\tbench
        VmPeak:\t 1058368 kB
        VmRSS:\t    5216 kB
        RssAnon:\t    1024 kB
        RssFile:\t    4096 kB
        RssShmem:\t      96 kB
        VmPTE:\t    2104 kB
        HugetlbPages:\t  131072 kB
        Threads:\t1
        """

    @Test func fieldsAreBytes() throws {
        let status = try ProcStatus(parsing: Self.fixture)
        #expect(status.vmRSS == 5216 * 1024)
        #expect(status.rssAnon == 1024 * 1024)
        #expect(status.rssFile == 4096 * 1024)
        #expect(status.rssShmem == 96 * 1024)
        #expect(status.vmPTE == 2104 * 1024)
        #expect(status.hugetlbPages == 128 << 20)
    }

    @Test func missingFieldIsNamed() {
        #expect(throws: ProcStatus.MissingField.self) { try ProcStatus(parsing: "VmRSS: 1 kB\n") }
    }

    @Test func theRealFileParses() throws {
        let status = try ProcStatus.current()
        #expect(status.vmRSS > 0)
        #expect(status.vmRSS == status.rssAnon + status.rssFile + status.rssShmem)
    }
}

@Suite struct MemInfoParsing {
    @Test func fieldsAreBytesAndCounts() throws {
        let text = """
            MemTotal:       24609696 kB
            MemAvailable:   24100000 kB
            Shmem:              1024 kB
            PageTables:         2048 kB
            HugePages_Total:     160
            HugePages_Free:      150
            Hugepagesize:       2048 kB
            """
        let info = try MemInfo(parsing: text)
        #expect(info.memTotal == 24_609_696 * 1024)
        #expect(info.shmem == 1 << 20)
        #expect(info.pageTables == 2 << 20)
        #expect(info.hugePagesTotal == 160)
        #expect(info.hugePagesFree == 150)
        #expect(info.hugePageSize == 2 << 20)
    }
}

@Suite struct SysfsParsing {
    @Test func selectedChoice() {
        #expect(SysfsMM.selected(in: "always [madvise] never") == "madvise")
        #expect(SysfsMM.selected(in: "[always] madvise never") == "always")
        #expect(SysfsMM.selected(in: "no brackets") == nil)
    }

    @Test func poolsOfThisKernel() {
        let pools = SysfsMM.hugePagePools()
        #expect(pools.contains { $0.pageSize == 2 << 20 }, "x86-64 kernels have 2 MiB huge pages")
        #expect(pools == pools.sorted { $0.pageSize < $1.pageSize })
    }
}

@Suite struct UserfaultfdFeatures {
    @Test func namesEveryBit() {
        let all = Userfaultfd.Features(rawValue: (1 << 17) - 1)
        #expect(all.names.count == 17)
        #expect(Userfaultfd.Features.wpUnpopulated.names == ["WP_UNPOPULATED"])
        #expect(Userfaultfd.Features(rawValue: 1 << 20).names == ["bit20"])
    }

    @Test func theKernelOffersWriteProtection() throws {
        let features = try Userfaultfd.availableFeatures()
        #expect(features.contains(.pagefaultFlagWP))
    }
}

@Suite struct SystemCallErrors {
    @Test func namesTheCallAndErrno() {
        #expect(throws: SystemCallError.self) {
            try FileDescriptor(rawValue: -1).truncate(to: 4096)
        }
        let error = SystemCallError(call: "mmap", errno: 12)
        #expect(error.description == "mmap: Cannot allocate memory (ENOMEM)")
    }
}

@Suite struct VMStatParsing {
    @Test func perNodeChangesAreListedByNodeThenName() {
        let before = [0: ["nr_shmem": 10, "nr_page_table_pages": 5], 1: ["nr_shmem": 3]]
        let after = [0: ["nr_shmem": 12, "nr_page_table_pages": 5], 1: ["nr_shmem": 515], 2: ["nr_shmem": 1]]
        let change = VMStat.change(from: before, to: after)
        // A node the first reading lacks has no change to give.
        #expect(change == [0: ["nr_shmem": 2, "nr_page_table_pages": 0], 1: ["nr_shmem": 512]])
        #expect(VMStat.formatNodes(change) == "0:nr_page_table_pages:0;0:nr_shmem:2;1:nr_shmem:512")
    }
}
