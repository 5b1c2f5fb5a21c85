import Foundation
import LinuxMM
import PopulateBench

extension RealSnapshot {
    /// Before the snapshot, a control page at the start of each plugged run: QEMU's image must
    /// hold every one of them where it was written, or its reading is not to be trusted. Returns
    /// the device offsets written.
    func writeControlPages(pid: Int32, deviceStart: UInt, plugged: PluggedRanges) throws -> [Int] {
        let memory = try ProcessMemory(pid: pid)
        let page = ImageStamp.control.page()
        var written: [Int] = []
        for run in plugged.ranges {
            let wrote = try page.withUnsafeBytes { try memory.write($0, at: deviceStart + UInt(run.lowerBound)) }
            guard wrote else {
                throw Stop(status: .failed, reason: "the image check's control page at \(ByteSize.exact(run.lowerBound)) "
                    + "could not be written before the snapshot")
            }
            written.append(run.lowerBound)
        }
        return written
    }

    /// One stamp every 256 KiB: at most 4096 pages of a 1 GiB device.
    static let stampStride = 256 << 10

    /// Pages of the device's RAMBlock (the one of `spec.size` bytes) that QEMU's image holds
    /// stamped, once it has been seen to hold exactly the control pages written before.
    func lostWrites(inImage path: String, controls: [Int]) throws -> Int {
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        var stamped: [String: Set<Int>] = [:], controlled: [String: Set<Int>] = [:]
        let stream: MigrationStream
        do {
            stream = try MigrationStream(data) { block, offset, page in
                guard let page else { return }
                if ImageStamp.afterStart.matches(page) { stamped[block, default: []].insert(offset) }
                if ImageStamp.control.matches(page) { controlled[block, default: []].insert(offset) }
            }
        } catch {
            throw Stop(status: .failed, reason: "QEMU's image (\(data.count) bytes): \(error)")
        }
        let devices = stream.blocks.filter { $0.length == spec.size }
        guard devices.count == 1 else {
            throw Stop(status: .failed, reason: "QEMU's image: \(devices.count) RAMBlocks of \(ByteSize.format(spec.size)) "
                + "(\(stream.blocks.map { "\($0.name) \(ByteSize.format($0.length))" }.joined(separator: ", ")))")
        }
        let found = controlled[devices[0].name] ?? []
        guard found == Set(controls) else {
            throw Stop(status: .failed, reason: "QEMU's image holds \(found.count) of the \(controls.count) control pages "
                + "written before the snapshot (at \(found.sorted().prefix(4).map { ByteSize.exact($0) })): "
                + "its reading cannot be trusted")
        }
        return stamped[devices[0].name]?.count ?? 0
    }
}
