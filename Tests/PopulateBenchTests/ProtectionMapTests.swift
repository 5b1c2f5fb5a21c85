import Foundation
import LinuxMM
import Testing
@testable import PopulateBench

extension KernelTests {
    /// What `bench qemu` reads of QEMU while the copy is held, read here of this process: the
    /// pagemap's present and uffd-wp bits over a protected region, and a write through
    /// `/proc/PID/mem` that the kernel lets through where protection does not track the page and
    /// refuses where it does.
    @Suite(needs(.root), needs(.uffdWP)) struct ProtectionMapOfAProcess {
        @Test func untrackedPagesAreThoseNeitherPresentNorProtected() throws {
            let size = 8 << 20
            let region = try Region.allocate(.init(backend: .anonPrivate, size: size, pageSize: 4096, thp: .nohuge))
            defer { try? region.teardown() }
            // The first 2 MiB read (the zeropage), the next 2 MiB written, the rest never touched.
            Population.touch(region.slice(0 ..< 2 << 20), stride: 4096)
            region.slice(2 << 20 ..< 4 << 20).base.initializeMemory(as: UInt8.self, repeating: 7, count: 2 << 20)
            let uffd = try Userfaultfd.open(features: [.pagefaultFlagWP])
            defer { try? uffd.close() }
            try uffd.register(region.mapping, mode: .writeProtect)
            try uffd.writeProtect(region.mapping, true)

            let map = try ProcessPagemap.protectionMap(pid: getpid(), start: region.mapping.address,
                                                       runs: [0 ..< size])
            // Without WP_UNPOPULATED anonymous protection marks present entries only: 4 MiB.
            #expect(map.populatedBytes == 4 << 20 && map.protectedBytes == 4 << 20, "\(map)")
            #expect(map.unprotectedEmptyBytes == 4 << 20 && map.unprotectedEmptyRuns == [4 << 20 ..< size])

            let memory = try ProcessMemory(pid: getpid())
            var stamp = [UInt8](repeating: 0x5A, count: 4096)  // withUnsafeMutableBytes needs a var
            // A protected page, read or written before: the kernel cannot wait for the handler
            // from a remote access, so it refuses. An untouched, unprotected page takes the write.
            let refused = try stamp.withUnsafeMutableBytes {
                try memory.write(UnsafeRawBufferPointer($0), at: region.mapping.address + UInt(3 << 20))
            }
            let landed = try stamp.withUnsafeMutableBytes {
                try memory.write(UnsafeRawBufferPointer($0), at: region.mapping.address + UInt(6 << 20))
            }
            #expect(!refused && landed)
            #expect(region.mapping.base.load(fromByteOffset: 3 << 20, as: UInt8.self) == 7)
            #expect(region.mapping.base.load(fromByteOffset: 6 << 20, as: UInt8.self) == 0x5A)
        }
    }
}
