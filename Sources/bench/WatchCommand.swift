import ArgumentParser
import Foundation
import LinuxMM
import PopulateBench
import Experiments
import Results
import VMM

struct WatchCommand: ParsableCommand, BadInputExitCode {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Sample a live process's memory (QEMU, any VMM) until it exits, --duration passes or SIGINT.",
        discussion: "Reads /proc/PID/status, /proc/meminfo and /proc/PID/numa_maps every --interval, writes the "
            + "samples CSV and a summary CSV beside it, and prints each counter's start, peak, end and delta, with the --monitor'ed /proc/vmstat counters "
            + "read at the start and the end. "
            + "Exit codes: 0 the process exited or --duration passed, 1 the process became unreadable, "
            + "2 bad input (nothing written), 130/143/129 stopped by SIGINT/SIGTERM/SIGHUP (samples kept)."
    )

    @Option(parsing: .unconditional, help: ArgumentHelp("The process to sample.", valueName: "pid"))
    var pid: Int32

    @Option(help: ArgumentHelp("How often to sample: 10ms, 500us, 1s. (default: 10ms)", valueName: "duration"),
            transform: ArgumentValues.duration)
    var interval: Double = 0.01

    @Option(help: ArgumentHelp("Stop after this long. (default: until the process exits or SIGINT)",
                               valueName: "duration"),
            transform: ArgumentValues.duration)
    var duration: Double?

    @Option(help: ArgumentHelp("CSV file for the samples; the summary goes beside it. (default: results/watch-PID.csv)",
                               valueName: "path"),
            completion: .file(extensions: ["csv"]))
    var out: String?

    @Flag(name: .customLong("no-numa-maps"),
          help: "Do not read /proc/PID/numa_maps (it walks the process's page tables at every sample).")
    var noNUMAMaps = false

    @Option(help: ArgumentHelp("The /proc/vmstat counters the summary records, read when the watch starts and ends "
        + "(system-wide; per node where there are several): none, or vmstat:NAME,... (default: vmstat:"
        + VMStatMonitor.defaultCounters.joined(separator: ",") + ").", valueName: "monitor"),
            transform: ArgumentValues.monitor)
    var monitor: [String]?

    var outPath: String { out ?? "results/watch-\(pid).csv" }

    func validate() throws {
        guard pid > 0 else { throw ValidationError("--pid: \(pid) is not a process id") }
        // Below 100 µs the sampler would busy-spin a core (as --sample-interval of bench run).
        guard interval >= 0.0001 else { throw ValidationError("--interval: must be at least 100us") }
        do {
            _ = try ProcStatus.read(pid: pid)
        } catch let error as SystemCallError where error.errno == ENOENT {
            throw ValidationError("--pid: no process \(pid)")
        } catch let error as SystemCallError {
            throw ValidationError("--pid: cannot read /proc/\(pid)/status: \(String(cString: strerror(error.errno))) "
                + "(run as root or as the process's owner)")
        } catch {
            throw ValidationError("--pid: process \(pid) has no memory to watch (exited, or a kernel thread)")
        }
        try ArgumentValues.checkMonitored(monitor)
        try OutputPath.checkWritable(outPath, flag: "--out", createsDirectories: true)
    }

    func run() throws {
        var session = WatchSession(pid: pid, interval: interval, duration: duration, outPath: outPath)
        session.readsNUMAMaps = !noNUMAMaps
        if let monitor { session.vmstatCounters = monitor }
        session.vmstatNodes = VMStatMonitor.nodes(of: NUMA.nodes())
        let signals = TerminationSignals()
        let outcome: WatchSession.Outcome
        do {
            outcome = try session.run(signals: signals) { name in
                FileHandle.standardError.write(Data(("bench watch: sampling pid \(pid) (\(name)) every "
                    + "\(seconds(interval)); samples go to \(outPath)\n").utf8))
            }
        } catch let error as WatchSession.OutputError {
            throw ValidationError("--out: \(error)")
        } catch {
            // Samples were written before this: an error after work began is 1, never 2.
            FileHandle.standardError.write(Data("bench watch: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let samples = outcome.samples
        let span = (samples.last?.seconds ?? 0) - (samples.first?.seconds ?? 0)
        print("bench watch: pid \(pid) (\(outcome.name)), \(samples.count) samples over \(seconds(span)), "
            + "ended by \(outcome.reason)")
        print(outcome.summary.render())
        fflush(nil)
        if let problem = outcome.vmstatProblem {
            FileHandle.standardError.write(Data("bench watch: --monitor: \(problem)\n".utf8))
        }
        FileHandle.standardError.write(Data("bench watch: samples: \(outPath); summary: \(outcome.summaryPath)\n".utf8))
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
    }

    private func seconds(_ value: Double) -> String {
        value < 1 ? String(format: "%.0f ms", value * 1000) : String(format: "%.2f s", value)
    }
}
