import PopulateBench
import Results
import VMM

/// `bench doctor --recommend`: for each configuration, the cheapest strategy that kept a background
/// snapshot consistent in this run, on this host and kernel, set against QEMU 6.1's full population.
/// Every claim comes from the trials measured in the same run, never from a table: a strategy is
/// consistent only if each of its repetitions copied every page as it was when protection began,
/// with the writers having written.
public struct StrategyRecommendation: Sendable {
    /// What a strategy cost in one configuration, as medians over its ok repetitions.
    public struct Measured: Sendable {
        public var strategy: Strategy
        /// Page tables and the backend's own data pages that population and protection added.
        public var memoryBytes: Int
        /// Population plus protection.
        public var seconds: Double
    }

    public struct RuledOut: Sendable {
        public var strategy: Strategy
        public var reason: String
    }

    /// One configuration's verdict.
    public struct Verdict: Sendable {
        public var label: String
        public var best: Measured?
        public var reference: Measured?
        public var ruledOut: [RuledOut]
        /// Best first (`ranked`).
        public var consistent: [Measured]
    }

    /// The snapshot QEMU would run, on every strategy, over the configurations asked for.
    public static func plan(_ base: RunPlan) -> RunPlan {
        var plan = base
        plan.strategies = Strategy.allCases
        plan.snapshot = SnapshotOptions(writers: 1)
        return plan
    }

    /// What `bench doctor --recommend` measures: `base` (the user's backends, sizes and plugged
    /// fractions) with every strategy and a snapshot, one warm-up; without backends named, those
    /// this host can run. The first problem names its input.
    public static func plan(_ base: RunPlan, backendsNamed: Bool, host: HostCapabilities) throws(RunPlan.InputError)
        -> RunPlan {
        var plan = base
        plan.warmup = 1
        try plan.locateHugetlbfs(path: nil, required: backendsNamed && plan.backends.contains(where: \.declaration.isFileInHugetlbfsMount))
        if !backendsNamed {
            let runnable = Set(Self.plan(plan).configs(host: host).filter { config in
                config.strategy == Strategy.backendProbe && host.skipReason(for: config) == nil
            }.map(\.backend))
            plan.backends = Backend.allCases.filter(runnable.contains)
        }
        plan = Self.plan(plan)
        try plan.validate(host: host)
        return plan
    }

    public let verdicts: [Verdict]

    public init(results: [TrialResult]) {
        var order: [String] = []
        var groups: [String: [TrialResult]] = [:]
        for result in results {
            let config = result.config
            let label = "\(config.backend.rawValue) \(ByteSize.format(config.regionBytes)), "
                + "\(ByteSize.format(config.pageBytes)) pages, plugged=\(config.pluggedFraction) "
                + "resident=\(config.residentFraction) block=\(ByteSize.format(config.blockBytes)) "
                + "\(config.layoutText) thp=\(config.thp.rawValue)"
            if groups[label] == nil { order.append(label) }
            groups[label, default: []].append(result)
        }
        verdicts = order.map { Self.verdict(label: $0, results: groups[$0] ?? []) }
    }

