import ArgumentParser
import LinuxMM
import PopulateBench
import Experiments
import Results
import VMM

// The library's enums as command-line values: help and completion scripts list every case.
extension Backend: ExpressibleByArgument {}
extension Strategy: ExpressibleByArgument {}
extension DiscardMap.Layout: ExpressibleByArgument {}
extension THPMode: ExpressibleByArgument {}
extension SnapshotOptions.Tracking: ExpressibleByArgument {}
extension SnapshotOptions.FaultService: ExpressibleByArgument {}
extension Comparison.Format: ExpressibleByArgument {}

/// Comma-separated lists and the other forms docs/cli.md defines, parsed in an option's
/// `transform`; a thrown `ValidationError` becomes one line that names the flag.
enum ArgumentValues {
    static func items(_ text: String) throws -> [String] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard !items.isEmpty, !items.contains("") else { throw ValidationError("'\(text)' has an empty entry") }
        var seen = Set<String>()
        for item in items where !seen.insert(item).inserted { throw ValidationError("'\(item)' is listed twice") }
        return items
    }

    static func list<T: ExpressibleByArgument & CaseIterable>(_ text: String) throws -> [T] {
        try items(text).map { item in
            guard let value = T(argument: item) else {
                throw ValidationError("unknown value '\(item)' (accepted: "
                    + T.allValueStrings.joined(separator: ", ") + ")")
            }
            return value
        }
    }

    /// `--size` takes what follows it whatever it starts with (a negative size is a bad size, not
    /// a missing one); an option there means the value was left out.
    static func checkNotAnOption(_ text: String) throws {
        if text.hasPrefix("--") { throw ValidationError("needs a value (found the option '\(text)')") }
    }

    static func sizes(_ text: String) throws -> [Int] {
        try checkNotAnOption(text)
        return try items(text).map { item in
            do { return try ByteSize.parse(item) } catch { throw ValidationError("\(error)") }
        }
    }

    static func size(_ text: String) throws -> Int {
        try checkNotAnOption(text)
        do { return try ByteSize.parse(text) } catch { throw ValidationError("\(error)") }
    }

    static func fraction(_ item: String) throws -> Double {
        guard let value = Double(item), value.isFinite else { throw ValidationError("'\(item)' is not a number in 0...1") }
        guard (0 ... 1).contains(value) else { throw ValidationError("\(item) is outside 0...1") }
        return value
    }

    static func fractions(_ text: String) throws -> [Double] {
        try items(text).map(fraction)
    }

    /// `1ms`, `500us`, `0.25s`, or plain seconds.
    static func duration(_ text: String) throws -> Double {
        let units: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("s", 1), ("", 1)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value > 0, value.isFinite { return value * scale }
        }
        throw ValidationError("'\(text)' is not a positive duration (1ms, 500us, 0.25s)")
    }

    /// `--layout`: names, the last of which may be `ranges:START-END,...` or `file:PATH`, which
    /// takes the rest of the text (its own commas included).
    static func layouts(_ text: String) throws -> LayoutArgument {
        var names = text
        var ranges: PluggedRanges?
        for prefix in ["ranges:", "file:"] {
            guard let found = text.range(of: prefix),
                  found.lowerBound == text.startIndex || text[text.index(before: found.lowerBound)] == "," else { continue }
            let rest = String(text[found.upperBound...])
            do {
                ranges = prefix == "file:" ? try PluggedRanges(file: rest) : try PluggedRanges(parsing: rest)
            } catch { throw ValidationError("\(error)") }
            names = String(text[..<found.lowerBound])
            if names.hasSuffix(",") { names.removeLast() }
            break
        }
        if names.split(separator: ",").contains("ranges") {
            throw ValidationError("ranges needs its list: ranges:START-END,... or file:PATH")
        }
        let named: [DiscardMap.Layout] = names.isEmpty ? [] : try list(names)
        return LayoutArgument(layouts: named.map(TrialLayout.named) + (ranges.map { [.ranges($0)] } ?? []))
    }

    /// `--monitor`: `none`, or `vmstat:NAME,...`.
    static func monitor(_ text: String) throws -> [String] {
        if text == "none" { return [] }
        guard text.hasPrefix("vmstat:") else {
            throw ValidationError("'\(text)' is neither none nor vmstat:NAME,... (counters of /proc/vmstat)")
        }
        let names = text.dropFirst("vmstat:".count).split(separator: ",").map(String.init)
        guard !names.isEmpty else { throw ValidationError("vmstat: names no counter") }
        return names
    }

    /// Bad input unless every counter `--monitor` names is one this kernel's /proc/vmstat has.
    static func checkMonitored(_ counters: [String]?) throws {
        guard let counters, !counters.isEmpty else { return }
        let known = (try? VMStat.read()) ?? [:]
        if let unknown = counters.first(where: { known[$0] == nil }) {
            throw ValidationError("--monitor: /proc/vmstat has no counter '\(unknown)'")
        }
    }

    static func numaPolicy(_ text: String) throws -> NUMAPolicyText.Spec {
        do { return try NUMAPolicyText.parseSpec(text) } catch { throw ValidationError("\(error)") }
    }

    /// The accepted values of an enum, for help text and list completion.
    static func accepted<T: ExpressibleByArgument & CaseIterable>(_: T.Type) -> String {
        T.allValueStrings.joined(separator: ", ")
    }
}

/// What `--layout` names: layouts, the last of which may be the plugged ranges of `ranges:` or `file:`.
struct LayoutArgument {
    var layouts: [TrialLayout]
}
