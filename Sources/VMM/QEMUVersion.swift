import PopulateBench

/// A QEMU binary's version, from `qemu-system-x86_64 --version`, and the harness's preset that
/// reproduces what that version populates and protects for a background snapshot.
public struct QEMUVersion: Equatable, Sendable {
    public var major: Int
    public var minor: Int
    public var micro: Int
    /// The distribution's package, as QEMU prints it in parentheses (`Debian 1:7.2+dfsg-7+deb12u18+b3`).
    public var package: String

    public init(major: Int, minor: Int, micro: Int, package: String = "") {
        self.major = major
        self.minor = minor
        self.micro = micro
        self.package = package
    }

    /// Parses `QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)`.
    public init?(versionOutput text: String) {
        guard let line = text.split(separator: "\n").first(where: { $0.contains("version ") }),
              let marker = line.range(of: "version ") else { return nil }
        let rest = line[marker.upperBound...]
        let number = rest.prefix { $0.isNumber || $0 == "." }
        let parts = number.split(separator: ".").compactMap { Int($0) }
        guard parts.count >= 2 else { return nil }
        var package = ""
        if let open = rest.firstIndex(of: "("), let close = rest.lastIndex(of: ")"), open < close {
            package = String(rest[rest.index(after: open) ..< close])
        }
        self.init(major: parts[0], minor: parts[1], micro: parts.count > 2 ? parts[2] : 0, package: package)
    }

    public var text: String { "\(major).\(minor).\(micro)" + (package.isEmpty ? "" : " (\(package))") }

    /// Debian's 7.2 packages carry "migration/ram: Fix populate_read_range()" from 1:7.2+dfsg-3
    /// on (changelog of 10 Feb 2023), whatever micro version they report.
    var debianCarriesPopulateFix: Bool {
        guard major == 7, minor == 2, let range = package.range(of: "7.2+dfsg-") else { return false }
        return Int(package[range.upperBound...].prefix { $0.isNumber }).map { $0 >= 3 } ?? false
    }

    /// The preset that does what this version does, and why (its upstream line in the strategies'
    /// declarations); nil before background snapshots (6.0).
    public var preset: (strategy: Strategy, because: String)? {
        let release = QEMURelease(major, minor, micro)
        guard let upstream = Strategy.upstream(at: release) else { return nil }
        // Debian's 7.2 packages before 7.2.1 carry the fix of the populate loop's bound.
        if debianCarriesPopulateFix,
           let fixed = Strategy.upstreamLine.first(where: { $0.commit == .fixPopulateReadRange }), release < fixed.since {
            return (fixed.strategy, "\(text) carries Debian's migration-ram-Fix-populate_read_range.patch")
        }
        return (upstream.strategy, "\(text) \(upstream.does)")
    }
}