    static func verdict(label: String, results: [TrialResult]) -> Verdict {
        var ruledOut: [RuledOut] = []
        var consistent: [Measured] = []
        var reference: Measured?
        for strategy in Strategy.allCases {
            let trials = results.filter { $0.config.strategy == strategy }
            guard !trials.isEmpty else { continue }
            let ok = trials.filter { $0.status == .ok }
            guard !ok.isEmpty else {
                let reasons = Set(trials.map { "\($0.status.rawValue): \($0.reason)" }).sorted()
                ruledOut.append(RuledOut(strategy: strategy, reason: reasons.joined(separator: "; ")))
                continue
            }
            let measured = Measured(
                strategy: strategy,
                memoryBytes: Statistics(ok.map { Double(memory(of: $0)) }).map { Int($0.median.rounded()) } ?? 0,
                seconds: Statistics(ok.map { trial in
                    [Phase.populate, .protect].reduce(0) { $0 + (trial.phase($1)?.seconds ?? 0) }
                })?.median ?? 0)
            if strategy == Strategy.firstUpstream { reference = measured }
            let snapshots = ok.compactMap { $0.phase(.snapshot) }
            let lost = snapshots.filter { ($0.inconsistentPages ?? 0) > 0 }
            if !lost.isEmpty {
                let pages = lost.compactMap(\.inconsistentPages)
                let range = pages.min() == pages.max() ? "\(pages[0])" : "\(pages.min() ?? 0)...\(pages.max() ?? 0)"
                ruledOut.append(RuledOut(strategy: strategy, reason: "inconsistent snapshot on this backend: "
                    + "\(range) pages lost writes in \(lost.count) of \(ok.count) runs"))
            } else if snapshots.count < ok.count || snapshots.contains(where: { ($0.writes ?? 0) == 0 }) {
                ruledOut.append(RuledOut(strategy: strategy,
                                         reason: "not proven consistent: the writers made no write during the snapshot"))
            } else {
                consistent.append(measured)
            }
        }
        let ranking = ranked(consistent)
        return Verdict(label: label, best: ranking.first, reference: reference, ruledOut: ruledOut, consistent: ranking)
    }

    /// Best first. Memory decides (it is exact). Among equal memory, time in steps that the noise
    /// of a shared VM does not make: the fastest left opens a step, which takes every strategy
    /// within 20% or 1 ms of it; within a step, what the strategies declare
    /// (`Strategy.isPreferred(over:)`). A ranking rather than a pairwise rule (which would not be
    /// transitive), so the order does not depend on the order the strategies were measured in.
    static func ranked(_ measured: [Measured]) -> [Measured] {
        let byMemory = Dictionary(grouping: measured, by: \.memoryBytes)
        return byMemory.keys.sorted().flatMap { memory in
            var rest = byMemory[memory]!.sorted { $0.seconds < $1.seconds }
            var ranked: [Measured] = []
            while let fastest = rest.first {
                let step = rest.prefix { $0.seconds - fastest.seconds <= 0.001 || $0.seconds <= fastest.seconds * 1.2 }
                ranked += step.sorted { $0.strategy.isPreferred(over: $1.strategy) }
                rest.removeFirst(step.count)
            }
            return ranked
        }
    }

    /// Page tables plus the backend's data counter, over population and protection.
    static func memory(of trial: TrialResult) -> Int {
        [Phase.populate, .protect].reduce(0) { total, phase in
            guard let delta = trial.phase(phase)?.delta else { return total }
            return total + delta.pteBytes + delta.dataBytes(of: trial.config.backend)
        }
    }

    public func renderText() -> String {
        var lines: [String] = []
        for verdict in verdicts {
            lines.append(verdict.label)
            if let best = verdict.best {
                var line = "  recommended: \(best.strategy.rawValue): \(ByteSize.format(best.memoryBytes)) of page tables "
                    + "and data, \(ByteSize.formatDecimal(best.seconds, digits: 4)) s to populate and protect"
                if let reference = verdict.reference, reference.strategy != best.strategy {
                    let saved = reference.memoryBytes - best.memoryBytes
                    let share = reference.memoryBytes > 0 ? Double(saved) / Double(reference.memoryBytes) * 100 : 0
                    line += "; against \(reference.strategy.rawValue) (\(ByteSize.format(reference.memoryBytes)), "
                        + "\(ByteSize.formatDecimal(reference.seconds, digits: 4)) s) it saves \(ByteSize.format(saved)) "
                        + "(\(ByteSize.formatDecimal(share, digits: 1))%)"
                }
                lines.append(line)
            } else {
                lines.append("  no strategy kept the snapshot consistent here")
            }
            let others = verdict.consistent.filter { $0.strategy != verdict.best?.strategy }
            if !others.isEmpty {
                lines.append("  also consistent: " + others.map {
                    "\($0.strategy.rawValue) \(ByteSize.format($0.memoryBytes))"
                }.joined(separator: ", "))
            }
            for ruled in verdict.ruledOut {
                lines.append("  ruled out \(ruled.strategy.rawValue): \(ruled.reason)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
