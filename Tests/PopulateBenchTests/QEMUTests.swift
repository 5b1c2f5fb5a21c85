import Foundation
import LinuxMM
import Testing
@testable import Experiments
@testable import PopulateBench
@testable import Results
@testable import VMM

@Suite struct QEMUParsing {
    @Test(arguments: [
        ("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright", Strategy.qemu72),
        ("QEMU emulator version 7.2.0 (Debian 1:7.2+dfsg-3)", .qemu72),
        ("QEMU emulator version 7.2.0 (Debian 1:7.2+dfsg-1)", .qemu62),
        ("QEMU emulator version 7.2.0", .qemu62),
        ("QEMU emulator version 6.2.0 (Debian 1:6.2+dfsg-2ubuntu6)", .qemu62),
        ("QEMU emulator version 6.1.1", .qemu61),
        ("QEMU emulator version 8.0.0", .qemu80),
        ("QEMU emulator version 8.0.5", .qemu80),
        ("QEMU emulator version 8.1.0", .qemu81),
        ("QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-1~bpo12+1)", .qemu81),
        ("QEMU emulator version 10.2.2 (Debian 1:10.2.2+ds-1)", .qemu81),
    ])
    func versionPicksThePreset(text: String, preset: Strategy) throws {
        #expect(try #require(QEMUVersion(versionOutput: text)).preset?.strategy == preset)
    }

    /// QEMU 10.0's `log` trace backend under `-msg timestamp=on` (7.2 writes the same lines); lines
    /// without a time stamp, and QEMU's other log lines, are not events.
    static let traceLog = """
        18944@1796286172.968926:migrate_set_state new state setup
        18950@1796286172.976809:savevm_state_header \

        18950@1796286172.976916:migrate_set_state new state active
        18950@1796286172.976920:migration_thread_setup_complete \

        18950@1796286172.980299:ram_write_tracking_ramblock_start 0000:00:02.0/mem0: page_size: 4096 addr: 0x7f92 length: 67108864
        18950@1796286172.980412:ram_write_tracking_ramblock_start pc.ram: page_size: 4096 addr: 0x7f93 length: 67108864
        migrate_set_state new state setup
        qemu-system-x86_64: warning: trace event 'x' does not exist
        18950@1796286173.113074:migrate_set_state new state completed
        18950@1796286173.113109:migration_thread_after_loop \

        18950@1796286173.114327:ram_write_tracking_ramblock_stop pc.ram: page_size: 4096 addr: 0x7f93 length: 67108864
        """

