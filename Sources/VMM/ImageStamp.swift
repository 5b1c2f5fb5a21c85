/// The image check's two page patterns, each an 8-byte word over and over: the stamp the harness
/// writes once the snapshot has begun (a consistent image holds none), and the control it writes
/// before (a sound reading of the image finds every one).
public enum ImageStamp: Sendable {
    case afterStart
    case control

    var word: UInt64 {
        var value: UInt64 = 0
        for byte in Array((self == .afterStart ? "PBSTAMP\n" : "PBCTRL!\n").utf8).reversed() {
            value = value << 8 | UInt64(byte)
        }
        return value
    }

    /// Whether `page` is all this pattern.
    public func matches(_ page: UnsafeRawBufferPointer) -> Bool {
        guard page.count >= 8 else { return false }
        let word = word
        for index in 0 ..< page.count / 8 where page.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self) != word {
            return false
        }
        return true
    }

    /// A 4 KiB page of the pattern, to write.
    public func page() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 4096)
        let word = word
        bytes.withUnsafeMutableBytes { raw in
            for index in 0 ..< 512 { raw.storeBytes(of: word, toByteOffset: index * 8, as: UInt64.self) }
        }
        return bytes
    }
}
