import PopulateBench

/// The strategies and backends as docs/cli.md shows them, made from their declarations
/// (`bench columns --update-docs docs`): a new strategy or backend is its declaration, and the
/// tables follow.
enum DeclarationTables {
    static var strategies: String {
        var lines = ["| strategy | populates | how | protects | on a cancel | in the default matrix | stands for | QEMU |",
                     "|---|---|---|---|---|---|---|---|"]
        for strategy in Strategy.allCases {
            let declared = strategy.declaration
            let populates = switch declared.populate {
            case .nothing: "nothing"
            case .wholeRegion: "the whole region"
            case .pluggedRuns: "the plugged runs"
            case .pluggedRunsQEMU62Bound: "the plugged runs, with 6.2's loop bound `offset < size`"
            }
            let how = switch (declared.populate, declared.method) {
            case (.nothing, _): ""
            case (_, .madvise): "`MADV_POPULATE_READ` (Linux 5.14)"
            case (_, .touch): declared.touchesEveryBasePage ? "a byte read every base page, even over huge pages"
                : "a byte read per page"
            }
            var protects = declared.protect == .wholeRegion ? "the whole region" : "the plugged runs"
            if declared.requiredFeatures.contains(.wpUnpopulated) {
                protects += ", with `UFFD_FEATURE_WP_UNPOPULATED` (Linux 6.4)"
            }
            let onCancel = declared.onCancel == .stopsTracking ? "stops tracking" : "leaves tracking armed"
            let qemu = switch declared.lineage {
            case .idea: ""
            case let .upstream(since, commit, _): "from \(since)" + (commit.map { ": \($0.text)" } ?? "")
            case let .sameCodeAs(other): "the code of `\(other.rawValue)`"
            case let .branch(base, change, _): "`\(base.rawValue)` with \(change)"
            }
            lines.append("| `\(strategy.rawValue)` | \(populates) | \(how) | \(protects) | \(onCancel) | "
                + "\(declared.inDefaultMatrix ? "yes" : "no") | \(declared.standsFor) | \(qemu) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static var backends: String {
        var lines = ["| backend | memory | data counter | default size | `bench qemu` | stands for |", "|---|---|---|---|---|---|"]
        for backend in Backend.allCases {
            let declared = backend.declaration
            let memory = declared.isFileInHugetlbfsMount ? "\(declared.memory.rawValue), a file in a hugetlbfs mount"
                : declared.memory.rawValue
            lines.append("| `\(backend.rawValue)` | \(memory) | `\(backend.dataCounter)` (`\(backend.dataColumn)`) | "
                + "\(ByteSize.format(declared.defaultRegionSize)) | \(declared.qemuObject.map { "`\($0)`" } ?? "not run") | "
                + "\(declared.standsFor) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
