import Foundation
import LinuxMM

/// QEMU's own trace events around a background snapshot, written by its `log` trace backend to a
/// file of the harness's: where the real program populated, protected and copied, by its own clock.
///
/// After `migrate_set_state setup` the main thread starts the sink (for `exec:`, a fork) and the
/// migration thread, which does nothing but populate (`ram_write_tracking_prepare`,
/// migration/migration.c `bg_migration_thread`) until `savevm_state_header`; after
/// `migration_thread_setup_complete` it stops the VM, saves the devices' state and protects each
/// RAM block, tracing `ram_write_tracking_ramblock_start` once a block is protected; the copy runs
/// until `migration_thread_after_loop`. Every name here is in 7.2.0, 7.2.22 and 10.0.2 (checked
/// with `-trace help`); one a build lacks costs a warning on QEMU's stderr, nothing else. A build
/// whose trace backend is not `log` writes nothing, and the steps stay unknown.
public enum QEMUTrace {
    public static let events = [
        "migrate_set_state", "savevm_state_header", "migration_thread_setup_complete",
        "ram_write_tracking_ramblock_start", "ram_write_tracking_ramblock_stop", "migration_thread_after_loop",
    ]

    /// The options that enable `events` into `path`; `-msg timestamp=on` is what makes later QEMUs
    /// stamp each line with its time (7.2 always does; see `parse` for the two forms).
    public static func arguments(writingTo path: String) -> [String] {
        events.flatMap { ["-trace", "enable=\($0)"] } + ["-D", path, "-msg", "timestamp=on"]
    }

    public struct Event: Sendable, Equatable {
        /// The QEMU thread that traced it.
        public var thread: Int
        /// Its time: seconds of CLOCK_REALTIME as QEMU read it (`gettimeofday`), to the microsecond.
        public var wallSeconds: Double
        public var name: String
        /// What QEMU printed after the name, trimmed: `new state active`, `mem0: page_size: 4096 …`.
        public var detail: String

        /// The event as the samples CSV names it: the name, and the one word that tells two of a
        /// kind apart (the new state; the RAM block).
        public var label: String {
            switch name {
            case "migrate_set_state":
                return "\(name):" + (detail.split(separator: " ").last.map(String.init) ?? "")
            case "ram_write_tracking_ramblock_start", "ram_write_tracking_ramblock_stop":
                // The block's id may hold colons of its own (a PCI path): it ends at ": ".
                return "\(name):" + (detail.range(of: ": ").map { String(detail[..<$0.lowerBound]) } ?? detail)
            default:
                return name
            }
        }
    }

    /// The events of a log, in either of the forms QEMU's `log` backend has written:
    /// - `TID@SECONDS.MICROSECONDS:name detail` (up to QEMU 10.0);
    /// - `YYYY-MM-DDTHH:MM:SS.ffffffZ [prefix] name detail`, where `-msg timestamp=on` stamps every
    ///   `qemu_log` line (10.1 and later); the thread is not given there (0), and the event is the
    ///   first word that names one of `events`.
    /// Anything else in the file (QEMU logs other things there on request) is passed over.
    public static func parse(_ text: String) -> [Event] {
        text.split(whereSeparator: \.isNewline).compactMap { line in event(in: line) }
    }

    static func event(in line: Substring) -> Event? {
        if let at = line.firstIndex(of: "@"), let thread = Int(line[..<at]) {
            let rest = line[line.index(after: at)...]
            guard let colon = rest.firstIndex(of: ":"), let seconds = Double(rest[..<colon]) else { return nil }
            let body = rest[rest.index(after: colon)...]
            let name = body.prefix { $0 != " " }
            guard !name.isEmpty else { return nil }
            return Event(thread: thread, wallSeconds: seconds, name: String(name),
                         detail: body.dropFirst(name.count).trimmingCharacters(in: .whitespaces))
        }
        let words = line.split(separator: " ", maxSplits: 1)
        guard let stamp = words.first, let seconds = isoSeconds(stamp), words.count == 2 else { return nil }
        var rest = words[1]
        while !rest.isEmpty {
            let word = rest.prefix { $0 != " " }
            rest = rest.dropFirst(word.count).drop { $0 == " " }
            let name = word.hasSuffix(":") ? word.dropLast() : word
            if events.contains(String(name)) {
                return Event(thread: 0, wallSeconds: seconds, name: String(name),
                             detail: rest.trimmingCharacters(in: .whitespaces))
            }
        }
        return nil
    }

