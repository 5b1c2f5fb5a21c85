/// The monitored `/proc/vmstat` counters at one moment, system-wide and, where a monitor asks for
/// them, per memory node; or the change between two such moments. One value for every monitor
/// (a trial's phase edges, `bench qemu`'s real snapshot, `bench watch`'s two ends).
public struct VMStatReading: Sendable, Codable, Equatable {
    public var system: [String: Int]
    /// Each node's own counters (`VMStat.readNodes`); empty unless nodes were asked for.
    public var nodes: [Int: [String: Int]]

    public init(system: [String: Int], nodes: [Int: [String: Int]] = [:]) {
        self.system = system
        self.nodes = nodes
    }

    /// The `counters` now, and each of `nodes`' own; nil when no counter is monitored.
    public static func read(_ counters: [String], nodes: [Int] = []) throws(SystemCallError) -> VMStatReading? {
        guard !counters.isEmpty else { return nil }
        let names = Set(counters)
        return VMStatReading(system: try VMStat.read(names), nodes: try VMStat.readNodes(nodes, names))
    }

    /// Each counter's change from `start` to this reading, system-wide and per node.
    public func change(from start: VMStatReading) -> VMStatReading {
        VMStatReading(system: VMStat.change(from: start.system, to: system), nodes: VMStat.change(from: start.nodes, to: nodes))
    }
}
