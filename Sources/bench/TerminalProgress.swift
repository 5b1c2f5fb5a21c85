import Foundation
import LinuxMM

import PopulateBench
import Experiments
import Results
import VMM

/// Progress on stderr: a live line with the trial count, the current config and an ETA on a
/// terminal; plain lines otherwise, for CI logs.
final class TerminalProgress: RunProgress {
    private var total = 0
    let quiet: Bool
    let isTerminal: Bool
    private var start = Date()
    private var done = 0
    private var lineIsOpen = false

    init(quiet: Bool) {
        self.quiet = quiet
        isTerminal = Terminal.isTerminal(Terminal.standardError)
    }

    func begin(trials: Int, _ description: String) {
        total = trials
        done = 0
        start = Date()
        message(description)
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    private var eta: String {
        guard done > 0 else { return "?" }
        let elapsed = Date().timeIntervalSince(start)
        let remaining = elapsed / Double(done) * Double(total - done)
        return "\(Int(remaining.rounded())) s"
    }

    func trialStarting(_ label: String) {
        guard !quiet, isTerminal else { return }
        let width = 20
        let filled = total > 0 ? done * width / total : 0
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let text = "[\(bar)] \(done + 1)/\(total) ETA \(eta)  \(label)"
        write("\r\u{1B}[K" + String(text.prefix(Self.terminalColumns - 1)))
        lineIsOpen = true
    }

    /// A trial ended. `line` is printed on its own line (off a terminal always, on one for
    /// anything that is not a plain success).
    func trialFinished(_ line: String, important: Bool) {
        done += 1
        guard !quiet else { return }
        if isTerminal {
            guard important else { return }
            write("\r\u{1B}[K" + line + "\n")
            lineIsOpen = false
        } else {
            write("[\(done)/\(total)] \(line)\n")
        }
    }

    /// The terminal's width, so the live line never wraps (a wrapped line cannot be redrawn with `\r`).
    static var terminalColumns: Int {
        Terminal.columns(Terminal.standardError) ?? 120
    }

    func message(_ text: String) {
        guard !quiet else { return }
        if lineIsOpen { write("\r\u{1B}[K") }
        lineIsOpen = false
        write(text + "\n")
    }

    func end() {
        if lineIsOpen && !quiet { write("\r\u{1B}[K") }
        lineIsOpen = false
    }
}
