import Foundation
import LinuxMM
import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

/// Every test that reads process-wide `/proc/self` numbers, or starts threads and processes that
/// would change them, lives under this suite, which runs its tests one at a time (Swift Testing
/// runs the rest, pure computations, in parallel).
@Suite(.serialized, .recoversKilledRunSettings) struct KernelTests {}

let host = HostCapabilities.probe()
let table = 4096
/// The PMD table and the PUD table above a region that has a window of its own.
let upperLevels = 2 * 4096

func config(_ backend: Backend, _ size: Int, _ strategy: Strategy, plugged: Double = 0.25, resident: Double = 0,
            block: Int = 2 << 20, layout: DiscardMap.Layout = .random, thp: THPMode = .nohuge) -> TrialConfig {
    TrialConfig(backend: backend, regionBytes: size,
                pageBytes: backend.pageSize(hugePageSize: 2 << 20, basePageSize: host.basePageSize),
                blockBytes: block, layout: .named(layout), thp: thp, pluggedFraction: plugged, residentFraction: resident,
                strategy: strategy, seed: RunPlan.defaultSeed,
                hugetlbfsPath: backend == .hugetlbfs ? HugetlbfsMounts.find(pageSize: 2 << 20) : nil)
}

/// Runs `config` in a child process, as `bench` does: VmPTE and RSS are per process, and Swift
/// Testing runs other suites in parallel in this one, whose allocations would land in the exact
/// page-table numbers these tests assert.
func runInChild(_ config: TrialConfig, host: HostCapabilities = HostCapabilities.probe()) throws -> TrialResult {
    guard let binary = benchBinary else { throw MissingBench() }
    return ChildTrialLauncher(executable: binary.deletingLastPathComponent()
        .appendingPathComponent(ChildTrialLauncher.trialExecutableName), timeout: 600)
        .run(TrialRequest(config: config, host: host, checksPoolSize: true))
}