    @Test func qemuTraceLinesAreEventsOnTheSamplesClock() throws {
        let events = QEMUTrace.parse(Self.traceLog)
        #expect(events.map(\.label) == [
            "migrate_set_state:setup", "savevm_state_header", "migrate_set_state:active", "migration_thread_setup_complete",
            "ram_write_tracking_ramblock_start:0000:00:02.0/mem0", "ram_write_tracking_ramblock_start:pc.ram",
            "migrate_set_state:completed", "migration_thread_after_loop", "ram_write_tracking_ramblock_stop:pc.ram",
        ])
        #expect(events[0].thread == 18944 && events[1].thread == 18950)
        let steps = QEMUTrace.Steps(events)
        // 976809 - 968926 µs; 980412 - 976920; 1113109 - 980412.
        #expect(abs(try #require(steps.populateSeconds) - 0.007883) < 1e-6)
        #expect(abs(try #require(steps.protectSeconds) - 0.003492) < 1e-6)
        #expect(abs(try #require(steps.copySeconds) - 0.132697) < 1e-6)
        // Sampling began at monotonic 100.0 s, when the wall clock read 1796286172.9 s.
        let marks = QEMUTrace.marks(events, since: 100, wallOffset: 1796286172.9 - 100)
        #expect(abs(marks[0].seconds - 0.068926) < 1e-6)
        // Each event goes to the first sample at or after it; the last sample takes the later ones.
        let samples = [0.05, 0.07, 0.1, 0.2].map { ProcessSample(seconds: $0, status: ProcStatus()) }
        let bySample = QEMUTable.eventsBySample(marks, samples: samples)
        #expect(bySample[0] == nil)
        #expect(bySample[1] == "migrate_set_state:setup@0.068926")
        #expect(bySample[2]?.hasPrefix("savevm_state_header@0.076809;") == true)
        #expect(bySample[2]?.hasSuffix(";ram_write_tracking_ramblock_start:pc.ram@0.080412") == true)
        #expect(bySample[3] == "migrate_set_state:completed@0.213074;migration_thread_after_loop@0.213109;"
            + "ram_write_tracking_ramblock_stop:pc.ram@0.214327")
    }

    /// QEMU 10.1 and later under `-msg timestamp=on`: an ISO time before the event, no thread.
    @Test func isoStampedTraceLinesAreEventsToo() throws {
        let events = QEMUTrace.parse("""
            2025-07-21T18:43:28.089797Z migrate_set_state new state setup
            2025-07-21T18:43:28.097000Z qemu-system-x86_64(1234:live_migration): savevm_state_header \

            2025-07-21T18:43:28.099000Z qemu-system-x86_64: warning: something else
            2024-02-29T00:00:00.5Z migration_thread_after_loop
            """)
        #expect(events.map(\.name) == ["migrate_set_state", "savevm_state_header", "migration_thread_after_loop"])
        #expect(events[0].label == "migrate_set_state:setup" && events[0].thread == 0)
        // date -u -d 2025-07-21T18:43:28Z +%s is 1753123408; 2024-02-29 is 1709164800.
        #expect(abs(events[0].wallSeconds - 1_753_123_408.089797) < 1e-6)
        #expect(abs(events[2].wallSeconds - 1_709_164_800.5) < 1e-6)
        #expect(abs(try #require(QEMUTrace.Steps(events).populateSeconds) - 0.007203) < 1e-6)
        // What is not a time stamp is not an event.
        for stamp in ["2025-x-07-21T18:43:28Z", "2025-07-21T25:00:00Z", "2025-13-01T00:00:00Z", "2025-07-21T18:43:nanZ",
                      "2025-07-21T18:43:1e1Z", "99999999999-07-21T00:00:00Z", "2025-07-21T18:43:28"] {
            #expect(QEMUTrace.parse("\(stamp) migrate_set_state new state setup").isEmpty, "\(stamp)")
        }
    }

    @Test func aTraceWithoutItsEndsHasNoSteps() {
        let steps = QEMUTrace.Steps(QEMUTrace.parse("1@5.000000:migrate_set_state new state setup\n"))
        #expect(steps.populateSeconds == nil && steps.protectSeconds == nil && steps.copySeconds == nil)
    }

    @Test func beforeBackgroundSnapshotsThereIsNoPreset() throws {
        #expect(try #require(QEMUVersion(versionOutput: "QEMU emulator version 5.2.0")).preset == nil)
        #expect(QEMUVersion(versionOutput: "true (GNU coreutils) 9.1") == nil)
    }

    @Test func theGuestsPluggingLinesAreDeviceOffsets() throws {
        let console = """
            [    2.60] virtio_mem virtio0: start address: 0x100000000
            [    2.61] virtio_mem virtio0: plugging memory: 0x100000000 - 0x107ffffff
            [    2.62] virtio_mem virtio0: adding memory: 0x100000000 - 0x107ffffff
            [    2.64] virtio_mem virtio0: plugging memory: 0x108000000 - 0x1081fffff
            [    2.65] virtio_mem virtio0: unplugging memory: 0x110000000 - 0x1101fffff
            """
        let ranges = try GuestConsole.pluggedRanges(console, deviceAddress: 0x1_0000_0000)
        #expect(ranges.ranges == [0 ..< (128 << 20) + (2 << 20)])
        #expect(throws: GuestConsole.Unreadable.self) {
            try GuestConsole.pluggedRanges("virtio_mem virtio0: plugging memory: 0x1000 - x", deviceAddress: 0)
        }
    }

    @Test func smapsAttributesDataToMappings() {
        let text = """
            7f0757dff000-7f0797dff000 rw-s 00000000 00:01 2209                       /memfd:memory-backend-memfd (deleted)
            Size:            1048576 kB
            Rss:              262144 kB
            Shared_Hugetlb:        0 kB
            Private_Hugetlb:       0 kB
            7f0797e00000-7f07a7e00000 rw-p 00000000 00:00 0
            Rss:                   4 kB
            Private_Hugetlb:    2048 kB
            """
        let entries = Smaps.parse(text)
        #expect(entries.count == 2)
        #expect(entries[0].name == "/memfd:memory-backend-memfd (deleted)" && entries[0].length == 1 << 30)
        #expect(entries[0].dataBytes == 256 << 20 && entries[0].start % (2 << 20) == (2 << 20) - 4096)
        #expect(entries[1].name.isEmpty && entries[1].dataBytes == 4096 + (2 << 20))
    }

    static func program(_ micro: Int, _ kind: QEMUBuild.Kind, patch: String = "", preset: Strategy? = nil) -> QEMUProgram {
        let version = QEMUVersion(major: 7, minor: 2, micro: micro)
        return QEMUProgram(binary: QEMUBinary(path: "/q\(micro)", version: version,
                                              build: QEMUBuild(kind: kind, patch: patch, claimedPreset: preset)))
    }

    @Test func requestedSizesAreWholeBlocks() {
        let plan = QEMUPlan(programs: [Self.program(22, .debian)], accelerator: "tcg", acceleratorReason: "",
                            backends: [.memfdShmem], size: 1 << 30, pluggedFractions: [0, 0.3333],
                            guest: GuestImage(directory: "/nonexistent"))
        #expect(plan.requested(0.3333) == 171 * (2 << 20))
        #expect(plan.cases.map(\.pluggedFraction) == [0, 0.3333, nil])
    }

    @Test func severalProgramsTakeTurnsAndSwapOrderEveryOtherRepetition() {
        let programs = [Self.program(22, .debian), Self.program(0, .source), Self.program(22, .patched, patch: "p.patch")]
        let plan = QEMUPlan(programs: programs, accelerator: "tcg", acceleratorReason: "", backends: [.anonPrivate],
                            size: 1 << 30, pluggedFractions: [0.25], guest: GuestImage(directory: "/nonexistent"))
        #expect(plan.cases(repetition: 1).map(\.program.label)
            == ["7.2.22 debian", "7.2.0 source", "7.2.22 patched p.patch", "7.2.22 debian", "7.2.0 source", "7.2.22 patched p.patch"])
        #expect(plan.cases(repetition: 2).map(\.program.label)
            == ["7.2.22 patched p.patch", "7.2.0 source", "7.2.22 debian", "7.2.22 patched p.patch", "7.2.0 source", "7.2.22 debian"])
        #expect(plan.cases(repetition: 2).map(\.pluggedFraction) == [0.25, 0.25, 0.25, nil, nil, nil])
    }

    @Test func aPatchedBuildIsEmulatedByThePresetItsPatchNames() {
        #expect(Self.program(22, .patched, patch: "p.patch", preset: .qemu72WPUnpopulated).preset == .qemu72WPUnpopulated)
        // Without a claim, the version's preset, and the reason says so.
        let unnamed = Self.program(22, .patched, patch: "p.patch")
        #expect(unnamed.preset == .qemu72 && unnamed.presetReason.contains("names no preset"))
        #expect(Self.program(0, .source).preset == .qemu62)
        let overridden = QEMUProgram(binary: Self.program(22, .patched).binary, override: .wpUnpopulated)
        #expect(overridden.preset == .wpUnpopulated && overridden.presetReason == "--preset wp-unpopulated")
    }

    @Test func aBuildDescriptionSaysWhereTheBinaryCameFrom() throws {
        let text = """
            # Written by scripts/get-qemu.sh; read by bench qemu (--qemu).
            build=patched
            version=7.2.22
            patch=wp-unpopulated-7.2.patch
            preset=qemu-7.2-wp-unpopulated
            datadir=/usr/share/qemu:/usr/share/seabios
            """
        let build = try QEMUBuild.parse(text, file: "f")
        #expect(build == QEMUBuild(kind: .patched, patch: "wp-unpopulated-7.2.patch", claimedPreset: .qemu72WPUnpopulated,
                                   dataDirectories: ["/usr/share/qemu", "/usr/share/seabios"]))
        #expect(throws: QEMUBuild.Problem.self) { try QEMUBuild.parse("build=homemade\n", file: "f") }
        #expect(throws: QEMUBuild.Problem.self) { try QEMUBuild.parse("build=source\npreset=qemu-9.9\n", file: "f") }
        // Without the file, the version's package string decides.
        let backports = try #require(QEMUVersion(versionOutput: "QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)"))
        #expect(try QEMUBuild.describing(binaryAt: "/nonexistent/qemu", version: backports).kind == .backports)
        let debian = try #require(QEMUVersion(versionOutput: "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)"))
        #expect(try QEMUBuild.describing(binaryAt: "/nonexistent/qemu", version: debian).kind == .debian)
        #expect(try QEMUBuild.describing(binaryAt: "/nonexistent/qemu", version: QEMUVersion(major: 7, minor: 2, micro: 0)).kind == .source)
    }

    @Test func theGuestsWriteLineIsReadOrRefused() {
        #expect(GuestWriteLatency(consoleLine: "@@@ WRITES 1200 300 4500 98000")
            == GuestWriteLatency(writes: 1200, p50Nanoseconds: 300, p99Nanoseconds: 4500, maxNanoseconds: 98000))
        for line in ["@@@ WRITES 1200 300 4500", "@@@ WRITES 1200 300 4500 x", "@@@ WRITES 1200 5000 4500 98000",
                     "@@@ WROTE 1200 300 4500 98000", "@@@ WRITES -1 300 4500 98000"] {
            #expect(GuestWriteLatency(consoleLine: line) == nil, "\(line)")
        }
    }

    @Test func theChangeBetweenBuildsNamesTheCommit() {
        #expect(QEMUHistory.change(from: .qemu62, to: .qemu72).contains("Fix populate_read_range()"))
        #expect(QEMUHistory.change(from: .qemu72, to: .qemu80).contains("Optimize ram_write_tracking_start()"))
        let both = QEMUHistory.change(from: .qemu720, to: .qemu80)
        #expect(both.contains("5f19a4491941") && both.contains("e41c57702e94"))
        #expect(QEMUHistory.change(from: .qemu80, to: .qemu72).hasPrefix("without "))
        #expect(QEMUHistory.change(from: .qemu72, to: .qemu81).contains("3a8b81f2e6"))
        #expect(QEMUHistory.change(from: .qemu72, to: .qemu72CancelFix, patch: "cancel-stops-tracking-7.2.patch")
            .hasPrefix("cancel-stops-tracking-7.2.patch: a cancelled or failed snapshot stops tracking"))
        #expect(QEMUHistory.change(from: .qemu72, to: .qemu72WPUnpopulated, patch: "wp-unpopulated-7.2.patch")
            == "wp-unpopulated-7.2.patch: no population, protection marks empty entries (qemu-7.2-wp-unpopulated)")
        #expect(QEMUHistory.change(from: .qemu62, to: .qemu72CancelFix).hasSuffix("; from qemu-6.2 to its base: "
            + QEMUHistory.change(from: .qemu62, to: .qemu72)))
        #expect(QEMUHistory.change(from: .qemu72, to: .qemu72).hasPrefix("no change"))
        let patch = QEMUHistory.change(from: .qemu72, to: .qemu72WPUnpopulated, patch: "wp.patch")
        #expect(patch.hasPrefix("wp.patch: no population") && !patch.contains("its base"))
    }

    @Test func aDifferenceTakesItsSignFromItselfNotFromTheFigure() {
        // The model's shmem THP figure can be negative: +258MiB against -2MiB is +, not +-.
        #expect(QEMUTable.versus(256 << 20, -(2 << 20)) == "+258MiB (+12900.0%)")
        #expect(QEMUTable.versus(1 << 20, 2 << 20) == "-1MiB (-50.0%)")
    }
}

