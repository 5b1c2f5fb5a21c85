import ArgumentParser
import PopulateBench
import Experiments
import Results
import VMM

/// What to measure: the lists `bench run` crosses and `bench doctor --recommend` measures.
struct MatrixArguments: ParsableArguments {
    @Option(help: ArgumentHelp("Backends, comma-separated: \(ArgumentValues.accepted(Backend.self)). "
        + "(default: every backend this host can run)", valueName: "list"),
            completion: .list(Backend.allValueStrings),
            transform: ArgumentValues.list)
    var backend: [Backend]?

    // Unconditional: `--size -1GiB` is a bad size to say so about, not a missing value.
    @Option(parsing: .unconditional,
            help: ArgumentHelp("Region sizes per trial, comma-separated (4096, 64KiB, 256MiB, 1GiB). "
        + "(default: per backend: "
        + Backend.allCases.map { "\($0.rawValue) \(ByteSize.format($0.defaultRegionSize))" }.joined(separator: ", ")
        + ")", valueName: "list"),
            transform: ArgumentValues.sizes)
    var size: [Int]?

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Fractions of blocks plugged, 0...1, comma-separated. "
        + "(default: \(RunCommand.defaults.pluggedFractions.map { "\($0)" }.joined(separator: ",")))",
                               valueName: "list"),
            transform: ArgumentValues.fractions)
    var plugged: [Double]?

    /// Applies what was given to `plan`; what was not keeps the plan's default.
    func apply(to plan: inout RunPlan) {
        if let backend { plan.backends = backend }
        if let size { plan.sizes = size }
        if let plugged { plan.pluggedFractions = plugged }
    }
}
