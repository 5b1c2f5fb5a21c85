import PopulateBench
extension RunPlan {
    /// Named matrices for `bench run --matrix`: lists chosen together to answer one question.
    /// The flags given beside it override its lists.
    public enum Matrix: String, CaseIterable, Codable, Sendable {
        /// How population and protection scale with the region, 1 GiB to 1 TiB (docs/cli.md).
        case scale

        public func apply(to plan: inout RunPlan) {
            switch self {
            case .scale:
                plan.backends = [.anonPrivate, .memfdShmem]
                plan.sizes = RunPlan.scaleSizes
                plan.strategies = [.fullMadvise, .fullTouch]
                // Base pages only: THP would change the cost per GiB with the host's setting.
                plan.thpModes = [.nohuge]
                plan.pluggedFractions = [0.25]
                // The guest writes nothing: written pages are real memory, which 1 TiB is not here.
                plan.residentFractions = [0]
                plan.blockSizes = [2 << 20]
                plan.layouts = [.named(.random)]
            }
        }
    }

    /// 1 GiB to 1 TiB in steps of four. A read of private anonymous memory maps the zeropage
    /// and costs only page tables (2 GiB for 1 TiB), so every size runs on a host with a few
    /// GiB free; shmem allocates what it reads, and the memory guard skips the sizes the host
    /// cannot hold, with the reason in the row.
    public static let scaleSizes = [1, 4, 16, 64, 256, 1024].map { $0 << 30 }
}