let qemuBinary = "/usr/bin/qemu-system-x86_64"

/// A CSV path of its own for one `bench qemu` run; `removeQEMUOutput` removes it and its siblings.
func temporaryQEMUOutput() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("qemu-\(UUID().uuidString).csv")
}

func removeQEMUOutput(_ out: URL) {
    for path in [out.path, OutputFiles.samplesPath(for: out.path), OutputFiles.summaryPath(for: out.path)] {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// `bench-qemu-PID-...` directories whose bench is gone: what a run left behind. Another bench
/// running beside the tests (a benchmark on the same host) has directories of its own.
func leftoverQEMUDirectories() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path).filter { name in
        let parts = name.split(separator: "-")
        guard name.hasPrefix("bench-qemu-"), parts.count > 2, let pid = Int32(parts[2]) else { return false }
        return kill(pid, 0) != 0
    }
}

extension KernelTests {
    @Suite(needs(.bench))
    struct QEMUCommandInput {
        @Test(arguments: [
            (["--qemu", "/nonexistent/qemu"], "--qemu"),
            (["--qemu", "/bin/true"], "not a QEMU binary"),
            (["--qemu", "/tmp"], "--qemu"),
            (["--backend", "anon-shared"], "--backend"),
            (["--size", "100MiB"], "--size"),
            (["--plugged", "1.5"], "--plugged"),
            (["--guest", "/nonexistent"], "--guest"),
            (["--repetitions", "0"], "--repetitions"),
            (["--preset", "qemu-8.0", "--qemu", "FAKE", "--qemu", "FAKE2"], "--preset"),
            (["--qemu", "FAKE", "--qemu", "FAKE"], "given"),
            (["--qemu", "FAKE,/bin/true"], "not a QEMU binary"),
            (["--qemu", "FAKE,"], "empty"),
            (["--qemu", "BADBUILD"], "homemade"),
            (["--image-check", "--plugged", "0"], "--image-check"),
            (["--monitor", "vmstat:no_such_counter"], "--monitor"),
            (["--guest-layout", "hole", "--plugged", "0.1"], "--guest-layout"),
            (["--guest-layout", "middle"], "--guest-layout"),
            (["--cancel-at", "0"], "--cancel-at"),
            (["--cancel-at", "1"], "--cancel-at"),
            (["--cancel-at", "nan"], "--cancel-at"),
            (["--cancel-at", "0.5", "--image-check"], "--image-check"),
            (["--cancel-at", "0.5", "--plugged", "0,0.5"], "plugs nothing"),
            // One 2 MiB huge page plugged: 0.9 of it, rounded up, is all of it.
            (["--cancel-at", "0.9", "--backend", "memfd-hugetlb", "--size", "128MiB", "--plugged", "0.02"], "every page"),
            (["--guest-write-bound", "5s"], "add --cancel-at"),
            (["--cancel-at", "0.5", "--guest-write-bound", "0s"], "--guest-write-bound"),
            (["--guest-writers", "65"], "--guest-writers"),
            (["--guest-writers", "-1"], "--guest-writers"),
            (["--guest-writers", "2", "--cancel-at", "0.5", "--plugged", "0.5"], "--guest-writers"),
            (["--guest-writers", "2", "--plugged", "0,0.5"], "plugs nothing"),
        ])
        func badInputIsOneLineAndExitTwo(arguments: [String], says: String) throws {
            // A stand-in that answers --version as QEMU 7.2.22 does, so that the flag under test is
            // reached whether or not this host has a QEMU.
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fake-qemu-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let fake = directory.appendingPathComponent("qemu-system-x86_64")
            try Data("#!/bin/sh\necho 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18)'\n".utf8).write(to: fake)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake.path)
            // A second stand-in, a source build (its description file beside it), and one whose
            // description names a build kind that does not exist.
            let source = directory.appendingPathComponent("source/qemu-system-x86_64")
            let bad = directory.appendingPathComponent("bad/qemu-system-x86_64")
            for (binary, build) in [(source, "build=source\n"), (bad, "build=homemade\n")] {
                try FileManager.default.createDirectory(at: binary.deletingLastPathComponent(), withIntermediateDirectories: true)
                try FileManager.default.copyItem(at: fake, to: binary)
                try Data(build.utf8).write(to: binary.deletingLastPathComponent().appendingPathComponent("populatebench-build"))
            }
            let substituted = arguments.map {
                $0.replacingOccurrences(of: "FAKE2", with: source.path).replacingOccurrences(of: "BADBUILD", with: bad.path)
                    .replacingOccurrences(of: "FAKE", with: fake.path)
            }
            let qemu = arguments.contains("--qemu") ? [] : ["--qemu", fake.path]
            let result = try bench(["qemu"] + qemu + substituted)
            #expect(result.status == 2)
            #expect(result.stderr.split(separator: "\n").count == 1 && result.stderr.contains(says), "\(result.stderr)")
            #expect(!result.stderr.contains("{"), "every input named by its flag: \(result.stderr)")
        }

