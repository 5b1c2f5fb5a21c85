import CLinuxMM

/// Keeps the measuring process's own allocations out of its measurements. `VmPTE` and RSS are per
/// process: a sample that grows malloc's heap into a fresh 2 MiB span costs a page table that the
/// phase did not. Growing and touching the heap once, before measuring, and telling malloc never to
/// give it back or to serve allocations with mmap, makes later allocations reuse what exists.
public enum HeapReserve {
    /// The corresponding C functions are `mallopt`, `malloc` and `free`.
    public static func prepare(bytes: Int) {
        clmm_heap_reserve(bytes)
    }
}