    /// Seconds since the epoch of a UTC time stamp `2025-07-21T18:43:28.089797Z`.
    static func isoSeconds(_ text: Substring) -> Double? {
        guard text.hasSuffix("Z"), let t = text.firstIndex(of: "T") else { return nil }
        let dateParts = text[..<t].split(separator: "-", omittingEmptySubsequences: false)
        let time = text[text.index(after: t) ..< text.index(before: text.endIndex)]
            .split(separator: ":", omittingEmptySubsequences: false)
        func digits(_ part: Substring, _ count: Int) -> Int? {
            part.count == count && part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber) ? Int(part) : nil
        }
        // Seconds: two digits, then optionally a fraction of digits (no exponent, no nan).
        let whole = time.count == 3 ? time[2].prefix { $0 != "." } : ""
        let fraction = time.count == 3 ? time[2].dropFirst(whole.count) : ""
        guard dateParts.count == 3, time.count == 3, let year = digits(dateParts[0], 4), let month = digits(dateParts[1], 2),
              let day = digits(dateParts[2], 2), let hour = digits(time[0], 2), let minute = digits(time[1], 2),
              digits(whole, 2) != nil, fraction.isEmpty || (fraction.count > 1 && fraction.dropFirst().allSatisfy(\.isNumber)),
              let second = Double(time[2]), (1 ... 12).contains(month), (1 ... 31).contains(day), hour < 24, minute < 60,
              second < 61 else { return nil }
        let date = [year, month, day]
        // Days from 1970-01-01 to the date, in the proleptic Gregorian calendar (civil-from-days).
        let (y, m, d) = (date[1] <= 2 ? date[0] - 1 : date[0], date[1], date[2])
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Double(days * 86400 + hour * 3600 + minute * 60) + second
    }

    /// An event on the samples' clock: seconds since sampling began.
    public struct Mark: Sendable, Equatable {
        public var label: String
        public var seconds: Double
    }

    /// `events` on the clock of samples taken from `start` (a `MonotonicClock` reading); `wallOffset`
    /// is `MonotonicClock.wallOffset()` as read when sampling began (and found unchanged after).
    public static func marks(_ events: [Event], since start: Double, wallOffset: Double) -> [Mark] {
        events.map { Mark(label: $0.label, seconds: $0.wallSeconds - wallOffset - start) }
    }

    /// The real program's steps, from its events: each nil where an event is missing.
    public struct Steps: Sendable, Equatable {
        /// `setup` to `savevm_state_header`: population, after the sink's and the thread's start.
        public var populateSeconds: Double?
        /// `migration_thread_setup_complete` to the last block's `ram_write_tracking_ramblock_start`:
        /// the VM's stop, its devices' state, and the protection of every RAM block.
        public var protectSeconds: Double?
        /// The last `ram_write_tracking_ramblock_start` to `migration_thread_after_loop`: the copy.
        public var copySeconds: Double?

        public init(_ events: [Event]) {
            func first(_ label: String) -> Double? { events.first { $0.label == label || $0.name == label }?.wallSeconds }
            let setup = first("migrate_set_state:setup"), header = first("savevm_state_header")
            let complete = first("migration_thread_setup_complete"), afterLoop = first("migration_thread_after_loop")
            let protected = events.last { $0.name == "ram_write_tracking_ramblock_start" }?.wallSeconds
            populateSeconds = Self.between(setup, header)
            protectSeconds = Self.between(complete, protected)
            copySeconds = Self.between(protected, afterLoop)
        }

        private static func between(_ start: Double?, _ end: Double?) -> Double? {
            guard let start, let end, end >= start else { return nil }
            return end - start
        }
    }
}