        /// A real QEMU and guest: 256 MiB of memfd virtio-mem, half plugged, once (about 8 s under TCG).
        @Test(needs(.qemu))
        func aRealSnapshotMatchesItsEmulationAndLeavesNothingBehind() throws {
            let out = temporaryQEMUOutput()
            defer { removeQEMUOutput(out) }
            let result = try bench(["qemu", "--qemu", qemuBinary, "--backend", "memfd-shmem", "--size", "256MiB",
                                    "--plugged", "0.5", "--no-control", "--accel", "tcg", "--quiet", "--out", out.path])
            #expect(result.status == 0, "\(result.stderr)")
            let rows = try CSV.parse(String(contentsOf: out, encoding: .utf8)).rows
            let real = try #require(rows.first { $0["strategy"] == "qemu-real" })
            #expect(real["status"] == "ok", "\(real["reason"] ?? "")")
            // Linux's driver plugs from the device's lowest address, a 128 MiB memory block at a time.
            #expect(real["layout"] == "ranges:0-128MiB")
            // What the guest had written of the device before (its kernel may touch a few plugged
            // pages as it onlines them) plus what the snapshot populated is exactly what was plugged.
            let gained = try #require(Int(real["device_data_bytes"] ?? "")), before = try #require(Int(real["device_resident_bytes"] ?? ""))
            #expect(gained + before == 128 << 20, "populated \(gained) after \(before) the guest had written")
            // The system's page faults over the snapshot: at least one per 2 MiB QEMU populated
            // (one per 4 KiB without shmem THP); other processes only add to it. A weak bound: it
            // shows the column is the real snapshot's, filled, and not a difference gone negative.
            #expect((Int(real["vmstat_pgfault"] ?? "") ?? 0) >= (128 << 20) / (2 << 20), "\(real["vmstat_pgfault"] ?? "")")
            let emulated = rows.filter { $0["strategy"] == "qemu-7.2" && $0["status"] == "ok" }
            #expect(emulated.map { $0["phase"] } == ["populate", "protect", "snapshot"])
            let emulatedPTE = emulated.compactMap { Int($0["pte_bytes"] ?? "") }.reduce(0, +)
            let realPTE = try #require(Int(real["pte_bytes"] ?? ""))
            #expect(abs(realPTE - emulatedPTE) <= 64 << 10, "real \(realPTE), emulated \(emulatedPTE)")
            let samples = try CSV.parse(String(contentsOfFile: OutputFiles.samplesPath(for: out.path), encoding: .utf8)).rows
            #expect(Set(samples.map { $0["phase"] ?? "" }) == ["before", "snapshot", "after"])
            try checkQEMUEvents(samples, real: real)
            let leftovers = try leftoverQEMUDirectories()
            #expect(leftovers.isEmpty, "\(leftovers)")
        }

