import ArgumentParser
import Foundation
import LinuxMM

enum OutputPath {
    /// An output file must be creatable before anything runs: bad input writes nothing. The CSV's
    /// missing directories are made; `--snapshot-out` is opened by each trial as given.
    static func checkWritable(_ path: String, flag: String, createsDirectories: Bool) throws {
        guard !path.isEmpty else { throw ValidationError("\(flag): the path is empty") }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ValidationError("\(flag): \(path) is a directory, not a file")
        }
        var directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        while createsDirectories && !FileManager.default.fileExists(atPath: directory.path) {
            directory = directory.deletingLastPathComponent()
        }
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue,
              FileAccess.isWritable(directory.path) else {
            throw ValidationError("\(flag): cannot write \(path): \(directory.path) is not a writable directory")
        }
    }
}
