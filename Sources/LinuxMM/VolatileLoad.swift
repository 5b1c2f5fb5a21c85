import CLinuxMM

/// A read of memory that the optimizer may not delete or merge: a loop that only faults pages in
/// has a result nobody uses, and a release build removes it otherwise (`withExtendedLifetime` does
/// not stop it).
public enum VolatileLoad {
    /// The byte at `address`, read once. The corresponding C code is a `volatile uint8_t *` load.
    public static func byte(at address: UnsafeRawPointer) -> UInt8 {
        clmm_load_volatile(address)
    }
}
