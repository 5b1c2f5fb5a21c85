/// Where the guest's plugged memory ends up: Linux's virtio-mem driver plugs from the device's
/// start (`prefix`); the guest makes holes by offlining memory blocks, which the driver then
/// unplugs first when `requested-size` goes down (Linux 6.1's `virtio_mem_sbm_unplug_request`:
/// offline blocks before online ones, highest first).
public enum GuestLayout: String, CaseIterable, Sendable, Codable {
    case prefix
    /// One memory block in the middle of what was plugged (of an even count the lower middle: the
    /// first of two, the second of four).
    case hole
    /// Every other memory block (the second, the fourth, ...).
    case holes

    /// Linux's memory block on x86-64 (at these sizes): the unit a guest offlines.
    public static let memoryBlockSize = 128 << 20

    /// The device offsets of the memory blocks to offline, of `pluggedBlocks` fully plugged ones
    /// from the device's start.
    public func blocksToOffline(pluggedBlocks: Int) -> [Int] {
        switch self {
        case .prefix: []
        case .hole: pluggedBlocks >= 2 ? [(pluggedBlocks - 1) / 2] : []
        case .holes: pluggedBlocks >= 2 ? Array(stride(from: 1, to: pluggedBlocks, by: 2)) : []
        }
    }
}
