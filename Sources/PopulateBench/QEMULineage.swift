/// Where a strategy stands among QEMU's programs: what a `bench qemu` row of a real QEMU is
/// emulated by, and what separates two of them (`QEMUHistory.change`).
public enum QEMULineage: Sendable, Equatable {
    /// An idea to compare against, not a program of QEMU's.
    case idea
    /// Upstream QEMU from `since` on, reached from the release before it by `commit` (nil for the
    /// first with background snapshots); `does` says what makes it that preset, for `bench qemu`.
    case upstream(since: QEMURelease, commit: QEMUCommit?, does: String)
    /// Another upstream preset's code under a name of its own (QEMU 7.2.0 runs 6.2's).
    case sameCodeAs(Strategy)
    /// A change on top of `base`: a patch, or a kernel feature QEMU could use. `change` names it
    /// where no patch file does; `does` says what it does.
    case branch(of: Strategy, change: String, does: String)
}

/// A release of QEMU, in its own order.
public struct QEMURelease: Comparable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var micro: Int

    public init(_ major: Int, _ minor: Int, _ micro: Int = 0) {
        self.major = major
        self.minor = minor
        self.micro = micro
    }

    public static func < (lhs: QEMURelease, rhs: QEMURelease) -> Bool {
        (lhs.major, lhs.minor, lhs.micro) < (rhs.major, rhs.minor, rhs.micro)
    }

    public var description: String { "\(major).\(minor).\(micro)" }
}

/// A QEMU commit on the path of a background snapshot's population and protection.
public struct QEMUCommit: Sendable, Equatable {
    public var title: String
    public var hash: String
    /// The releases it is in (`8.0, 7.2.1`).
    public var release: String
    public var text: String { "\"\(title)\" (\(hash), \(release))" }

    public static let handleRamDiscardManager = QEMUCommit(
        title: "migration/ram: Handle RAMBlocks with a RamDiscardManager on background snapshots",
        hash: "6fee3a1fd9ec", release: "6.2")
    public static let fixPopulateReadRange = QEMUCommit(
        title: "migration/ram: Fix populate_read_range()", hash: "5f19a4491941", release: "8.0, 7.2.1")
    public static let optimizeWriteTrackingStart = QEMUCommit(
        title: "migration/ram: Optimize ram_write_tracking_start() for RamDiscardManager", hash: "e41c57702e94",
        release: "8.0")
    public static let stopTrackingOnCancel = QEMUCommit(
        title: "migration: stop tracking ram writes when cancelling background migration", hash: "3a8b81f2e6",
        release: "8.1")
}

extension Strategy {
    /// The upstream presets in release order: what a QEMU version is emulated by.
    public static let upstreamLine: [(strategy: Strategy, since: QEMURelease, commit: QEMUCommit?, does: String)] =
        allCases.compactMap { strategy in
            guard case let .upstream(since, commit, does) = strategy.declaration.lineage else { return nil }
            return (strategy, since, commit, does)
        }.sorted { $0.since < $1.since }

    /// QEMU before it knew of discarded memory: what the discard-aware presets save against.
    public static let firstUpstream = upstreamLine[0].strategy

    /// The upstream preset of a release: the last whose `since` it has reached; nil before 6.0.
    public static func upstream(at release: QEMURelease) -> (strategy: Strategy, does: String)? {
        upstreamLine.last { $0.since <= release }.map { ($0.strategy, $0.does) }
    }

    /// The preset on the upstream line whose code this one runs: itself, or what it is an alias of.
    public var upstreamCode: Strategy? {
        switch declaration.lineage {
        case .upstream: self
        case let .sameCodeAs(other): other.upstreamCode
        case .idea, .branch: nil
        }
    }
}
