import ArgumentParser
import Foundation
import PopulateBench

/// The child's side of a trial: the parent re-executes `bench` with this hidden subcommand.
struct TrialCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: ChildTrialLauncher.subcommand,
        abstract: "Run one trial from a JSON request on stdin (used by bench run).",
        shouldDisplay: false
    )

    func run() throws {
        throw ExitCode(ChildTrialLauncher.serveRequest())
    }
}
