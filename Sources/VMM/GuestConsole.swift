import Foundation
import LinuxMM
import PopulateBench

/// What the guest says on its console.
public enum GuestConsole {
    public struct Unreadable: Error, CustomStringConvertible {
        public var description: String
    }

    /// What the driver's `virtio_mem virtio0: plugging memory: 0x100000000 - 0x107ffffff` and
    /// `unplugging memory: ...` lines (guest-physical, end included) leave plugged, in their order,
    /// as offsets into the device at `deviceAddress`.
    public static func pluggedRanges(_ console: String, deviceAddress: Int) throws -> PluggedRanges {
        var plugged: [Range<Int>] = []
        for line in console.split(whereSeparator: \.isNewline) where line.contains("plugging memory:") {
            let unplugging = line.contains("unplugging memory:")
            let text = line[line.range(of: "plugging memory:")!.upperBound...]
            let bounds = text.split(separator: "-").map { $0.trimmingCharacters(in: .whitespaces) }
            guard bounds.count == 2, bounds.allSatisfy({ $0.hasPrefix("0x") }),
                  let first = Int(bounds[0].dropFirst(2), radix: 16), let last = Int(bounds[1].dropFirst(2), radix: 16),
                  first >= deviceAddress, last >= first else {
                throw Unreadable(description: "cannot read the guest's line '\(line)'")
            }
            let range = first - deviceAddress ..< last + 1 - deviceAddress
            // Cut the range out of what is plugged, then add it back when plugging.
            plugged = plugged.flatMap { run -> [Range<Int>] in
                guard run.overlaps(range) else { return [run] }
                return [run.lowerBound ..< range.lowerBound, range.upperBound ..< run.upperBound].filter { !$0.isEmpty }
            }
            if !unplugging { plugged.append(range) }
        }
        do {
            return try PluggedRanges(plugged)
        } catch {
            throw Unreadable(description: "the guest's plugging lines: \(error)")
        }
    }
}
