import Foundation
import LinuxMM
import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

/// Something a test needs from the host that a fresh machine may lack. A test names what it needs
/// with `needs(_:)`, the one way a test is skipped: the skip says why and how to get it.
///
/// A CI job that set a feature up lists its name in `POPULATEBENCH_REQUIRED_FEATURES`
/// (comma-separated); then a missing feature fails the run (`CIGuarantees`) instead of skipping
/// the tests that need it, and those tests run anyway and fail on their own terms.
struct HostFeature: Sendable {
    /// The name CI lists in `POPULATEBENCH_REQUIRED_FEATURES`.
    let name: String
    let isAvailable: Bool
    /// Why it is missing and what gets it, for the skip and for the failure.
    let missing: String

    static let requiredVariable = "POPULATEBENCH_REQUIRED_FEATURES"

    /// The names CI declared, as written.
    static let requiredNames: [String] = (ProcessInfo.processInfo.environment[requiredVariable] ?? "")
        .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }

    var isRequired: Bool { Self.requiredNames.contains(name) }
}

extension HostFeature {
    static let bench = HostFeature(name: "bench", isAvailable: benchBinary != nil,
                                   missing: "the bench executable is not built beside the tests (swift build first)")

    static let root = HostFeature(name: "root", isAvailable: getuid() == 0, missing: "needs root")

    static let python3 = HostFeature(name: "python3", isAvailable: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"),
                                     missing: "needs /usr/bin/python3 (apt-get install python3)")

    /// `count` free 2 MiB huge pages. Every count is the feature `hugetlb`: CI's pool holds the largest.
    static func hugePages(_ count: Int) -> HostFeature {
        HostFeature(name: "hugetlb", isAvailable: (SysfsMM.hugePagePool(pageSize: 2 << 20)?.available ?? 0) >= count,
                    missing: "needs \(count) free 2 MiB huge pages (scripts/setup.sh --hugepages 160)")
    }

    static let hugetlbfs = HostFeature(name: "hugetlbfs", isAvailable: HugetlbfsMounts.find(pageSize: 2 << 20) != nil,
                                       missing: "no 2 MiB hugetlbfs mount (scripts/setup.sh --hugepages N mounts one)")

    static let thpControl = HostFeature(name: "thp-control", isAvailable: THPSettingsFixture.isWritable,
                                        missing: "changing THP settings needs root and a THP kernel")

    static let thpPerSize = HostFeature(name: "thp-per-size", isAvailable: THPSettingsFixture.hasPerSizeControls,
                                        missing: "the kernel has no per-size THP controls (Linux 6.8+)")

    static let numa = HostFeature(name: "numa", isAvailable: NUMA.isAvailable, missing: "the kernel has no NUMA support")

    static let frameNumbers = HostFeature(name: "frame-numbers", isAvailable: getuid() == 0 && MemoryBlocks.current() != nil,
                                          missing: "frame numbers need root and /sys/devices/system/memory")

    static let uffdWP = HostFeature(name: "uffd-wp", isAvailable: host.userfaultfdFeatures?.contains(.pagefaultFlagWP) == true,
                                    missing: "the kernel's userfaultfd lacks write protection (Linux 5.7)")

    /// Pagemap's bit 57, which the cancel tests read what stays protected from.
    static let pagemapWP = HostFeature(name: "pagemap-wp", isAvailable: host.interfaces.pagemapWriteProtectBit,
                                       missing: "the kernel's pagemap has no write-protect bit 57 (Linux 5.13)")

    static let wpUnpopulated = HostFeature(name: "wp-unpopulated",
                                           isAvailable: host.userfaultfdFeatures?.contains(.wpUnpopulated) == true,
                                           missing: "the kernel's userfaultfd lacks WP_UNPOPULATED (Linux 6.4)")

    static let wpAsync = HostFeature(name: "wp-async", isAvailable: host.userfaultfdFeatures?.contains(.wpAsync) == true,
                                     missing: "the kernel's userfaultfd lacks WP_ASYNC (Linux 6.7)")

    /// Follows the host's THP settings, which a test may not change for it: CI declares nothing here.
    static let hugeZeropage = HostFeature(name: "huge-zeropage",
                                          isAvailable: host.transparentHuge(backend: .anonPrivate, advice: .huge)
                                              && host.thp.useZeroPage,
                                          missing: "THP with the huge zeropage is off on this host")

    static let prometheus = HostFeature(name: "prometheus", isAvailable: pushgatewayURL != nil && prometheusURL != nil,
                                        missing: "no Prometheus and Pushgateway: eval \"$(scripts/prometheus.sh start)\" "
                                            + "sets POPULATEBENCH_PUSHGATEWAY and POPULATEBENCH_PROMETHEUS")

    static let qemu = HostFeature(name: "qemu", isAvailable: FileManager.default.isExecutableFile(atPath: qemuBinary)
                                      && GuestImage(directory: GuestImage.defaultDirectory).isPresent
                                      && GuestImage(directory: GuestImage.defaultDirectory).takesCommands,
                                  missing: "needs \(qemuBinary) (scripts/setup.sh --qemu) and the guest of "
                                      + "scripts/qemu-real.sh --guest-only (one that takes commands)")

    /// Every feature a test names, for CI's declaration to be checked against.
    static let all: [HostFeature] = [.bench, .root, .python3, .hugePages(64), .hugetlbfs, .thpControl, .thpPerSize,
                                     .numa, .frameNumbers, .uffdWP, .pagemapWP, .wpUnpopulated, .wpAsync, .hugeZeropage, .prometheus,
                                     .qemu]
}

/// The trait of a test or suite that needs `feature`: skipped with the reason where the host
/// lacks it, unless CI declared it, where it runs (and fails).
func needs(_ feature: HostFeature) -> ConditionTrait {
    .enabled(if: feature.isAvailable || feature.isRequired, Comment(rawValue: feature.missing))
}

/// What CI said it set up is there: the run fails, not skips, when a declared feature is missing.
@Suite struct CIGuarantees {
    @Test(.enabled(if: !HostFeature.requiredNames.isEmpty,
                   "\(HostFeature.requiredVariable) is unset: no feature was declared, none is guaranteed"),
          arguments: HostFeature.requiredNames)
    func aDeclaredFeatureIsThere(name: String) throws {
        let known = HostFeature.all.map(\.name).joined(separator: ", ")
        let feature = try #require(HostFeature.all.first { $0.name == name },
                                   "\(HostFeature.requiredVariable) names '\(name)', which is none of \(known)")
        #expect(feature.isAvailable, "CI set up '\(name)', but it is missing: \(feature.missing)")
    }
}
