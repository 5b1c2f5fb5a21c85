import PopulateBench

/// OpenMetrics text exposition (https://prometheus.io/docs/specs/om/open_metrics_spec/) of an export,
/// for node_exporter's textfile collector and the Pushgateway.
///
/// Gauges only and no timestamps: the textfile collector refuses samples with timestamps, and a
/// pushed sample is stamped by the scrape. That keeps the text valid Prometheus text format 0.0.4
/// as well, where `# UNIT` and `# EOF` are comments: the Pushgateway (1.5) parses only 0.0.4 and
/// protobuf. Every series has every label of its family, empty where a column does not apply
/// (Prometheus treats an empty label as absent), so a family's label names never differ.
///
/// Written here rather than with swift-prometheus (2.4): its registry holds a live process's own
/// metrics, writes 0.0.4 only (no `# UNIT`, no `# EOF`), emits families in dictionary order, and
/// has no push; a file of results needs none of its atomics and all of what it lacks.
public enum OpenMetricsFormat {
    public static let contentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"

    public static func render(_ export: MetricsExport) -> String {
        var text = ""
        for measure in MetricsExport.measures {
            let samples = export.series.compactMap { series in
                series.medians[measure.column].map { sample(measure.name, series.labels, $0) }
            }
            text += family(measure, samples)
        }
        text += family(MetricsExport.numaPages, export.series.flatMap { series in
            series.numaPages.map { sample(MetricsExport.numaPages.name, series.labels + [("numa_node", $0.node)], $0.pages) }
        })
        text += family(MetricsExport.trials, export.series.flatMap { series in
            series.trials.map {
                sample(MetricsExport.trials.name, series.labels + [("status", $0.status), ("reason", $0.reason)],
                       "\($0.count)")
            }
        })
        return text + "# EOF\n"
    }

    /// A family without samples is left out: a run without snapshots has no `wp_faults` to describe.
    static func family(_ measure: MetricsExport.Measure, _ samples: [String]) -> String {
        guard !samples.isEmpty else { return "" }
        var lines = ["# TYPE \(measure.name) gauge"]
        if let unit = measure.unit { lines.append("# UNIT \(measure.name) \(unit)") }
        lines.append("# HELP \(measure.name) \(escape(measure.help))")
        return (lines + samples).map { $0 + "\n" }.joined()
    }

    static func sample(_ name: String, _ labels: [(name: String, value: String)], _ value: String) -> String {
        let pairs = labels.map { "\($0.name)=\"\(escape($0.value))\"" }
        return "\(name){\(pairs.joined(separator: ","))} \(value)"
    }

    /// Label values and help text escape backslash, double quote and line feed; a carriage return
    /// (a reason from a CRLF file) is dropped rather than left raw in a line-based format.
    static func escape(_ text: String) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            case "\r": continue
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}