        /// Two programs, one summary row each: stand-ins that run the system's QEMU, one as Debian's
        /// build and one described as a source build, two repetitions each. Merged, their medians
        /// would be one row of four repetitions; split by what the guest happened to write before a
        /// snapshot (a measured `resident_fraction`), rows of one.
        @Test(needs(.qemu))
        func theSummaryKeepsEachProgramApart() throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("two-qemus-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            var programs: [String] = []
            for (name, build) in [("debian", nil), ("source", "build=source\n")] {
                let folder = directory.appendingPathComponent(name)
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                let binary = folder.appendingPathComponent("qemu-system-x86_64")
                try Data("#!/bin/sh\nexec \(qemuBinary) \"$@\"\n".utf8).write(to: binary)
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: binary.path)
                if let build {
                    try Data(build.utf8).write(to: folder.appendingPathComponent("populatebench-build"))
                }
                programs += ["--qemu", binary.path]
            }
            let out = temporaryQEMUOutput()
            defer { removeQEMUOutput(out) }
            let result = try bench(["qemu"] + programs + ["--backend", "anon-private", "--size", "256MiB", "--plugged", "0.5",
                                    "--no-control", "--accel", "tcg", "--repetitions", "2", "--quiet", "--out", out.path])
            #expect(result.status == 0, "\(result.stderr)")
            let summary = try CSV.parse(String(contentsOfFile: OutputFiles.summaryPath(for: out.path), encoding: .utf8))
            for column in ["qemu_version", "qemu_build", "qemu_patch", "emulated_by", "guest_layout"] {
                #expect(summary.header.contains(column), "the summary has no \(column) column")
            }
            let real = summary.rows.filter { $0["strategy"] == "qemu-real" }
            #expect(real.map { $0["qemu_build"] ?? "" }.sorted() == ["debian", "source"], "\(real)")
            #expect(real.allSatisfy { $0["ok_repetitions"] == "2" }, "\(real.map { $0["ok_repetitions"] ?? "" })")
            let emulated = summary.rows.filter { $0["strategy"] == "qemu-7.2" && $0["phase"] == "populate" }
            #expect(emulated.map { $0["qemu_build"] ?? "" }.sorted() == ["debian", "source"], "\(emulated)")
            #expect(emulated.allSatisfy { $0["ok_repetitions"] == "2" }, "\(emulated.map { $0["ok_repetitions"] ?? "" })")
            // The exports read the same file: a series per program, each of two repetitions.
            let export = MetricsExport(rows: try MetricsExport.load(out.path))
            let realSeries = export.series.filter { $0.label("strategy") == "qemu-real" }
            #expect(realSeries.map { $0.label("qemu_build") }.sorted() == ["debian", "source"], "\(realSeries.map(\.labels))")
            #expect(realSeries.allSatisfy { $0.okRepetitions == 2 })
            // And compare: the program and its build are part of what a row is matched on.
            let rows = try Comparison.load(out.path)
            #expect(Comparison(base: rows, new: rows, threshold: 0.25).keyColumns.contains("qemu_build"))
        }

        /// QEMU's own trace events in the samples: in the program's order, on the samples' clock.
        /// Population allocates every plugged page of the memfd the guest had not written, so the
        /// process has nearly all of its gain by the sample that carries `savevm_state_header`, and
        /// had almost none of it by the last sample before `setup`: events on a wrong clock fail this.
        func checkQEMUEvents(_ samples: [[String: String]], real: [String: String]) throws {
            var at: [String: Double] = [:], carriedBy: [String: Int] = [:]
            for (index, sample) in samples.enumerated() {
                for event in (sample["qemu_events"] ?? "").split(separator: ";") {
                    let sign = try #require(event.lastIndex(of: "@"))
                    let label = String(event[..<sign]), seconds = try #require(Double(event[event.index(after: sign)...]))
                    #expect(at[label] == nil || label.hasPrefix("ram_write"), "\(label) twice")
                    at[label] = at[label] ?? seconds
                    carriedBy[label] = carriedBy[label] ?? index
                }
            }
            let setup = try #require(at["migrate_set_state:setup"], "\(at)")
            let header = try #require(at["savevm_state_header"], "\(at)")
            let complete = try #require(at["migration_thread_setup_complete"], "\(at)")
            let protected = try #require(at.first { $0.key.hasPrefix("ram_write_tracking_ramblock_start:") && $0.key.hasSuffix("mem0") }?.value,
                                         "\(at)")
            let completed = try #require(at["migrate_set_state:completed"], "\(at)")
            #expect(setup < header && header <= complete && complete < protected && protected < completed, "\(at)")
            // The harness's own steps bracket QEMU's, whatever the conversion did: `migrate` went out
            // after the last `before` sample, and the `after` samples began once QEMU said completed.
            let times = samples.map { Double($0["t_seconds"] ?? "") ?? -1 }
            let lastBefore = try #require(samples.lastIndex { $0["phase"] == "before" })
            let firstAfter = try #require(samples.firstIndex { $0["phase"] == "after" })
            #expect(times[lastBefore] < setup && completed < times[firstAfter],
                    "setup \(setup) after \(times[lastBefore]), completed \(completed) before \(times[firstAfter])")
            let rss = samples.map { Int($0["rss_bytes"] ?? "") ?? 0 }
            let gain = rss[rss.count - 1] - rss[lastBefore]
            let beforeSetup = try #require(times.lastIndex { $0 < setup })
            let byHeader = rss[try #require(carriedBy["savevm_state_header"])] - rss[lastBefore]
            #expect(gain > 32 << 20 && byHeader >= gain * 9 / 10, "gain \(gain), by the header \(byHeader)")
            #expect(rss[beforeSetup] - rss[lastBefore] < gain / 10, "before setup: \(rss[beforeSetup] - rss[lastBefore]) of \(gain)")
            // QEMU's population lies inside the harness's own wall time of the snapshot, and the row's
            // step is the span between the events the samples carry (both printed to the microsecond).
            let populate = try #require(Double(real["qemu_populate_seconds"] ?? ""))
            #expect(populate > 0 && populate < (Double(real["seconds"] ?? "") ?? 0), "\(populate) s")
            #expect(abs(populate - (header - setup)) <= 2e-6, "\(populate) s against \(header - setup) s")
            #expect(try #require(Double(real["qemu_copy_seconds"] ?? "")) > 0)
        }

        /// A hole the guest makes, the copy held, the harness's stamps, QEMU's own image: Debian's
        /// QEMU (the bound fixed) tracks every plugged page and its image holds no stamp; its twin,
        /// emulated with 6.2's preset on the same layout, leaves the run that starts at its own
        /// length untracked, and its oracle counts every stamp there as lost (about 12 s under TCG).
        @Test(needs(.qemu))
        func aHoleTheGuestMadeIsTrackedByAFixedQEMUAndNotBy62sPreset() throws {
            let out = temporaryQEMUOutput()
            defer { removeQEMUOutput(out) }
            let result = try bench(["qemu", "--qemu", qemuBinary, "--preset", "qemu-6.2", "--backend", "anon-private",
                                    "--size", "512MiB", "--plugged", "0.5", "--no-control", "--accel", "tcg",
                                    "--guest-layout", "hole", "--image-check", "--quiet", "--out", out.path])
            #expect(result.status == 0, "\(result.stderr)")
            let rows = try CSV.parse(String(contentsOf: out, encoding: .utf8)).rows
            let real = try #require(rows.first { $0["strategy"] == "qemu-real" })
            #expect(real["status"] == "ok", "\(real["reason"] ?? "")")
            // 256 MiB plugged is two memory blocks; the hole is the first, and the driver unplugs it.
            #expect(real["plugged_ranges"] == "128MiB-256MiB" && real["guest_layout"] == "hole")
            #expect(real["unprotected_plugged_bytes"] == "0" && real["image_lost_writes"] == "0", "\(real)")
            #expect((Int(real["mid_protected_bytes"] ?? "") ?? 0) > 64 << 20)
            let twin = try #require(rows.first { $0["strategy"] == "qemu-6.2" && $0["phase"] == "snapshot" })
            // The run, less the control page written at its start before the snapshot (a 4 KiB
            // page, or the 2 MiB huge page it brings in under QEMU's MADV_HUGEPAGE).
            let untracked = try #require(Int(twin["unprotected_plugged_bytes"] ?? ""))
            #expect(untracked >= 126 << 20 && untracked < 128 << 20, "\(twin)")
            // A stamp every 256 KiB past the control page: every one in the untracked part is lost.
            #expect(twin["image_lost_writes"] == "\(untracked / (256 << 10))")
            let leftovers = try leftoverQEMUDirectories()
            #expect(leftovers.isEmpty, "\(leftovers)")
        }
    }
}

