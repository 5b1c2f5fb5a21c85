import Foundation

/// Sizes as users write them (`4096`, `64KiB`, `256MiB`, `1GiB`; `K`, `M`, `G` alone mean the
/// binary units) and as the table prints them.
public enum ByteSize {
    public struct ParseError: Error, CustomStringConvertible {
        public var text: String
        /// The binary spelling of a size given in a decimal unit (`3GB` → `3GiB`), else nil.
        public var binarySpelling: String?
        public var isDecimalUnit: Bool { binarySpelling != nil }
        public var description: String {
            binarySpelling.map { "'\(text)' is in a decimal unit, which sizes here are not: write \($0) (binary) or the bytes" }
                ?? "'\(text)' is not a size (use 4096, 64KiB, 256MiB, 1GiB)"
        }
    }

    private static let units: [(suffixes: [String], shift: Int)] = [
        (["tib", "t"], 40), (["gib", "g"], 30), (["mib", "m"], 20), (["kib", "k"], 10), (["b", ""], 0),
    ]

    public static func parse(_ text: String) throws(ParseError) -> Int {
        let lowered = text.lowercased().filter { $0 != " " }
        // `3GB` is 3×10^9 bytes to some and 3 GiB to others: refused rather than guessed.
        for (suffix, binary) in [("tb", "TiB"), ("gb", "GiB"), ("mb", "MiB"), ("kb", "KiB")] where lowered.hasSuffix(suffix) {
            let digits = lowered.dropLast(suffix.count)
            if !digits.isEmpty, digits.allSatisfy(\.isNumber) { throw ParseError(text: text, binarySpelling: digits + binary) }
        }
        for unit in units {
            for suffix in unit.suffixes where lowered.hasSuffix(suffix) {
                let digits = lowered.dropLast(suffix.count)
                guard !digits.isEmpty, digits.allSatisfy(\.isNumber), let value = Int(digits),
                      value <= (Int.max >> unit.shift) else { continue }
                return value << unit.shift
            }
        }
        throw ParseError(text: text)
    }

    /// `256MiB`, `1GiB`, `4KiB`, exact when the value is a whole number of the unit; else `1.5GiB`.
    public static func format(_ bytes: Int) -> String {
        let sign = bytes < 0 ? "-" : ""
        let magnitude = bytes.magnitude
        for (name, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] {
            let unit = UInt(1) << shift
            if magnitude >= unit {
                if magnitude % unit == 0 { return "\(sign)\(magnitude / unit)\(name)" }
                let value = Double(magnitude) / Double(unit)
                return sign + formatDecimal(value, digits: value < 10 ? 2 : 1) + name
            }
        }
        return "\(bytes)B"
    }

    /// Exactly, for messages about input: `256MiB` when a unit divides it, else `7000 bytes`
    /// (never a rounded `6.84KiB` that hides why it was refused).
    public static func exact(_ bytes: Int) -> String {
        bytes >= 1024 && bytes % 1024 == 0 ? format(bytes) : "\(bytes) bytes"
    }

    /// Fixed-point with `digits` decimals, never an exponent: CSV readers must parse it as written.
    public static func formatDecimal(_ value: Double, digits: Int) -> String {
        String(format: "%.\(digits)f", value)
    }
}
