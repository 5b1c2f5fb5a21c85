import ArgumentParser
import Foundation

// Bad input is one line and the command's own exit code (docs/cli.md), not ArgumentParser's usage
// block and 64. Help, version and completion scripts are successes and print as ArgumentParser prints them.
do {
    var command = try Bench.parseAsRoot()
    try command.run()
} catch let code as ExitCode {
    exit(code.rawValue)
} catch {
    if Bench.exitCode(for: error) == .success {
        Bench.exit(withError: error)
    }
    let message = Bench.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
    FileHandle.standardError.write(Data("bench: \(message)\n".utf8))
    exit(BadInputCommand.exitCode(arguments: CommandLine.arguments))
}

/// Which command the bad input was meant for: parsing failed, so no command instance exists to ask.
enum BadInputCommand {
    static func exitCode(arguments: [String]) -> Int32 {
        let subcommands = Bench.configuration.subcommands
        let named = arguments.dropFirst().first.flatMap { name in
            subcommands.first { $0.configuration.commandName == name }
        }
        let command = named ?? Bench.configuration.defaultSubcommand
        return (command as? BadInputExitCode.Type)?.badInputExitCode ?? 2
    }
}