/// `scripts/get-qemu.sh`'s argument handling, which needs neither apt nor a build: bad input is one
/// line and exit 2, nothing on stdout (where a path would go), no apt source left. What needs apt
/// (a backports version that does not exist, a patch that does not apply) `.ci/run` checks.
@Suite struct GetQEMUScriptInput {
    static let aptSource = "/etc/apt/sources.list.d/populatebench-get-qemu.sources"

    @Test(arguments: [
        (["homemade"], "unknown kind"),
        (["source"], "needs a VERSION"),
        (["source", "6.2.0"], "7.2"),
        (["source", "7.2.01"], "7.2"),
        (["source", "10.2.02"], "10.2.2"),
        (["source", "/nonexistent/qemu-11.1.0.tar.xz"], "neither a tarball"),
        (["source", "7.2.0", "--patch", "/nonexistent/fix.patch"], "--patch"),
        (["source", "7.2.0", "--patch"], "--patch"),
        (["source", "7.2.0", "--debug"], "--debug"),
        (["backports", "1", "2"], "at most"),
        (["debian", "7.2.22"], "no arguments"),
        (["--jobs", "many", "debian"], "--jobs"),
        (["--cache"], "--cache"),
        (["--fast", "debian"], "--fast"),
    ])
    func badInputIsOneLineAndExitTwo(arguments: [String], says: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [packageRoot.appendingPathComponent("scripts/get-qemu.sh").path] + arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 2)
        #expect(out.isEmpty, "stdout: \(out)")
        #expect(err.split(separator: "\n").count == 1 && err.hasPrefix("get-qemu: ") && err.contains(says), "\(err)")
        #expect(!FileManager.default.fileExists(atPath: Self.aptSource))
    }
}

