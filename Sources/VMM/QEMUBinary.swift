import Foundation
import LinuxMM
import PopulateBench

/// A QEMU the harness can drive: an executable that says it is QEMU, of a version with background
/// snapshots (6.0+), whose preset the emulation runs, and where it came from.
public struct QEMUBinary: Sendable, Equatable {
    public var path: String
    public var version: QEMUVersion
    public var build: QEMUBuild

    public init(path: String, version: QEMUVersion, build: QEMUBuild) {
        self.path = path
        self.version = version
        self.build = build
    }

    /// Why a path is no usable QEMU, as one sentence.
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// `path`, or `qemu-system-x86_64` on `searchPath` (a `PATH` value) when nil, checked by
    /// running its `--version`.
    public static func locate(_ path: String?, searchPath: String) throws(Problem) -> QEMUBinary {
        let chosen: String
        if let path {
            chosen = path
        } else {
            guard let found = searchPath.split(separator: ":").map({ "\($0)/qemu-system-x86_64" })
                .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
                throw Problem(description: "no qemu-system-x86_64 on PATH (install it: scripts/setup.sh --qemu)")
            }
            chosen = found
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: chosen, isDirectory: &isDirectory), isDirectory.boolValue {
            throw Problem(description: "\(chosen) is a directory, not a QEMU binary")
        }
        guard FileManager.default.isExecutableFile(atPath: chosen) else {
            throw Problem(description: "\(chosen) is not an executable file")
        }
        let output: ChildProcess.Outcome
        do {
            output = try ChildProcess(path: chosen, arguments: ["--version"]).wait(timeout: 10)
        } catch {
            throw Problem(description: "cannot run \(chosen): \(error)")
        }
        let text = String(decoding: output.stdout, as: UTF8.self)
        guard output.termination == .exited(0), text.contains("QEMU"), let version = QEMUVersion(versionOutput: text) else {
            let said = text.split(separator: "\n").first.map { ": it said '\($0)'" } ?? ""
            throw Problem(description: "\(chosen) is not a QEMU binary (--version\(said.isEmpty ? " failed" : said))")
        }
        guard version.preset != nil else {
            throw Problem(description: "QEMU \(version.text) predates background snapshots (6.0)")
        }
        let build: QEMUBuild
        do {
            build = try QEMUBuild.describing(binaryAt: chosen, version: version)
        } catch {
            throw Problem(description: error.description)
        }
        for directory in build.dataDirectories where !FileManager.default.fileExists(atPath: directory) {
            throw Problem(description: "\(chosen) needs its firmware in \(directory), which is gone (run scripts/get-qemu.sh again)")
        }
        return QEMUBinary(path: chosen, version: version, build: build)
    }
}
