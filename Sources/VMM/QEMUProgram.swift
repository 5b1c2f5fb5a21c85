import PopulateBench

/// One QEMU of a `bench qemu` run: the binary, and the preset its emulation runs, with why.
public struct QEMUProgram: Sendable, Equatable {
    public var binary: QEMUBinary
    public var preset: Strategy
    public var presetReason: String

    public init(binary: QEMUBinary, preset: Strategy, presetReason: String) {
        self.binary = binary
        self.preset = preset
        self.presetReason = presetReason
    }

    /// The preset for `binary`: `override` (`--preset`) if given, else what a patched build's
    /// patch claims, else what its version does.
    public init(binary: QEMUBinary, override: Strategy? = nil) {
        let version = binary.version.preset!
        if let override {
            self.init(binary: binary, preset: override, presetReason: "--preset \(override.rawValue)")
        } else if binary.build.kind == .patched, let claimed = binary.build.claimedPreset {
            self.init(binary: binary, preset: claimed,
                      presetReason: "\(binary.build.patch) names it (PopulateBench-Preset)")
        } else if binary.build.kind == .patched {
            self.init(binary: binary, preset: version.strategy,
                      presetReason: version.because + "; the patch \(binary.build.patch) names no preset (--preset sets one)")
        } else {
            self.init(binary: binary, preset: version.strategy, presetReason: version.because)
        }
    }

    /// `7.2.22 debian`, `7.2.22 patched wp-unpopulated-7.2.patch`: what tells the builds of a run apart.
    public var label: String {
        let version = binary.version
        let patch = binary.build.patch.isEmpty ? "" : " " + binary.build.patch
        return "\(version.major).\(version.minor).\(version.micro) \(binary.build.kind.rawValue)\(patch)"
    }
}