func run(_ config: TrialConfig) throws -> (populate: PhaseResult, protect: PhaseResult) {
    let result = try runInChild(config)
    try #require(result.status == .ok, "\(config.label): \(result.status) \(result.reason)")
    return (try #require(result.phase(.populate)), try #require(result.phase(.protect)))
}

/// The bytes a file has allocated (`st_blocks`): a memfd's own count of its shmem pages, which
/// nothing else on the host moves; -1 when `fstat` fails.
func allocatedBytes(_ fd: Int32) -> Int {
    var status = stat()
    return fstat(fd, &status) == 0 ? Int(status.st_blocks) * 512 : -1
}

/// A 2 MiB hugetlbfs mount, for the hugetlbfs backend.
let hugetlbfsMount = HugetlbfsMounts.find(pageSize: 2 << 20)

func within(_ measured: Int, _ expected: Int, _ tolerance: Double) -> Bool {
    abs(Double(measured - expected)) <= tolerance * Double(expected)
}

extension KernelTests {
    @Suite(needs(.bench)) struct AnonymousPopulation {
        @Test func fullTouchCostsOneTablePer2MiB() throws {
            let phases = try run(config(.anonPrivate, 1 << 30, .fullTouch))
            #expect(within(phases.populate.delta.pteBytes, 512 * table + upperLevels, 0.05),
                    "VmPTE grew by \(phases.populate.delta.pteBytes)")
            #expect(phases.populate.delta.rssBytes < 1 << 20, "the zeropage is not RSS")
            #expect(phases.populate.expected.pageTableBytes == 512 * table + upperLevels)
        }

        @Test func discardTouchCostsOnlyThePluggedQuarter() throws {
            let phases = try run(config(.anonPrivate, 1 << 30, .discardTouch))
            #expect(within(phases.populate.delta.pteBytes, 128 * table + upperLevels, 0.05),
                    "VmPTE grew by \(phases.populate.delta.pteBytes)")
            #expect(phases.populate.delta.rssBytes < 1 << 20)
            #expect(phases.populate.touchedBytes == 256 << 20)
        }

        @Test func madviseMatchesTouch() throws {
            let touch = try run(config(.anonPrivate, 256 << 20, .discardTouch))
            let madvise = try run(config(.anonPrivate, 256 << 20, .discardMadvise))
            #expect(touch.populate.delta.pteBytes == madvise.populate.delta.pteBytes)
        }

        @Test func protectingAnonymousMemoryBuildsNoTables() throws {
            let phases = try run(config(.anonPrivate, 256 << 20, .qemu72))
            #expect(phases.protect.delta.pteBytes == 0)
        }

        @Test(needs(.wpUnpopulated)) func wpUnpopulatedBuildsTablesForWhatItProtects() throws {
            let phases = try run(config(.anonPrivate, 256 << 20, .wpUnpopulated))
            #expect(phases.populate.delta.pteBytes == 0)
            #expect(within(phases.protect.delta.pteBytes, 32 * table + upperLevels, 0.05),
                    "VmPTE grew by \(phases.protect.delta.pteBytes)")
        }

        @Test func guestWritesAreAnonymousRSS() throws {
            // Resident pages are written before population: reading them again costs nothing new.
            let phases = try run(config(.anonPrivate, 256 << 20, .discardTouch, resident: 1))
            #expect(abs(phases.populate.delta.rssAnonBytes) < 1 << 20)
            #expect(phases.populate.delta.pteBytes == 0, "the guest's writes built every plugged table")
        }
    }

    @Suite(needs(.bench)) struct SharedMemoryPopulation {
        @Test(arguments: [Backend.memfdShmem, .anonShared])
        func fullTouchAllocatesEveryPage(backend: Backend) throws {
            let phases = try run(config(backend, 256 << 20, .fullTouch))
            #expect(within(phases.populate.delta.rssShmemBytes, 256 << 20, 0.01))
            #expect(within(phases.populate.delta.pteBytes, 128 * table + upperLevels, 0.05))
            #expect(phases.protect.delta.pteBytes == 0, "every table exists already")
        }

        @Test(arguments: [Backend.memfdShmem, .anonShared])
        func discardTouchAllocatesOnlyPluggedPages(backend: Backend) throws {
            let phases = try run(config(backend, 256 << 20, .discardTouch))
            #expect(within(phases.populate.delta.rssShmemBytes, 64 << 20, 0.01))
            // QEMU 7.2 protects the whole region: markers need tables for the 96 unplugged 2 MiB spans.
            #expect(within(phases.protect.delta.pteBytes, 96 * table, 0.05),
                    "protect VmPTE \(phases.protect.delta.pteBytes)")
        }

        @Test func qemu80ProtectsOnlyPluggedRuns() throws {
            let phases = try run(config(.memfdShmem, 256 << 20, .qemu80))
            #expect(phases.protect.delta.pteBytes == 0)
        }

        @Test func madviseMatchesTouch() throws {
            let touch = try run(config(.memfdShmem, 64 << 20, .fullTouch))
            let madvise = try run(config(.memfdShmem, 64 << 20, .fullMadvise))
            #expect(within(madvise.populate.delta.rssShmemBytes, touch.populate.delta.rssShmemBytes, 0.01))
            #expect(madvise.populate.delta.pteBytes == touch.populate.delta.pteBytes)
        }

        /// Counted on the memfd itself (its allocated blocks), not system Shmem, which anything
        /// else on the host moves.
        @Test func discardFreesShmemPages() throws {
            let region = try Region.allocate(.init(backend: .memfdShmem, size: 32 << 20, pageSize: 4096, thp: .nohuge))
            defer { try? region.teardown() }
            let file = try #require(region.file)
            #expect(allocatedBytes(file.rawValue) == 0)
            region.mapping.base.initializeMemory(as: UInt8.self, repeating: 1, count: 32 << 20)
            #expect(allocatedBytes(file.rawValue) == 32 << 20)
            try region.discard(0 ..< 24 << 20)
            #expect(allocatedBytes(file.rawValue) == 8 << 20)
        }

        /// uffd-wp on PMD-mapped shmem unmaps the huge PMD (RssShmem drops at protection, which the
        /// THP suite checks), but the pages stay in the memfd: its allocated blocks do not change.
        @Test(needs(.thpControl)) func protectionLeavesShmemPagesInTheFile() throws {
            try THPSettingsFixture.with(["shmem_enabled": "advise"]) {
                let region = try Region.allocate(.init(backend: .memfdShmem, size: 16 << 20, pageSize: 4096, thp: .huge))
                defer { try? region.teardown() }
                let file = try #require(region.file)
                region.mapping.base.initializeMemory(as: UInt8.self, repeating: 1, count: 16 << 20)
                let before = try ProcStatus.current()
                let uffd = try Userfaultfd.open(features: [.pagefaultFlagWP, .wpHugetlbfsShmem])
                defer { try? uffd.close() }
                try uffd.register(region.mapping, mode: .writeProtect)
                try uffd.writeProtect(region.mapping, true)
                let after = try ProcStatus.current()
                #expect(after.rssShmem < before.rssShmem, "the huge PMDs were unmapped")
                #expect(allocatedBytes(file.rawValue) == 16 << 20, "the pages are still the file's")
            }
        }
    }

    @Suite(needs(.bench), needs(.hugePages(64)))
    struct HugetlbPopulation {
        @Test func exactHugePagesOfMemfd() throws { try exactHugePages(backend: .memfdHugetlb) }

        @Test(needs(.hugetlbfs)) func exactHugePagesOfHugetlbfs() throws { try exactHugePages(backend: .hugetlbfs) }

        func exactHugePages(backend: Backend) throws {
            let full = try run(config(backend, 128 << 20, .fullTouch))
            #expect(full.populate.delta.hugetlbBytes == 128 << 20)
            let discard = try run(config(backend, 128 << 20, .discardTouch))
            #expect(discard.populate.delta.hugetlbBytes == 32 << 20)
            let madvise = try run(config(backend, 128 << 20, .discardMadvise))
            #expect(madvise.populate.delta.hugetlbBytes == 32 << 20)
        }

        @Test func tooSmallAPoolIsASkipThatNamesThePool() {
            let pool = SysfsMM.hugePagePool(pageSize: 2 << 20)
            let pages = (pool?.available ?? 0) + 1
            let result = Trial(config: config(.memfdHugetlb, pages * (2 << 20), .fullTouch), host: host).run()
            #expect(result.status == .skipped)
            #expect(result.reason.contains("2MiB hugetlb pool"), "\(result.reason)")
        }
    }

    @Suite(needs(.bench)) struct EveryBackendAndStrategy {
        /// The strategies that need nothing of userfaultfd beyond write protection.
        static let plainStrategies = Strategy.allCases.filter { $0.requiredFeatures.isEmpty }

        @Test(arguments: [Backend.anonPrivate, .anonShared, .memfdShmem])
        func measuredMatchesModel(backend: Backend) throws {
            try matchesModel(backend, Self.plainStrategies)
        }

        @Test(needs(.hugePages(16)))
        func memfdHugetlbMatchesModel() throws {
            try matchesModel(.memfdHugetlb, Self.plainStrategies)
        }

        @Test(needs(.hugePages(16)),
              needs(.hugetlbfs))
        func hugetlbfsMatchesModel() throws {
            try matchesModel(.hugetlbfs, Self.plainStrategies)
        }

        @Test(needs(.wpUnpopulated), arguments: [Backend.anonPrivate, .anonShared, .memfdShmem])
        func wpUnpopulatedMatchesModel(backend: Backend) throws {
            try matchesModel(backend, [.wpUnpopulated])
        }

        /// A strategy the kernel cannot run is a skip that names the missing feature, whatever this
        /// host offers: the host's features are taken away here.
        @Test func aMissingFeatureIsASkipNamingIt() {
            var limited = host
            limited.userfaultfdFeatures = Userfaultfd.Features.pagefaultFlagWP
            let result = Trial(config: config(.anonPrivate, 16 << 20, .wpUnpopulated), host: limited).run()
            #expect(result.status == .skipped)
            #expect(result.reason.contains("UFFD_FEATURE_WP_UNPOPULATED"), "\(result.reason)")
            #expect(result.phases.isEmpty)
        }

        /// Each interface probed on this kernel is there exactly when its release is at least the
        /// one that brought it (a kernel with a backport would be the exception to name here).
        @Test func theProbedInterfacesFollowTheRelease() throws {
            func version(_ text: String) -> [Int] { text.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) } }
            let release = version(KernelInfo.release)
            try #require(release.count == 2, "\(KernelInfo.release)")
            let interfaces = KernelInterfaces.probe()
            #expect(interfaces.listed.count == 4)
            for interface in interfaces.listed {
                let needed = version(interface.linux)
                #expect(interface.present == !release.lexicographicallyPrecedes(needed),
                        "\(interface.name) (Linux \(interface.linux)) on \(KernelInfo.release): \(interface.present)")
            }
        }

        /// The madvise strategies on a kernel without `MADV_POPULATE_READ` (before 5.14): a skip
        /// that names the call and the version, whatever this host offers.
        @Test func aMissingPopulateReadIsASkipNamingIt() {
            var limited = host
            limited.interfaces.populateRead = false
            let madvise = Strategy.allCases.filter { $0.populateMethod == .madvise }
            #expect(madvise.count >= 2)
            for strategy in Strategy.allCases {
                let reason = limited.skipReason(for: config(.anonPrivate, 16 << 20, strategy)) ?? "runs"
                if madvise.contains(strategy) {
                    #expect(reason.contains("MADV_POPULATE_READ (Linux 5.14)"), "\(strategy): \(reason)")
                } else {
                    #expect(!reason.contains("MADV_POPULATE_READ"), "\(strategy): \(reason)")
                }
            }
            let result = Trial(config: config(.anonPrivate, 16 << 20, .fullMadvise), host: limited).run()
            #expect(result.status == .skipped && result.phases.isEmpty)
        }

        /// Every ok row: the kernel within 5% of the model wherever the model expects something, and
        /// where it expects nothing, no page table (VmPTE is exact) and no more data than the per-CPU
        /// RSS counters can lag by (64 pages): a phase that spends what the model says it does not fails.
        func matchesModel(_ backend: Backend, _ strategies: [Strategy]) throws {
            for strategy in strategies {
                let trial = config(backend, 32 << 20, strategy, resident: 0.5)
                let result = try runInChild(trial)
                try #require(result.status == .ok, "\(trial.label): \(result.reason)")
                for phase in result.phases {
                    let expected = phase.expected
                    if expected.pageTableBytes > 0 {
                        #expect(within(phase.delta.pteBytes, expected.pageTableBytes, 0.05),
                                "\(trial.label) \(phase.phase): VmPTE \(phase.delta.pteBytes), model \(expected.pageTableBytes)")
                    } else {
                        #expect(phase.delta.pteBytes == 0,
                                "\(trial.label) \(phase.phase): VmPTE \(phase.delta.pteBytes), model 0")
                    }
                    if expected.dataBytes > 0 {
                        #expect(within(phase.delta.dataBytes, expected.dataBytes, 0.05),
                                "\(trial.label) \(phase.phase): data \(phase.delta.dataBytes), model \(expected.dataBytes)")
                    } else {
                        #expect(abs(phase.delta.dataBytes) <= 64 * 4096,
                                "\(trial.label) \(phase.phase): data \(phase.delta.dataBytes), model 0")
                    }
                    let counts = phase.numaPages.split(separator: ";").compactMap { $0.split(separator: ":").last }
                        .compactMap { Int($0) }
                    #expect(counts.reduce(0, +) == trial.regionBytes / trial.pageBytes && counts.allSatisfy { $0 >= 0 },
                            "numa_pages accounts for every page once: \(phase.numaPages)")
                }
            }
        }
    }
}

extension KernelTests {
    /// `bench doctor`'s busy-host line: 64 MiB of shmem written while it measures is activity it
    /// must see, whatever else the host does (it can only add).
    @Suite struct HostActivityCheck {
        @Test func shmemWrittenDuringTheWindowMakesTheHostBusy() throws {
            let writer = Thread {
                Thread.sleep(forTimeInterval: 0.2)
                guard let region = try? Region.allocate(.init(backend: .memfdShmem, size: 64 << 20, pageSize: 4096,
                                                              thp: .nohuge)) else { return }
                region.mapping.base.initializeMemory(as: UInt8.self, repeating: 1, count: 64 << 20)
                Thread.sleep(forTimeInterval: 0.3)
                try? region.teardown()
            }
            writer.start()
            let activity = try HostActivity.measure(seconds: 1)
            #expect(activity.shmemPages >= 16384, "\(activity.text)")
            #expect(activity.isBusy && activity.text.hasPrefix("busy"))
        }
    }
}