/// QEMU's migration stream, built here byte by byte as `migration/savevm.c` and `ram.c` write it.
@Suite struct MigrationStreamParsing {
    struct Writer {
        var data = Data()
        mutating func byte(_ value: UInt8) { data.append(value) }
        mutating func u32(_ value: UInt32) { for shift in stride(from: 24, through: 0, by: -8) { byte(UInt8(value >> UInt32(shift) & 0xFF)) } }
        mutating func u64(_ value: UInt64) { for shift in stride(from: 56, through: 0, by: -8) { byte(UInt8(value >> UInt64(shift) & 0xFF)) } }
        mutating func name(_ text: String) { byte(UInt8(text.utf8.count)); data.append(contentsOf: Array(text.utf8)) }
        mutating func page(_ offset: Int, block: String?, fill: UInt8?, contents: [UInt8] = []) {
            let flags: UInt64 = (fill != nil ? 0x02 : 0x08) | (block == nil ? 0x20 : 0)
            u64(UInt64(offset) | flags)
            if let block { name(block) }
            if let fill { byte(fill) } else { data.append(contentsOf: contents) }
        }
    }

    static func stream(stamp: [UInt8], firstItem: UInt64? = nil) -> Data {
        var w = Writer()
        w.u32(0x5145_564D); w.u32(3)
        w.byte(0x07); w.u32(10); w.data.append(contentsOf: Array("pc-q35-7.2".utf8))
        // The RAM's start: its blocks, then the end of the section and its footer.
        w.byte(0x01); w.u32(2); w.name("ram"); w.u32(0); w.u32(4)
        w.u64(UInt64((1 << 30) + (256 << 20)) | 0x04)
        w.name("0000:00:01.0/mem0"); w.u64(1 << 30)
        w.name("bootram"); w.u64(256 << 20)
        w.u64(0x10)
        w.byte(0x7E); w.u32(2)
        // QEMU 8.0+: virtio-mem's early state between the RAM's setup and its pages, whose bytes
        // (here with a footer-like run inside) the reader cannot interpret.
        w.byte(0x04); w.u32(38); w.name("0000:00:01.0/virtio-mem-device-early"); w.u32(0); w.u32(1)
        w.data.append(contentsOf: [0x7E, 0x00, 0x00, 0x00, 0x26, 0xFF, 0x12, 0x34])
        w.byte(0x7E); w.u32(38)
        // A part: a zero page and a stamped one of the device, the second continuing its block.
        w.byte(0x02); w.u32(2)
        if let firstItem { w.u64(firstItem) }
        w.page(0, block: "0000:00:01.0/mem0", fill: 0)
        w.page(4096, block: nil, fill: nil, contents: stamp)
        w.u64(0x10)
        w.byte(0x7E); w.u32(2)
        // The next part continues the same block: CONTINUE reaches across sections.
        w.byte(0x02); w.u32(2)
        w.page(8192, block: nil, fill: nil, contents: stamp)
        w.page(0, block: "bootram", fill: nil, contents: stamp)
        w.page(4096, block: nil, fill: nil, contents: Array(String(repeating: "PBCTRL!\n", count: 512).utf8))
        w.u64(0x10)
        w.byte(0x7E); w.u32(2)
        // Device state follows the RAM in a background snapshot; the reading stops there.
        w.byte(0x04); w.u32(0); w.name("timer"); w.u32(0); w.u32(2); w.u64(12345)
        return w.data
    }

