import Foundation
import PopulateBench

/// InfluxDB line protocol (https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/)
/// of an export, shaped like package-benchmark's `influx` export: one point per benchmark, metric and
/// statistic, the machine and the benchmark as tags, the number as the field `value`.
///
/// package-benchmark (1.38) writes that shape as annotated CSV (`#datatype tag,...`) although its
/// documentation says line protocol; this writes line protocol itself, which Telegraf, `influx write`
/// and InfluxDB's `/write` endpoint take as it is:
///
///     populatebench,host=h,run_id=r,...,phase=populate,metric=pte_bytes,unit=bytes value=4096,min=4096,max=8192,iqr=2048,ok_repetitions=3i,repetitions=3i 1735732800000000000
///     populatebench_trials,host=h,...,phase=populate,status=skipped,reason=needs\ 512\ free\ hugepages count=3i 1735732800000000000
///
/// `value` is the median over ok repetitions, as in the OpenMetrics export. Statistics are floats
/// for every metric, never `i` integers: InfluxDB fixes a field's type per measurement, and bytes
/// and seconds share the fields `value`, `min`, `max`, `iqr`. Empty labels are left out, since
/// line protocol has no empty tag value.
public enum InfluxLineProtocol {
    public static let measurement = "populatebench"
    public static let trialsMeasurement = "populatebench_trials"

    /// Each point is stamped with its run's start, from the run id, so exporting a file twice
    /// writes the same points again instead of new ones; `fallback` stamps a run id not made by
    /// `bench run`. Whole seconds, in nanoseconds (the protocol's default precision).
    public static func render(_ export: MetricsExport, fallback: Date) -> String {
        var lines: [String] = []
        for series in export.series {
            let timestamp = nanoseconds(MetricsExport.runStart(runID: series.label(TrialColumns.Name.runID)) ?? fallback)
            let tags = series.labels.filter { !$0.value.isEmpty }
            let counts = "ok_repetitions=\(series.okRepetitions)i,repetitions=\(series.repetitions)i"
            for measure in MetricsExport.measures {
                guard let median = series.medians[measure.column] else { continue }
                var fields = "value=\(median)"
                if let spread = series.spread[measure.column] {
                    fields += ",min=\(spread.min),max=\(spread.max),iqr=\(spread.iqr)"
                }
                lines.append(line(measurement, tags + [("metric", measure.column), ("unit", measure.unit ?? "count")],
                                  fields + "," + counts, timestamp))
            }
            for (node, pages) in series.numaPages {
                lines.append(line(measurement, tags + [("metric", TrialColumns.Name.numaPages), ("unit", "count"), ("numa_node", node)],
                                  "value=\(pages)," + counts, timestamp))
            }
            for trial in series.trials {
                let outcome = [("status", trial.status), ("reason", trial.reason)].filter { !$0.1.isEmpty }
                lines.append(line(trialsMeasurement, tags + outcome, "count=\(trial.count)i", timestamp))
            }
        }
        return lines.map { $0 + "\n" }.joined()
    }

    static func line(_ measurement: String, _ tags: [(name: String, value: String)], _ fields: String,
                     _ timestamp: Int64) -> String {
        let tagText = tags.map { ",\(escape($0.name))=\(escape($0.value))" }.joined()
        return "\(measurement)\(tagText) \(fields) \(timestamp)"
    }

    static func nanoseconds(_ date: Date) -> Int64 {
        Int64(date.timeIntervalSince1970.rounded(.down)) * 1_000_000_000
    }

    /// Tag keys and values escape comma, equals sign and space. A backslash is left as it is, since
    /// InfluxDB 1.x and line-protocol-parser keep `\\` as two characters; a line break cannot be
    /// escaped in line protocol, so it becomes a space.
    static func escape(_ text: String) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case ",", "=", " ": escaped += "\\" + String(scalar)
            case "\n", "\r": escaped += "\\ "
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}
