import PopulateBench

/// How a number is written in a cell, the same in every table.
public enum CellFormat {
    /// Seconds with six decimals at most (a microsecond).
    public static func seconds(_ value: Double) -> String {
        ByteSize.formatDecimal(value, digits: 6)
    }

    public static func microseconds(_ nanoseconds: UInt64) -> String {
        ByteSize.formatDecimal(Double(nanoseconds) / 1000, digits: 3)
    }

    /// Pages per second: a whole number as one (`20000`), else as Swift prints it.
    public static func rate(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? "\(Int(value))" : "\(value)"
    }
}
