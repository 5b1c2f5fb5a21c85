/// Comma-separated values as RFC 4180 writes them: a field with a comma, quote or newline is quoted.
public enum CSV {
    public static func line(_ fields: [String]) -> String {
        fields.map(escape).joined(separator: ",") + "\n"
    }

    public static func line(_ row: [String: String], columns: [String]) -> String {
        line(columns.map { row[$0] ?? "" })
    }

    static func escape(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacing("\"", with: "\"\"") + "\""
    }

    /// Parses CSV text into a header and rows keyed by it.
    public static func parse(_ text: String) -> (header: [String], rows: [[String: String]]) {
        var records: [[String]] = []
        var field = ""
        var record: [String] = []
        var inQuotes = false
        var iterator = text.makeIterator()
        var pending: Character?
        while let character = pending ?? iterator.next() {
            pending = nil
            if inQuotes {
                if character == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" { field.append("\"") } else { inQuotes = false; pending = next }
                    } else { inQuotes = false }
                } else { field.append(character) }
            } else if character == "\"" {
                inQuotes = true
            } else if character == "," {
                record.append(field); field = ""
            } else if character == "\n" || character == "\r\n" {
                record.append(field); field = ""
                records.append(record); record = []
            } else if character != "\r" {
                field.append(character)
            }
        }
        if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
        guard let header = records.first else { return ([], []) }
        let rows = records.dropFirst().filter { $0 != [""] }.map { values in
            Dictionary(zip(header, values), uniquingKeysWith: { first, _ in first })
        }
        return (header, rows)
    }
}
