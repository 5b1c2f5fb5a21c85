import ArgumentParser
import Foundation
import PopulateBench

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "What this host offers, and which backends and strategies can run here."
    )

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        var plan = RunPlan(strategies: Strategy.allCases)
        plan.hugetlbfsPath = HugetlbfsMounts.find(pageSize: plan.hugePageSize)
        let report = DoctorReport(host: HostCapabilities.probe(), plan: plan)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.renderText())
        }
    }
}
