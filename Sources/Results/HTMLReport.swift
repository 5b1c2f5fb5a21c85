/// A report as one self-contained HTML page, for a review or a nightly artifact.
enum HTMLReport {
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    /// A heading, paragraphs and notes, then one table.
    static func page(heading: String, paragraphs: [String] = [], notes: [String] = [], header: [String],
                     rows: [[String]]) -> String {
        func line(_ cells: [String], tag: String) -> String {
            "<tr>" + cells.map { "<\(tag)>\(escape($0))</\(tag)>" }.joined() + "</tr>\n"
        }
        return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>bench compare</title></head><body>\n"
            + "<h3>\(escape(heading))</h3>\n" + paragraphs.map { "<p>\(escape($0))</p>\n" }.joined()
            + (notes.isEmpty ? "" : "<ul>\n" + notes.map { "<li>\(escape($0))</li>\n" }.joined() + "</ul>\n")
            + "<table>\n" + line(header, tag: "th") + rows.map { line($0, tag: "td") }.joined()
            + "</table>\n</body></html>\n"
    }
}
