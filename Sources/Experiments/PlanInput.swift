/// What a plan is made of, as bad input names it: the command line maps each to its flag
/// (`bench`'s `PlanInput.flag`), so that the plan's checks say what is wrong without knowing how
/// the user spelled it.
public enum PlanInput: String, CaseIterable, Sendable {
    case backends, strategies, size, plugged, resident, layout, blockSize, hugePageSize, hugetlbfs, thp
    case repetitions, warmup, trialTimeout, numaPolicy, populateNode, guestNode
    case writers, writeRate, sampleInterval, cancelAt
    case guestWriters, imageCheck, guestLayout, withoutControl

    /// Where a message names another input: `RunPlan.InputError.text(naming:)` puts its name there.
    public var reference: String { "{\(rawValue)}" }
}

extension RunPlan {
    /// Bad input: which input, and what is wrong with it (a message that may name other inputs by
    /// their `PlanInput.reference`).
    public struct InputError: Error, CustomStringConvertible, Equatable {
        public var input: PlanInput
        public var message: String

        public init(_ input: PlanInput, _ message: String) {
            self.input = input
            self.message = message
        }

        /// One line, each input named as `name` says (the command line: by its flag).
        public func text(naming name: (PlanInput) -> String) -> String {
            var text = message
            for other in PlanInput.allCases where text.contains(other.reference) {
                text = text.replacingOccurrences(of: other.reference, with: name(other))
            }
            return "\(name(input)): \(text)"
        }

        /// Each input by its name in the plan.
        public var description: String { text(naming: \.rawValue) }
    }
}
