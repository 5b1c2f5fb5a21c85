#if canImport(Glibc)
import Glibc
#endif
import CLinuxMM

/// A userfaultfd: write-protect tracking of a range, the mechanism of QEMU's background snapshot.
public struct Userfaultfd: Sendable {
    public let fileDescriptor: FileDescriptor
    /// What `UFFDIO_API` granted.
    public let features: Features

    /// Every feature bit the kernel's uAPI defines; the names are the kernel's, without `UFFD_FEATURE_`.
    public struct Features: OptionSet, Sendable, Hashable, Codable {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }

        public static let pagefaultFlagWP = Features(rawValue: 1 << 0)
        public static let eventFork = Features(rawValue: 1 << 1)
        public static let eventRemap = Features(rawValue: 1 << 2)
        public static let eventRemove = Features(rawValue: 1 << 3)
        public static let missingHugetlbfs = Features(rawValue: 1 << 4)
        public static let missingShmem = Features(rawValue: 1 << 5)
        public static let eventUnmap = Features(rawValue: 1 << 6)
        public static let sigbus = Features(rawValue: 1 << 7)
        public static let threadID = Features(rawValue: 1 << 8)
        public static let minorHugetlbfs = Features(rawValue: 1 << 9)
        public static let minorShmem = Features(rawValue: 1 << 10)
        public static let exactAddress = Features(rawValue: 1 << 11)
        /// Linux 5.19: write-protect on shmem and hugetlbfs (via PTE markers).
        public static let wpHugetlbfsShmem = Features(rawValue: 1 << 12)
        /// Linux 6.4: markers on empty anonymous entries, so no population is needed.
        public static let wpUnpopulated = Features(rawValue: 1 << 13)
        public static let poison = Features(rawValue: 1 << 14)
        /// Linux 6.7: the kernel resolves WP faults itself; `PAGEMAP_SCAN` finds written pages.
        public static let wpAsync = Features(rawValue: 1 << 15)
        public static let move = Features(rawValue: 1 << 16)
        /// Read-write protection tracking (`UFFDIO_RWPROTECT`), found in Debian's 7.3 and not in 6.18.
        public static let readWriteProtect = Features(rawValue: 1 << 17)
        /// Its asynchronous mode: the kernel restores access itself, as `WP_ASYNC` does for writes.
        public static let readWriteProtectAsync = Features(rawValue: 1 << 18)

        public static let named: [(feature: Features, name: String)] = [
            (.pagefaultFlagWP, "PAGEFAULT_FLAG_WP"), (.eventFork, "EVENT_FORK"), (.eventRemap, "EVENT_REMAP"),
            (.eventRemove, "EVENT_REMOVE"), (.missingHugetlbfs, "MISSING_HUGETLBFS"),
            (.missingShmem, "MISSING_SHMEM"), (.eventUnmap, "EVENT_UNMAP"), (.sigbus, "SIGBUS"),
            (.threadID, "THREAD_ID"), (.minorHugetlbfs, "MINOR_HUGETLBFS"), (.minorShmem, "MINOR_SHMEM"),
            (.exactAddress, "EXACT_ADDRESS"), (.wpHugetlbfsShmem, "WP_HUGETLBFS_SHMEM"),
            (.wpUnpopulated, "WP_UNPOPULATED"), (.poison, "POISON"), (.wpAsync, "WP_ASYNC"), (.move, "MOVE"),
            (.readWriteProtect, "RWP"), (.readWriteProtectAsync, "RWP_ASYNC"),
        ]

        /// The Linux release that brought each feature (include/uapi/linux/userfaultfd.h's history).
        public static let linuxVersion: [Features: String] = [
            .eventFork: "4.11", .eventRemap: "4.11", .eventRemove: "4.11", .eventUnmap: "4.11",
            .missingHugetlbfs: "4.11", .missingShmem: "4.11", .sigbus: "4.14", .threadID: "4.14",
            .minorHugetlbfs: "5.13", .minorShmem: "5.14", .exactAddress: "5.18", .wpHugetlbfsShmem: "5.19",
            .wpUnpopulated: "6.4", .poison: "6.6", .wpAsync: "6.7", .move: "6.8",
        ]

