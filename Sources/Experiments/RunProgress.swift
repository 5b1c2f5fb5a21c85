import PopulateBench
/// What a run reports as it goes, for whoever shows it: the CLI draws a terminal's live line or
/// plain lines for a log; the library only says what happened.
public protocol RunProgress: AnyObject {
    /// The run begins: `trials` trials in all, described in one sentence.
    func begin(trials: Int, _ description: String)
    func trialStarting(_ label: String)
    /// A trial ended; `important` for anything a user must see even on a terminal (a failure).
    func trialFinished(_ line: String, important: Bool)
    func end()
}
