import PopulateBench

/// The samples CSV of `bench watch` and `bench qemu`: the snapshot samples' columns first, so one
/// reader takes all three, then the watched process and the system counters (docs/cli.md).
public enum WatchTable {
    public static let columns = SideColumns.watch.map(\.name)

    /// A row per sample; `trial` names what was watched, `phase` when (`watch`, or the steps of `bench qemu`).
    public static func rows(_ samples: [ProcessSample], pid: Int32, trial: String, phase: String) -> [[String: String]] {
        samples.map { Column.cells(SideColumns.watch, of: SampleRecord(trial: trial, phase: phase, pid: pid, $0)) }
    }
}
