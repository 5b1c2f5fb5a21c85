import LinuxMM

/// Guest RAM of one backend, like QEMU's RAMBlock: allocated, discarded and torn down the way
/// QEMU does it.
public struct Region: Sendable {
    public let backend: Backend
    public let mapping: Mapping
    public let pageSize: Int
    /// The inaccessible window the mapping sits at the start of (see `Mapping.reserve`).
    let window: Mapping
    let file: FileDescriptor?

    public struct Request: Sendable {
        public var backend: Backend
        public var size: Int
        public var pageSize: Int
        public var thp: THPMode
        public var hugetlbfsPath: String?
        /// `MAP_NORESERVE` on file-backed memory (QEMU's `reserve=off`).
        public var noReserve: Bool

        public init(backend: Backend, size: Int, pageSize: Int, thp: THPMode, hugetlbfsPath: String? = nil,
                    noReserve: Bool = false) {
            self.backend = backend
            self.size = size
            self.pageSize = pageSize
            self.thp = thp
            self.hugetlbfsPath = hugetlbfsPath
            self.noReserve = noReserve
        }
    }

    public enum AllocationError: Error, CustomStringConvertible {
        case noHugetlbfsPath
        case notHugetlbfs(path: String, pageSize: Int)

        public var description: String {
            switch self {
            case .noHugetlbfsPath: "the hugetlbfs backend needs --hugetlbfs PATH"
            case let .notHugetlbfs(path, pageSize):
                "\(path) is not a hugetlbfs mount with \(ByteSize.format(pageSize)) pages"
            }
        }
    }

    /// Maps the region at the start of a window aligned to the span of one upper-level page table
    /// (512 GiB on x86-64): no other mapping shares its page tables, so every table it costs is
    /// counted, the same way on every run.
    public static func allocate(_ request: Request, geometry: PageTableGeometry = .x86_64) throws -> Region {
        let windowSize = roundUp(request.size, to: geometry.pudSpan)
        let window = try Mapping.reserve(length: windowSize, alignment: geometry.pudSpan)
        var file: FileDescriptor?
        do {
            let mapping: Mapping
            switch request.backend {
            case .anonPrivate:
                mapping = try Mapping.map(length: request.size, protection: [.read, .write],
                                          flags: [.private, .anonymous, .noReserve, .fixed], at: window.address)
            case .anonShared:
                mapping = try Mapping.map(length: request.size, protection: [.read, .write],
                                          flags: [.shared, .anonymous, .fixed], at: window.address)
            case .memfdShmem, .memfdHugetlb, .hugetlbfs:
                let fd = try openFile(request)
                file = fd
                try fd.truncate(to: request.size)
                mapping = try Mapping.map(length: request.size, protection: [.read, .write],
                                          flags: request.noReserve ? [.shared, .fixed, .noReserve] : [.shared, .fixed],
                                          file: fd, at: window.address)
            }
            if !request.backend.isHugetlb {
                switch request.thp {
                case .inherit: break
                case .huge: try mapping.advise(.hugePage)
                case .nohuge: try mapping.advise(.noHugePage)
                }
            }
            return Region(backend: request.backend, mapping: mapping, pageSize: request.pageSize,
                          window: window, file: file)
        } catch {
            try? file?.close()
            try? window.unmap()
            throw error
        }
    }

    private static func openFile(_ request: Request) throws -> FileDescriptor {
        switch request.backend {
        case .memfdShmem:
            return try MemFD.create(name: "populatebench-shmem", flags: .closeOnExec)
        case .memfdHugetlb:
            return try MemFD.create(name: "populatebench-hugetlb",
                                    flags: [.closeOnExec, .hugeTLB, .hugePageSize(request.pageSize)])
        case .hugetlbfs:
            guard let path = request.hugetlbfsPath else { throw AllocationError.noHugetlbfsPath }
            guard HugetlbfsFile.pageSize(ofMount: path) == request.pageSize else {
                throw AllocationError.notHugetlbfs(path: path, pageSize: request.pageSize)
            }
            return try HugetlbfsFile.createUnlinked(in: path)
        case .anonPrivate, .anonShared:
            preconditionFailure("anonymous backends have no file")
        }
    }

    public var size: Int { mapping.length }
    public var pageCount: Int { size / pageSize }

    public func slice(_ range: Range<Int>) -> Mapping {
        mapping.slice(offset: range.lowerBound, length: range.count)
    }

    /// Frees an unplugged range exactly as QEMU's `ram_block_discard_range` does for this backend.
    public func discard(_ range: Range<Int>) throws {
        let part = slice(range)
        switch backend {
        case .anonPrivate:
            try part.advise(.dontNeed)
        case .anonShared:
            try part.advise(.remove)
        case .memfdShmem:
            try file!.punchHole(offset: range.lowerBound, length: range.count)
            try part.advise(.dontNeed)
        case .memfdHugetlb, .hugetlbfs:
            // MADV_DONTNEED fails on hugetlb; punching the hole also unmaps the pages.
            try file!.punchHole(offset: range.lowerBound, length: range.count)
        }
    }

    /// Unmaps the region and its window and closes its file: a memfd or an unlinked hugetlbfs
    /// file frees its pages with the last reference.
    public func teardown() throws {
        try window.unmap()
        try file?.close(naming: "close(\(backend.rawValue) file)")
    }
}

func roundUp(_ value: Int, to multiple: Int) -> Int {
    (value + multiple - 1) / multiple * multiple
}
