import Foundation
import LinuxMM

/// What QEMU's snapshot thread is doing, from `/proc/<pid>/task` (QEMU names its threads with
/// `-name debug-threads=on`: `bg_snapshot` in 7.2, `mig/snapshot` since 9.x).
enum SnapshotThread {
    static let names: Set<String> = ["bg_snapshot", "mig/snapshot"]

    enum State: Equatable { case absent, running, blockedWriting }

    /// Blocked writing is the held sink: the kernel names the wait `pipe_write` (`anon_pipe_write`
    /// in 6.18) in `wchan`; where it hides symbols, sleeping in `write` or `writev` (system calls 1
    /// and 20) counts.
    static func state(pid: Int32) -> State {
        let tasks = ProcFile.list(directory: "/proc/\(pid)/task")
        for task in tasks {
            let directory = "/proc/\(pid)/task/\(task)"
            guard let name = try? ProcFile.read(directory + "/comm"),
                  names.contains(name.trimmingCharacters(in: .newlines)) else { continue }
            guard let stat = try? ProcFile.read(directory + "/stat"),
                  let close = stat.lastIndex(of: ")"), stat[stat.index(close, offsetBy: 2)] == "S" else { return .running }
            let wchan = (try? ProcFile.read(directory + "/wchan")) ?? ""
            if wchan.hasSuffix("pipe_write") { return .blockedWriting }
            if wchan.isEmpty || wchan == "0",
               let call = try? ProcFile.read(directory + "/syscall"),
               call.hasPrefix("1 ") || call.hasPrefix("20 ") {
                return .blockedWriting
            }
            return .running
        }
        return .absent
    }
}
