#if canImport(Glibc)
import Glibc
#endif
import CLinuxMM

/// A child that must not outlive its parent: a parent killed with SIGKILL runs no code, so the
/// kernel has to end the child.
public enum ParentDeath {
    /// The environment variable through which a parent tells its child its pid.
    public static let parentPIDVariable = "POPULATEBENCH_PARENT_PID"

    /// Asks the kernel to send `signal` to this process when its parent ends, then checks that the
    /// parent is still `expectedParent`: one that died before the `prctl` sends nothing, and this
    /// process has already been handed to a reaper. False then: the caller must exit at once.
    ///
    /// The kernel's "parent" is the thread that spawned this process: the parent must spawn from a
    /// thread that outlives the child (ChildProcess's caller waits for the child on that thread).
    /// The corresponding C functions are `prctl(PR_SET_PDEATHSIG)` and `getppid`.
    public static func follow(expectedParent: pid_t, signal: CInt = SIGKILL) throws(SystemCallError) -> Bool {
        _ = try valueOrThrow("prctl(PR_SET_PDEATHSIG)") { clmm_set_parent_death_signal(signal) }
        return getppid() == expectedParent
    }

    /// The parent pid from `parentPIDVariable`, if this process was started with one.
    public static var expectedParent: pid_t? {
        guard let text = getenv(parentPIDVariable) else { return nil }
        return pid_t(String(cString: text))
    }
}
