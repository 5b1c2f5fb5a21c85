/// `/proc/vmstat`: the kernel's event and page counters, system-wide (mmtests' and lkp-tests'
/// `proc-vmstat` monitor). What explains a figure a process's own counters cannot: a THP split, a
/// huge zeropage allocated, a page-table page.
public enum VMStat {
    /// The counters named in `names` (all when nil), as the kernel prints them: pages or events.
    public static func read(_ names: Set<String>? = nil) throws(SystemCallError) -> [String: Int] {
        try parse(ProcFile.read("/proc/vmstat"), names)
    }

    /// Each counter of `end` less its value in `start` (0 where `start` lacks it).
    public static func change(from start: [String: Int], to end: [String: Int]) -> [String: Int] {
        end.reduce(into: [:]) { deltas, counter in deltas[counter.key] = counter.value - (start[counter.key] ?? 0) }
    }

    /// `name value` lines; others are passed over.
    public static func parse(_ text: String, _ names: Set<String>? = nil) -> [String: Int] {
        var counters: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let value = Int(fields[1]) else { continue }
            let name = String(fields[0])
            if names?.contains(name) ?? true { counters[name] = value }
        }
        return counters
    }
}
