/// Where the guest's plugged memory ends up: Linux's virtio-mem driver plugs from the device's
/// start (`prefix`); the guest makes holes by offlining memory blocks, which the driver then
/// unplugs first when `requested-size` goes down (Linux 6.1's `virtio_mem_sbm_unplug_request`:
/// offline blocks before online ones, highest first).
public enum GuestLayout: String, CaseIterable, Sendable, Codable {
    case prefix
    /// One memory block in the middle of what was plugged.
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

/// The image check's stamp: pages of `PBSTAMP\n` over and over, which the harness writes into the
/// guest's memory once the snapshot has begun. A consistent image holds none of them.
public enum GuestStamp {
    static let word: UInt64 = {
        var value: UInt64 = 0
        for byte in Array("PBSTAMP\n".utf8).reversed() { value = value << 8 | UInt64(byte) }
        return value
    }()

    /// Whether `page` (4 KiB) is a stamp page.
    public static func isStamp(_ page: UnsafeRawBufferPointer) -> Bool {
        guard page.count >= 8 else { return false }
        let words = page.count / 8
        for index in 0 ..< words where page.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self) != word {
            return false
        }
        return true
    }
}
