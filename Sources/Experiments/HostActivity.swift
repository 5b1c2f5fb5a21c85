import Foundation
import LinuxMM
import PopulateBench

/// How much the rest of the host changed the system-wide counters while nothing of the harness
/// ran: the noise in `sys_*` and `vmstat_*` columns. A row's own counters (`pte_bytes`, `rss_*`)
/// are per process and unaffected.
public struct HostActivity: Codable, Sendable, Equatable {
    public var seconds: Double
    /// The largest change, in either direction, of each counter over `seconds`.
    public var pageTablePages: Int
    public var shmemPages: Int
    public var pageFaults: Int

    /// More than this many page-table pages (1 MiB of tables), or shmem pages (16 MiB), in the window.
    public static let busyPageTablePages = 256
    public static let busyShmemPages = 4096

    public var isBusy: Bool { pageTablePages > Self.busyPageTablePages || shmemPages > Self.busyShmemPages }

    /// Reads `/proc/vmstat` every 50 ms for `seconds`.
    public static func measure(seconds: Double = 1) throws -> HostActivity {
        let names: Set = ["nr_page_table_pages", "nr_shmem", "pgfault"]
        let first = try VMStat.read(names)
        var low = first, high = first
        var last = first
        let end = MonotonicClock.now() + seconds
        while MonotonicClock.now() < end {
            MonotonicClock.sleep(seconds: 0.05)
            last = try VMStat.read(names)
            for (name, value) in last {
                low[name] = min(low[name] ?? value, value)
                high[name] = max(high[name] ?? value, value)
            }
        }
        func swing(_ name: String) -> Int { (high[name] ?? 0) - (low[name] ?? 0) }
        return HostActivity(seconds: seconds, pageTablePages: swing("nr_page_table_pages"), shmemPages: swing("nr_shmem"),
                            pageFaults: (last["pgfault"] ?? 0) - (first["pgfault"] ?? 0))
    }

    /// One line for `bench doctor`.
    public var text: String {
        let window = "in \(ByteSize.formatDecimal(seconds, digits: 1)) s: page tables moved \(pageTablePages) pages, "
            + "shmem \(shmemPages) pages, \(pageFaults) page faults"
        return isBusy
            ? "busy (\(window)): system-wide figures (sys_*, vmstat_*) include other work; per-process ones do not"
            : "quiet (\(window))"
    }
}
