import ArgumentParser
import Foundation

// Bad input is one line and exit 2 (CONTRACT.md), not ArgumentParser's usage block and 64.
do {
    var command = try Bench.parseAsRoot()
    try command.run()
} catch {
    if Bench.exitCode(for: error) == .success {
        Bench.exit(withError: error)
    }
    if let code = error as? ExitCode {
        exit(code.rawValue)
    }
    let message = Bench.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
    FileHandle.standardError.write(Data("bench: \(message)\n".utf8))
    // compare's 2 means "regression" (package-benchmark's codes): its unusable input is 1.
    exit(CommandLine.arguments.dropFirst().first == "compare" ? 1 : 2)
}
