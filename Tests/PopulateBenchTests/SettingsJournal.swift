import Foundation
import LinuxMM
import Testing

/// The original value of every system setting a test changes, written down before the change and
/// struck out after it is put back. A run killed in between (SIGKILL, a CI limit, a second Ctrl-C)
/// leaves the journal behind; the next test run, or `scripts/setup.sh --restore`, puts those
/// values back and says so. One line a setting: `sysfs<TAB>path<TAB>original value`.
struct SettingsJournal: Sendable {
    static let shared = SettingsJournal(
        path: ProcessInfo.processInfo.environment["POPULATEBENCH_TEST_JOURNAL"] ?? "/run/populatebench-test-journal")

    let path: String

    struct Entry: Equatable, Sendable {
        var setting: String
        var original: String
    }

    func entries() throws -> [Entry] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 3, fields[0] == "sysfs" else { throw MalformedJournal(path: path, line: String(line)) }
            return Entry(setting: String(fields[1]), original: String(fields[2]))
        }
    }

    /// Writes `setting`'s original value down, on disk, before the caller changes it. A setting
    /// already in the journal keeps its first (the host's) value.
    func record(_ setting: String, original: String) throws {
        guard try !entries().contains(where: { $0.setting == setting }) else { return }
        let line = "sysfs\t\(setting)\t\(original)\n"
        if !FileManager.default.fileExists(atPath: path) {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw SystemCallError(call: "creating \(path)", errno: errno)
            }
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(line.utf8))
        try handle.synchronize()
    }

    /// Strikes `setting` out once its original value is back.
    func forget(_ setting: String) throws {
        let kept = try entries().filter { $0.setting != setting }
        if kept.isEmpty {
            try? FileManager.default.removeItem(atPath: path)
        } else {
            try Data(kept.map { "sysfs\t\($0.setting)\t\($0.original)\n" }.joined().utf8).write(to: URL(fileURLWithPath: path))
        }
    }

    /// Puts back, newest first, what a run that did not finish left changed; returns what it put back.
    func recover() throws -> [Entry] {
        let left = try entries()
        for entry in left.reversed() {
            try SettingsFile.write(entry.setting, entry.original)
            try forget(entry.setting)
        }
        return left
    }
}

struct MalformedJournal: Error, CustomStringConvertible {
    var path: String
    var line: String
    var description: String { "\(path): '\(line)' is not 'sysfs<TAB>path<TAB>value' (remove the file by hand)" }
}

/// A sysfs or procfs setting: the selected word of a `[bracketed]` choice, or the whole value.
enum SettingsFile {
    static func read(_ path: String) throws -> String {
        let text = try ProcFile.read(path).trimmingCharacters(in: .whitespacesAndNewlines)
        return SysfsMM.selected(in: text) ?? text
    }

    static func write(_ path: String, _ value: String) throws {
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw SystemCallError(call: "open(\(path))", errno: errno)
        }
        defer { try? handle.close() }
        try handle.write(contentsOf: Data(value.utf8))
    }
}

/// Before the first kernel test: what a killed run left changed is put back, and the run says so
/// on standard error (Swift Testing shows no output of a passing test otherwise).
struct RecoversKilledRunSettings: SuiteTrait, TestScoping {
    static let recovery: Result<[SettingsJournal.Entry], any Error> = Result {
        // Another test run still going owns the journal: its settings are not left over.
        guard otherTestRun() == nil else { return [] }
        return try SettingsJournal.shared.recover()
    }

    /// A process of this test binary other than this one, by its `comm`.
    static func otherTestRun() -> Int32? {
        let me = getpid()
        guard let ownName = try? ProcFile.read("/proc/self/comm") else { return nil }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap(Int32.init).first { pid in
            pid != me && (try? ProcFile.read("/proc/\(pid)/comm")) == ownName
        }
    }

    func provideScope(for test: Test, testCase: Test.Case?,
                      performing function: @Sendable () async throws -> Void) async throws {
        switch Self.recovery {
        case .success(let restored):
            for entry in restored {
                FileHandle.standardError.write(Data(("PopulateBench tests: put back \(entry.setting) = \(entry.original) "
                    + "(left changed by a test run that was killed)\n").utf8))
            }
        case .failure(let error):
            Issue.record("the settings journal of a killed run could not be replayed: \(error)")
        }
        try await function()
    }
}

extension Trait where Self == RecoversKilledRunSettings {
    /// Puts back what a killed test run left changed, before the suite runs.
    static var recoversKilledRunSettings: Self { Self() }
}
