import Dispatch
import Glibc
import PopulateBench

/// SIGINT, SIGTERM and SIGHUP end a run alike: the runner stops after the current trial, kills its
/// child and keeps the whole trials; the exit code is 128 + the signal (130, 143, 129).
enum TerminationSignals {
    /// Routes the terminating signals to `runner.interrupt(signal:)` and returns once they are
    /// routed. Keep the sources for as long as the run lasts; cancel them after.
    ///
    /// libdispatch receives a signal through a signalfd and installs its own handler for it when a
    /// source is registered; until then the signal's default (ending the process) applies, which
    /// is right before any trial has started. Ignoring the signals first (SIG_IGN) would lose one
    /// that came in that window instead: the kernel discards an ignored signal.
    static func forward(to runner: Runner) -> [any DispatchSourceSignal] {
        let registered = DispatchGroup()
        let sources = Signals.terminating.map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { runner.interrupt(signal: number) }
            registered.enter()
            source.setRegistrationHandler { registered.leave() }
            source.resume()
            return source
        }
        _ = registered.wait(timeout: .now() + 2)
        return sources
    }
}
