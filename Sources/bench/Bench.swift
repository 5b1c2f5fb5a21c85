import ArgumentParser

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measures what populating guest RAM for a userfaultfd-WP snapshot costs, and what skipping "
            + "discarded (virtio-mem unplugged) memory saves.",
        subcommands: [RunCommand.self, DoctorCommand.self, CompareCommand.self, ExportCommand.self, WatchCommand.self,
                      QEMUCommand.self, ColumnsCommand.self],
        defaultSubcommand: RunCommand.self
    )
}

/// The exit code a command gives input it cannot use. Most commands follow docs/cli.md's 2; a gate
/// whose 2 already means "regression" (compare, as package-benchmark's baseline check) says 1.
protocol BadInputExitCode {
    static var badInputExitCode: Int32 { get }
}

extension BadInputExitCode {
    static var badInputExitCode: Int32 { 2 }
}