        /// Each bit set as `UFFD_FEATURE_<NAME> (Linux X.Y)`, lowest bit first: what a skip names.
        public var requirementNames: [String] {
            Self.named.filter { contains($0.feature) }.map { named in
                "UFFD_FEATURE_\(named.name)" + (Self.linuxVersion[named.feature].map { " (Linux \($0))" } ?? "")
            }
        }

        /// The kernel's names of the bits set, lowest bit first; unknown bits as `bit<N>`.
        public var names: [String] {
            var result = Self.named.filter { contains($0.feature) }.map(\.name)
            let known = Self.named.reduce(Features()) { $0.union($1.feature) }
            var unknown = subtracting(known).rawValue
            while unknown != 0 {
                let bit = unknown.trailingZeroBitCount
                result.append("bit\(bit)")
                unknown &= unknown - 1
            }
            return result
        }
    }

    public struct OpenFlags: OptionSet, Sendable {
        public let rawValue: CInt
        public init(rawValue: CInt) { self.rawValue = rawValue }
        public static let closeOnExec = OpenFlags(rawValue: O_CLOEXEC)
        /// Needed for `poll`: a blocking userfaultfd makes `poll` report POLLERR at once.
        public static let nonBlocking = OpenFlags(rawValue: O_NONBLOCK)
        /// Lets unprivileged users in when `vm.unprivileged_userfaultfd=0`; only user faults are reported.
        public static let userModeOnly = OpenFlags(rawValue: clmm_uffd_user_mode_only)
        public static let standard: OpenFlags = [.closeOnExec, .nonBlocking, .userModeOnly]
    }

    /// Opens a userfaultfd and negotiates `features` with `UFFDIO_API`. `UFFD_USER_MODE_ONLY` came
    /// with Linux 5.11; an older kernel rejects the unknown flag with `EINVAL`, and is asked again
    /// without it (it reports kernel faults too, which the harness never causes).
    /// The corresponding C functions are `userfaultfd` and `ioctl(UFFDIO_API)`.
    public static func open(features: Features, flags: OpenFlags = .standard) throws(SystemCallError) -> Userfaultfd {
        let raw: CInt
        do {
            raw = try valueOrThrow("userfaultfd") { clmm_userfaultfd(flags.rawValue) }
        } catch where error.errno == EINVAL && flags.contains(.userModeOnly) {
            raw = try valueOrThrow("userfaultfd") { clmm_userfaultfd(flags.subtracting(.userModeOnly).rawValue) }
        }
        let fd = FileDescriptor(rawValue: raw)
        var api = uffdio_api(api: UInt64(UFFD_API), features: features.rawValue, ioctls: 0)
        do {
            _ = try valueOrThrow("ioctl(UFFDIO_API)") { clmm_uffdio_api(fd.rawValue, &api) }
        } catch {
            try? fd.close()
            throw error
        }
        return Userfaultfd(fileDescriptor: fd, features: Features(rawValue: api.features))
    }

    /// What the kernel offers: `UFFDIO_API` with no features asked reports every feature it has.
    public static func availableFeatures() throws(SystemCallError) -> Features {
        let probe = try open(features: [])
        defer { try? probe.close() }
        return probe.features
    }

    public struct RegisterMode: OptionSet, Sendable {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        public static let writeProtect = RegisterMode(rawValue: UInt64(UFFDIO_REGISTER_MODE_WP))
    }

    /// The corresponding C function is `ioctl(UFFDIO_REGISTER)`.
    public func register(_ range: Mapping, mode: RegisterMode) throws(SystemCallError) {
        var request = uffdio_register(range: uffdio_range(start: UInt64(range.address), len: UInt64(range.length)),
                                      mode: mode.rawValue, ioctls: 0)
        _ = try valueOrThrow("ioctl(UFFDIO_REGISTER)") { clmm_uffdio_register(fileDescriptor.rawValue, &request) }
    }

    /// Ends the registration of a range: its protection goes with it, and a thread waiting on one
    /// of its faults is woken. The corresponding C function is `ioctl(UFFDIO_UNREGISTER)`.
    public func unregister(_ range: Mapping) throws(SystemCallError) {
        var request = uffdio_range(start: UInt64(range.address), len: UInt64(range.length))
        _ = try valueOrThrow("ioctl(UFFDIO_UNREGISTER)") { clmm_uffdio_unregister(fileDescriptor.rawValue, &request) }
    }


    /// Sets (`true`) or clears write protection on a registered range; clearing wakes the faulting
    /// thread unless `wake` is false. The corresponding C function is `ioctl(UFFDIO_WRITEPROTECT)`.
    public func writeProtect(_ range: Mapping, _ protect: Bool, wake: Bool = true) throws(SystemCallError) {
        var mode: UInt64 = protect ? UInt64(UFFDIO_WRITEPROTECT_MODE_WP) : 0
        if !wake { mode |= UInt64(UFFDIO_WRITEPROTECT_MODE_DONTWAKE) }
        var request = uffdio_writeprotect(range: uffdio_range(start: UInt64(range.address), len: UInt64(range.length)),
                                          mode: mode)
        _ = try valueOrThrow("ioctl(UFFDIO_WRITEPROTECT)") {
            clmm_uffdio_writeprotect(fileDescriptor.rawValue, &request)
        }
    }


    public func close() throws(SystemCallError) { try fileDescriptor.close(naming: "close(userfaultfd)") }
}

