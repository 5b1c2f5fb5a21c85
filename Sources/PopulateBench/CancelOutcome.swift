/// What a background snapshot cancelled part way leaves behind (`--cancel-at`), read a fixed time
/// after the cancel: the emulation's and a real QEMU's alike.
public struct CancelOutcome: Codable, Sendable, Equatable {
    /// Plugged bytes the copy had saved when it was cancelled.
    public var copiedBytes: Int
    /// Bytes of the memory under test still write-protected (pagemap bit 57, markers included);
    /// nil on a kernel without bit 57 (before Linux 5.13).
    public var protectedBytes: Int?
    /// What the strategy's declaration predicts for `protectedBytes`: nothing where tracking
    /// stops, else every page protected when the copy began that the copy had not reached.
    public var modelProtectedBytes: Int?
    /// A userfaultfd still has the memory registered for write-protection (smaps `VmFlags: uw`).
    public var uffdRegistered: Bool
    /// A guest writer wrote one word in every plugged page within `guestBoundSeconds` of the cancel.
    public var guestAlive: Bool
    /// How long the writer took, or the bound when it did not finish (a hung guest).
    public var guestWaitSeconds: Double

    public init(copiedBytes: Int, protectedBytes: Int?, modelProtectedBytes: Int? = nil, uffdRegistered: Bool,
                guestAlive: Bool, guestWaitSeconds: Double) {
        self.copiedBytes = copiedBytes
        self.protectedBytes = protectedBytes
        self.modelProtectedBytes = modelProtectedBytes
        self.uffdRegistered = uffdRegistered
        self.guestAlive = guestAlive
        self.guestWaitSeconds = guestWaitSeconds
    }
}
