/// What the guest's own writers felt during a real snapshot (`bench qemu --guest-writers`): every
/// write timed inside the guest, in buckets of 100 ns (the maximum exact). Under TCG the times are
/// the emulator's: compare programs with each other, not with a host.
public struct GuestWriteLatency: Codable, Sendable, Equatable {
    public var writes: Int
    public var p50Nanoseconds: Int
    public var p99Nanoseconds: Int
    public var maxNanoseconds: Int

    public init(writes: Int, p50Nanoseconds: Int, p99Nanoseconds: Int, maxNanoseconds: Int) {
        self.writes = writes
        self.p50Nanoseconds = p50Nanoseconds
        self.p99Nanoseconds = p99Nanoseconds
        self.maxNanoseconds = maxNanoseconds
    }

    /// Reads the guest's `@@@ WRITES COUNT P50_NS P99_NS MAX_NS` line.
    public init?(consoleLine line: some StringProtocol) {
        let fields = line.split(separator: " ")
        guard fields.count == 6, fields[0] == "@@@", fields[1] == "WRITES" else { return nil }
        let numbers = fields[2...].compactMap { Int($0) }
        guard numbers.count == 4, numbers.allSatisfy({ $0 >= 0 }), numbers[1] <= numbers[2], numbers[2] <= numbers[3] else {
            return nil
        }
        self.init(writes: numbers[0], p50Nanoseconds: numbers[1], p99Nanoseconds: numbers[2], maxNanoseconds: numbers[3])
    }
}
