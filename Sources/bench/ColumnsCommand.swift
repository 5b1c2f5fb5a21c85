import ArgumentParser
import Foundation
import Results

/// The column registry for people and programs, and the docs made from it.
struct ColumnsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "columns",
        abstract: "Every column of every CSV bench writes: name, kind, unit and meaning.",
        discussion: "--format json is the schema scripts/plot.py reads (docs/columns.json); --format markdown the tables "
            + "of docs/cli.md. --update-docs DIR writes both into DIR (DIR/cli.md's column blocks, DIR/columns.json)."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case markdown, json
    }

    @Option(help: "markdown or json.")
    var format: Format = .markdown

    @Option(name: .customLong("update-docs"), help: ArgumentHelp("Rewrite DIR/cli.md's column blocks and DIR/columns.json.",
                                                                   valueName: "dir"))
    var updateDocs: String?

    func validate() throws {
        if let updateDocs, !FileManager.default.fileExists(atPath: "\(updateDocs)/cli.md") {
            throw ValidationError("--update-docs: no \(updateDocs)/cli.md")
        }
    }

    func run() throws {
        if let directory = updateDocs {
            let cli = "\(directory)/cli.md"
            let text = try String(contentsOfFile: cli, encoding: .utf8)
            let missing = ColumnCatalog.missingBlocks(in: text)
            if !missing.isEmpty {
                FileHandle.standardError.write(Data("bench columns: \(cli) has no block for \(missing.joined(separator: ", "))\n".utf8))
                throw ExitCode(1)
            }
            try ColumnCatalog.updatingBlocks(in: text).write(toFile: cli, atomically: true, encoding: .utf8)
            try ColumnCatalog.json().write(toFile: "\(directory)/columns.json", atomically: true, encoding: .utf8)
            print("bench columns: updated \(cli) and \(directory)/columns.json")
            return
        }
        switch format {
        case .json: print(try ColumnCatalog.json(), terminator: "")
        case .markdown:
            for table in ColumnCatalog.tables {
                print("## \(table.name): \(table.file)\n\n" + ColumnCatalog.markdown(table))
            }
        }
    }
}
