import Foundation
import LinuxMM
import PopulateBench

extension RealSnapshot {
    /// Offlines the layout's memory blocks in the guest, then lowers `requested-size` by as much:
    /// the driver unplugs offline blocks first.
    func makeHoles(_ machine: QEMUMachine, qmp: QMPClient, requested: Int, plugged: PluggedRanges,
                           into result: inout Result, cancelled: @escaping @Sendable () -> Bool) throws {
        let block = GuestLayout.memoryBlockSize
        let prefix = plugged.ranges.first.map { $0.lowerBound == 0 ? $0.count / block : 0 } ?? 0
        // Nothing plugged (a 0 fraction): no hole to make, and none missing.
        guard plugged.pluggedBytes > 0 else { return }
        let offsets = layout.blocksToOffline(pluggedBlocks: prefix).map { $0 * block }
        guard !offsets.isEmpty else {
            throw Stop(status: .failed, reason: "no hole to make: the guest plugged \(plugged.ranges.map(PluggedRanges.format)) "
                + "(\(layout.rawValue) needs two whole memory blocks from the device's start)")
        }
        guard spec.guest.takesCommands else {
            throw Stop(status: .failed, reason: "the guest takes no commands (build it again: scripts/qemu-real.sh --guest-only)")
        }
        let base = result.deviceAddress ?? 0
        try waitForCommandPort(machine, cancelled: cancelled)
        for offset in offsets {
            let number = (base + offset) / block
            try machine.tellGuest("offline \(number)")
            let said = try wait("waiting for the guest to offline memory\(number)", timeout: timeouts.plug, machine: machine,
                                cancelled: cancelled) { () -> String? in
                machine.consoleLine { $0 == "@@@ OFFLINED \(number)" || $0.hasPrefix("@@@ FAILED offline \(number):") }
            }
            guard said.hasPrefix("@@@ OFFLINED") else { throw Stop(status: .failed, reason: "the guest: \(said.dropFirst(4))") }
        }
        let lowered = requested - offsets.count * block
        let _: QMPClient.Empty = try qmp.execute("qom-set", arguments: QMPClient.PropertySet(
            path: "/machine/peripheral/vm0", property: "requested-size", value: lowered))
        _ = try wait("waiting for the guest to unplug \(offsets.count) offline blocks", timeout: timeouts.plug,
                     machine: machine, cancelled: cancelled) { () -> Int? in
            let devices: [QMPClient.MemoryDevice] = try qmp.execute("query-memory-devices")
            return devices.first(where: { $0.type == "virtio-mem" })?.data.size == lowered ? lowered : nil
        }
        result.plugged = try wait("reading the guest's unplugging lines", timeout: 10, machine: machine,
                                  cancelled: cancelled) { () -> PluggedRanges? in
            let ranges = try GuestConsole.pluggedRanges(machine.console, deviceAddress: base)
            return ranges.pluggedBytes == lowered ? ranges : nil
        }
        result.offlined = offsets
    }
}
