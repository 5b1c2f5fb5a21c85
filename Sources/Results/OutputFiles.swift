/// The files of one run: the raw CSV the user names, and the others beside it.
public enum OutputFiles {
    /// `<out>-summary.csv` beside `<out>.csv`.
    public static func summaryPath(for outPath: String) -> String { siblingPath(of: outPath, suffix: "summary") }

    /// `<out>-samples.csv` beside `<out>.csv`.
    public static func samplesPath(for outPath: String) -> String { siblingPath(of: outPath, suffix: "samples") }

    /// `<out>-stalls.csv` beside `<out>.csv`: each snapshot's write-stall distribution.
    public static func stallsPath(for outPath: String) -> String { siblingPath(of: outPath, suffix: "stalls") }

    public static func siblingPath(of outPath: String, suffix: String) -> String {
        (outPath.hasSuffix(".csv") ? String(outPath.dropLast(4)) : outPath) + "-\(suffix).csv"
    }
}
