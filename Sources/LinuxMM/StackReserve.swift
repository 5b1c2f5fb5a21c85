import CLinuxMM

/// Keeps the main thread's stack out of a phase's `VmPTE`. The stack's top sits at a random
/// offset within its 2 MiB span (ASLR); a phase whose calls reach a few pages deeper than any
/// before can cross into the next span and cost a page table the phase did not (seen in about one
/// debug-build run in six: one 4 KiB table more than the model). Touching the stack once, deeper
/// than any phase reaches, before measuring, makes those tables exist already.
public enum StackReserve {
    /// Touches `bytes` of the calling thread's stack below the caller, a quarter of `RLIMIT_STACK`
    /// at most. The corresponding C functions are `getrlimit` and `alloca`.
    public static func prepare(bytes: Int) {
        clmm_stack_reserve(bytes)
    }
}
