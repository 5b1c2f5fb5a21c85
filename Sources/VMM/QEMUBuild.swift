import Foundation
import PopulateBench

/// Where a QEMU binary came from: the distribution's package, a backport unpacked beside it, or a
/// build from source with or without a patch. `scripts/get-qemu.sh` writes it into
/// `populatebench-build` beside each binary it makes; a binary without that file is described by
/// its `--version` alone.
public struct QEMUBuild: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Debian's `qemu-system-x86` (or another distribution's package).
        case debian
        /// `qemu-system-x86` from bookworm-backports, unpacked with `dpkg -x`.
        case backports
        /// Built from source without a patch of the harness's.
        case source
        /// Built from source with a patch (`qemu_patch` names the file).
        case patched
    }

    public var kind: Kind
    /// The patch file's name, empty without one.
    public var patch: String
    /// The preset the patch says emulates it (its `PopulateBench-Preset:` line), if any.
    public var claimedPreset: Strategy?
    /// The `-L` directories the binary needs for its firmware (a binary outside `/usr` does not
    /// find Debian's SeaBIOS and option ROMs by itself).
    public var dataDirectories: [String]

    public init(kind: Kind, patch: String = "", claimedPreset: Strategy? = nil, dataDirectories: [String] = []) {
        self.kind = kind
        self.patch = patch
        self.claimedPreset = claimedPreset
        self.dataDirectories = dataDirectories
    }

    public static let descriptionFileName = "populatebench-build"

    /// Why a `populatebench-build` file cannot be used, as one sentence.
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The build of the binary at `path`: its `populatebench-build` file if it has one, else what
    /// its version says (a distribution's package string: `debian`, with `~bpo`: `backports`;
    /// none: `source`).
    public static func describing(binaryAt path: String, version: QEMUVersion) throws(Problem) -> QEMUBuild {
        let file = (path as NSString).deletingLastPathComponent + "/" + descriptionFileName
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            if version.package.contains("~bpo") { return QEMUBuild(kind: .backports) }
            return QEMUBuild(kind: version.package.isEmpty ? .source : .debian)
        }
        return try parse(text, file: file)
    }

    /// Parses the `key=value` lines of a `populatebench-build` file (`#` starts a comment).
    public static func parse(_ text: String, file: String) throws(Problem) -> QEMUBuild {
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let equals = line.firstIndex(of: "=") else {
                throw Problem(description: "\(file): '\(line)' is not key=value")
            }
            values[String(line[..<equals]).trimmingCharacters(in: .whitespaces)] =
                String(line[line.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
        }
        guard let kindText = values["build"], let kind = Kind(rawValue: kindText) else {
            throw Problem(description: "\(file): build=\(values["build"] ?? "") is not one of "
                + Kind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        var preset: Strategy?
        if let name = values["preset"], !name.isEmpty {
            guard let named = Strategy(rawValue: name) else {
                throw Problem(description: "\(file): preset=\(name) is not a strategy of this harness")
            }
            preset = named
        }
        let directories = (values["datadir"] ?? "").split(separator: ":").map(String.init)
        return QEMUBuild(kind: kind, patch: values["patch"] ?? "", claimedPreset: preset, dataDirectories: directories)
    }
}
