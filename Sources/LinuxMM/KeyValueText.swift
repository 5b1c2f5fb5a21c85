/// The `Key:   1234 kB` format of `/proc/<pid>/status` and `/proc/meminfo`.
enum KeyValueText {
    /// Every line's key and value; values with a `kB` unit are turned into bytes.
    static func parse(_ text: String) -> [String: Int] {
        var values: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = String(line[..<colon])
            let fields = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = fields.first, let number = Int(first) else { continue }
            let isKiB = fields.count > 1 && fields[1] == "kB"
            values[key] = isKiB ? number * 1024 : number
        }
        return values
    }
}
