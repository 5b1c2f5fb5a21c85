import Experiments

extension PlanInput {
    /// The flag that gives this input on the command line.
    var flag: String {
        switch self {
        case .backends: "--backend"
        case .strategies: "--strategy"
        case .size: "--size"
        case .plugged: "--plugged"
        case .resident: "--resident"
        case .layout: "--layout"
        case .blockSize: "--block-size"
        case .hugePageSize: "--hugepage-size"
        case .hugetlbfs: "--hugetlbfs"
        case .thp: "--thp"
        case .repetitions: "--repetitions"
        case .warmup: "--warmup"
        case .trialTimeout: "--trial-timeout"
        case .numaPolicy: "--numa"
        case .populateNode: "--populate-node"
        case .guestNode: "--guest-node"
        case .writers: "--writers"
        case .writeRate: "--write-rate"
        case .sampleInterval: "--sample-interval"
        case .cancelAt: "--cancel-at"
        case .guestWriters: "--guest-writers"
        case .imageCheck: "--image-check"
        case .guestLayout: "--guest-layout"
        case .withoutControl: "--no-control"
        }
    }
}

extension RunPlan.InputError {
    /// The error as the command line says it: every input by its flag.
    var commandLineText: String { text(naming: \.flag) }
}
