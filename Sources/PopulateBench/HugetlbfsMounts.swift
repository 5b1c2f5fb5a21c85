import LinuxMM

/// hugetlbfs mounts, from `/proc/mounts`, so the hugetlbfs backend runs where one exists.
public enum HugetlbfsMounts {
    /// Mount points of hugetlbfs with their page sizes.
    public static func all(mountsText: String? = try? ProcFile.read("/proc/mounts")) -> [(path: String, pageSize: Int)] {
        (mountsText ?? "").split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count >= 3, fields[2] == "hugetlbfs" else { return nil }
            let path = String(fields[1]).replacing("\\040", with: " ")
            guard let size = HugetlbfsFile.pageSize(ofMount: path) else { return nil }
            return (path, size)
        }
    }

    public static func find(pageSize: Int) -> String? {
        all().first { $0.pageSize == pageSize }?.path
    }
}
