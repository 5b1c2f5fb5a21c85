import ArgumentParser

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measures what populating guest RAM for a userfaultfd-WP snapshot costs, and what skipping "
            + "discarded (virtio-mem unplugged) memory saves.",
        subcommands: [RunCommand.self, DoctorCommand.self, CompareCommand.self, ExportCommand.self, TrialCommand.self],
        defaultSubcommand: RunCommand.self
    )
}
