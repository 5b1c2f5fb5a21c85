import LinuxMM
import Dispatch
import PopulateBench
import Synchronization

/// SIGINT, SIGTERM and SIGHUP end every experiment alike: whole trials or cases are kept, the
/// child or VMM running is killed, and the exit code is 128 + the signal (130, 143, 129). The one
/// signal path of `bench run`, `bench qemu`, `bench watch` and `bench doctor --recommend`.
///
/// libdispatch receives a signal through a signalfd and installs its own handler for it when a
/// source is registered; until then the signal's default (ending the process) applies, which is
/// right before any work has started. Ignoring the signals first (SIG_IGN) would lose one that came
/// in that window instead: the kernel discards an ignored signal.
public final class TerminationSignals: @unchecked Sendable {
    private let first: FirstSignal
    private let sources: [any DispatchSourceSignal]

    private final class FirstSignal: Sendable {
        let value = Mutex<Int32?>(nil)
    }

    /// Routes the signals to `onSignal` (on a dispatch queue, not in a signal handler) and returns
    /// once they are routed. Keep the value for as long as the work lasts.
    public init(onSignal: @escaping @Sendable (Int32) -> Void = { _ in }) {
        let registered = DispatchGroup()
        let first = FirstSignal()
        self.first = first
        sources = Signals.terminating.map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                first.value.withLock { $0 = $0 ?? number }
                onSignal(number)
            }
            registered.enter()
            source.setRegistrationHandler { registered.leave() }
            source.resume()
            return source
        }
        _ = registered.wait(timeout: .now() + 2)
    }

    deinit { sources.forEach { $0.cancel() } }

    /// The first signal that came, or nil.
    public var caught: Int32? { first.value.withLock { $0 } }

    /// The exit code of work that `signal` ended, or of work no signal ended (`otherwise`).
    public static func exitCode(_ signal: Int32?, otherwise: Int32) -> Int32 {
        signal.map(Signals.exitCode) ?? otherwise
    }
}
