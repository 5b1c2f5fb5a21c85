import PopulateBench

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

    /// A record that is not RFC 4180 or not as wide as the header; `line` is where it starts (1 is the header).
    public struct MalformedRecord: Error, CustomStringConvertible, Equatable {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    /// Parses CSV text into a header and rows keyed by it. Every record must have as many fields
    /// as the header (a row cut short by a full disk or a crash is an error, not a row of blanks);
    /// empty lines are skipped.
    public static func parse(_ text: String) throws(MalformedRecord) -> Table {
        let records = try records(text)
        guard let header = records.first?.fields else { return Table(header: [], rows: [], lines: []) }
        var table = Table(header: header, rows: [], lines: [])
        for record in records.dropFirst() {
            guard record.fields.count == header.count else {
                throw MalformedRecord(line: record.line, reason: "\(record.fields.count) fields, the header has \(header.count)")
            }
            table.rows.append(Dictionary(zip(header, record.fields), uniquingKeysWith: { first, _ in first }))
            table.lines.append(record.line)
        }
        return table
    }

    /// A parsed file: its header, its rows keyed by the header, and the line each row starts on.
    public struct Table: Sendable {
        public var header: [String]
        public var rows: [[String: String]]
        public var lines: [Int]
    }

    /// The records of `text` with the line each starts on, byte by byte: quote 0x22, comma 0x2C,
    /// CR 0x0D, LF 0x0A (all ASCII, so UTF-8 in fields passes through untouched).
    static func records(_ text: String) throws(MalformedRecord) -> [(line: Int, fields: [String])] {
        let quote: UInt8 = 0x22, comma: UInt8 = 0x2C, cr: UInt8 = 0x0D, lf: UInt8 = 0x0A
        var records: [(line: Int, fields: [String])] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var line = 1
        var recordLine = 1
        // Where in a field the parser is: at its start, in an unquoted one, in a quoted one, or
        // just after a quote inside a quoted one (either its end or the first of a doubled quote).
        enum State { case start, unquoted, quoted, quoteInQuoted }
        var state = State.start
        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
        }
        func endRecord() {
            endField()
            if fields != [""] { records.append((recordLine, fields)) }
            fields.removeAll()
        }
        var bytes = Array(text.utf8)
        if bytes.last != lf { bytes.append(lf) }
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch (state, byte) {
            case (.quoted, quote): state = .quoteInQuoted
            case (.quoted, _):
                if byte == lf { line += 1 }
                field.append(byte)
            case (.quoteInQuoted, quote): field.append(quote); state = .quoted
            case (.start, quote): state = .quoted
            case (.unquoted, quote):
                throw MalformedRecord(line: line, reason: "a quote inside an unquoted field")
            case (_, comma): endField(); state = .start
            case (_, cr) where index < bytes.count && bytes[index] == lf:
                break
            case (_, lf):
                endRecord()
                line += 1
                recordLine = line
                state = .start
            case (.quoteInQuoted, _):
                throw MalformedRecord(line: line, reason: "text after the closing quote of a field")
            default:
                field.append(byte)
                state = .unquoted
            }
        }
        if state == .quoted {
            throw MalformedRecord(line: recordLine, reason: "a quoted field is never closed")
        }
        return records
    }
}
