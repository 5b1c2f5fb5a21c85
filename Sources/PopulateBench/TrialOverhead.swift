import LinuxMM

extension TrialResult {
    /// Runs a trial (in its child process, from spawning it to decoding its result) and keeps
    /// the time it took as `wallSeconds`.
    public static func timed(_ run: () -> TrialResult) -> TrialResult {
        let start = MonotonicClock.now()
        var result = run()
        if result.status != .skipped { result.wallSeconds = MonotonicClock.now() - start }
        return result
    }

    /// The trial's wall time outside its measured phases: the child's start, allocation, plug,
    /// discard, the placement reads between phases, teardown, exit and the result's way back.
    /// What a trial costs beyond what it measures (docs/cli.md, `overhead_seconds`).
    public var overheadSeconds: Double? {
        guard status == .ok, let wallSeconds else { return nil }
        return wallSeconds - phases.reduce(0) { $0 + $1.seconds }
    }
}
