import Testing
@testable import LinuxMM

@Suite struct ProcStatusReaderParsing {
    func parse(_ text: String) throws -> ProcStatus {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { try ProcStatusReader.parse($0) }
    }

    /// The same fields as the general parser, from the same text.
    @Test func agreesWithProcStatusParsing() throws {
        #expect(try parse(ProcStatusParsing.fixture) == (try ProcStatus(parsing: ProcStatusParsing.fixture)))
    }

    @Test func keysMatchWhole() throws {
        // "VmRSSx" and "Rss" are not keys; a prefix of a key must not match it.
        let text = "VmRSSx:\t9 kB\nRss:\t9 kB\n" + ProcStatusParsing.fixture
        #expect(try parse(text).vmRSS == 5216 * 1024)
    }

    @Test func missingFieldIsNamed() {
        #expect(throws: ProcStatus.MissingField.self) { try parse("VmRSS: 1 kB\n") }
    }
}
