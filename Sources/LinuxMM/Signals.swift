import Glibc

/// The signals a run talks about: a child killed by one, or the run ended by one.
public enum Signals {
    /// The signals that end a run the way Ctrl-C does: whole trials kept, exit 128 + the signal.
    public static let terminating: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// `SIGINT` for 2, or `signal 34` for one without a common name.
    public static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGHUP: "SIGHUP"
        case SIGINT: "SIGINT"
        case SIGQUIT: "SIGQUIT"
        case SIGILL: "SIGILL"
        case SIGTRAP: "SIGTRAP"
        case SIGABRT: "SIGABRT"
        case SIGBUS: "SIGBUS"
        case SIGFPE: "SIGFPE"
        case SIGKILL: "SIGKILL"
        case SIGSEGV: "SIGSEGV"
        case SIGPIPE: "SIGPIPE"
        case SIGALRM: "SIGALRM"
        case SIGTERM: "SIGTERM"
        case SIGXCPU: "SIGXCPU"
        case SIGXFSZ: "SIGXFSZ"
        default: "signal \(signal)"
        }
    }

    /// The shell's convention for a process ended by `signal`: 128 + its number (130 for SIGINT,
    /// 143 for SIGTERM, 129 for SIGHUP).
    public static func exitCode(_ signal: Int32) -> Int32 { 128 + signal }
}