extension Userfaultfd {
    /// A fault the kernel reports: the faulting address and whether it was a write-protect fault.
    public struct PageFault: Equatable, Sendable {
        public var address: UInt
        public var isWriteProtect: Bool
    }

    /// Waits up to `milliseconds` for messages. The corresponding C function is `poll`.
    public func waitForMessages(milliseconds: Int32) throws(SystemCallError) -> Bool {
        var descriptor = pollfd(fd: fileDescriptor.rawValue, events: Int16(POLLIN), revents: 0)
        let ready = try valueOrThrow("poll(userfaultfd)") { poll(&descriptor, 1, milliseconds) }
        if ready > 0 && descriptor.revents & Int16(POLLERR | POLLHUP) != 0 {
            throw SystemCallError(call: "poll(userfaultfd): POLLERR", errno: EIO)
        }
        return ready > 0
    }

    /// Reads the page-fault messages queued now (other events are skipped); empty when none.
    /// The corresponding C function is `read` of `struct uffd_msg`.
    public func readPageFaults(maximum: Int = 64) throws(SystemCallError) -> [PageFault] {
        let size = MemoryLayout<uffd_msg>.size
        var buffer = [UInt8](repeating: 0, count: size * maximum)
        let count: Int
        do {
            count = try systemCall("read(userfaultfd)") {
                try buffer.withUnsafeMutableBytes { try fileDescriptor.read(into: $0, retryOnInterrupt: false) }
            }
        } catch where error.errno == EAGAIN || error.errno == EINTR {
            return []
        }
        return buffer.withUnsafeBytes { raw in
            (0 ..< count / size).compactMap { index -> PageFault? in
                let message = raw.loadUnaligned(fromByteOffset: index * size, as: uffd_msg.self)
                guard message.event == UInt8(UFFD_EVENT_PAGEFAULT) else { return nil }
                let fault = message.arg.pagefault
                return PageFault(address: UInt(fault.address),
                                 isWriteProtect: fault.flags & UInt64(UFFD_PAGEFAULT_FLAG_WP) != 0)
            }
        }
    }
}
