import Dispatch
import Foundation
import Synchronization

/// Catches the given signals instead of dying of them: the first one is kept for the caller to
/// poll, and `onSignal` runs for each (on a dispatch queue, not in a signal handler).
final class SignalLatch: @unchecked Sendable {
    private let first = Mutex<Int32?>(nil)
    /// Set once in init; the sources only live as long as the latch.
    private var sources: [any DispatchSourceSignal] = []

    init(_ signals: [Int32], onSignal: (@Sendable (Int32) -> Void)? = nil) {
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in
                first.withLock { $0 = $0 ?? number }
                onSignal?(number)
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The first signal caught, or nil.
    var caught: Int32? { first.withLock { $0 } }

    deinit {
        sources.forEach { $0.cancel() }
    }
}