    @Test func pagesAreFoundByBlockAcrossSections() throws {
        let stamp = Array(String(repeating: "PBSTAMP\n", count: 512).utf8)
        var pages: [String] = []
        let stream = try MigrationStream(Self.stream(stamp: stamp)) { block, offset, page in
            let kind = page.map { ImageStamp.afterStart.matches($0) ? "stamp" : ImageStamp.control.matches($0) ? "control" : "data" } ?? "zero"
            pages.append("\(block)@\(offset):\(kind)")
        }
        #expect(stream.blocks == [.init(name: "0000:00:01.0/mem0", length: 1 << 30), .init(name: "bootram", length: 256 << 20)])
        #expect(pages == ["0000:00:01.0/mem0@0:zero", "0000:00:01.0/mem0@4096:stamp", "0000:00:01.0/mem0@8192:stamp",
                          "bootram@0:stamp", "bootram@4096:control"])
    }

    @Test func whatItCannotReadIsAnError() {
        let stamp = [UInt8](repeating: 1, count: 4096)
        var truncated = Self.stream(stamp: stamp)
        truncated.removeLast(truncated.count - 200)
        #expect(throws: MigrationStream.Unreadable.self) { try MigrationStream(truncated) { _, _, _ in } }
        // An XBZRLE page (0x40): compression this reader does not undo.
        #expect(throws: MigrationStream.Unreadable.self) {
            try MigrationStream(Self.stream(stamp: stamp, firstItem: 0x40)) { _, _, _ in }
        }
        #expect(throws: MigrationStream.Unreadable.self) { try MigrationStream(Data([0, 0, 0, 0, 0, 0, 0, 3])) { _, _, _ in } }
    }

    @Test func theGuestsUnpluggingLinesMakeHoles() throws {
        let console = """
            [    2.61] virtio_mem virtio0: plugging memory: 0x100000000 - 0x11fffffff
            [    9.10] virtio_mem virtio0: unplugging memory: 0x108000000 - 0x10fffffff
            """
        let ranges = try GuestConsole.pluggedRanges(console, deviceAddress: 0x1_0000_0000)
        #expect(ranges.ranges == [0 ..< 128 << 20, 256 << 20 ..< 512 << 20])
        #expect(GuestLayout.hole.blocksToOffline(pluggedBlocks: 4) == [1])
        #expect(GuestLayout.holes.blocksToOffline(pluggedBlocks: 5) == [1, 3])
        #expect(GuestLayout.hole.blocksToOffline(pluggedBlocks: 1).isEmpty)
    }
}
