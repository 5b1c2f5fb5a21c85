import LinuxMM

/// The `--numa` forms: `local`, `bind:N[,M]`, `interleave:all`, `interleave:N,M`, `preferred:N`.
public enum NUMAPolicyText {
    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Parses and resolves `all` against the nodes this host has; every node must exist.
    public static func parse(_ text: String, nodes: [Int]) throws(ParseError) -> NUMA.Policy {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let kind = parts.first ?? ""
        if kind == "local" && parts.count == 1 { return .local }
        guard parts.count == 2, ["bind", "interleave", "preferred"].contains(kind) else {
            throw ParseError(description: "'\(text)' is not one of local, bind:N, interleave:all, interleave:N,M, preferred:N")
        }
        guard !nodes.isEmpty else {
            throw ParseError(description: "this host has no NUMA support, so only 'local' applies")
        }
        let list: [Int]
        if parts[1] == "all" && kind == "interleave" {
            list = nodes
        } else {
            let items = parts[1].split(separator: ",", omittingEmptySubsequences: false)
            let parsed = items.compactMap { Int($0) }
            guard !items.isEmpty, parsed.count == items.count, Set(parsed).count == parsed.count else {
                throw ParseError(description: "'\(parts[1])' is not a list of distinct node numbers")
            }
            list = parsed
        }
        for node in list where !nodes.contains(node) {
            throw ParseError(description: "node \(node) does not exist (nodes: \(nodes.map(String.init).joined(separator: ",")))")
        }
        switch kind {
        case "bind": return .bind(list)
        case "interleave": return .interleave(list)
        default:
            guard list.count == 1 else { throw ParseError(description: "preferred takes one node") }
            return .preferred(list[0])
        }
    }

    public static func format(_ policy: NUMA.Policy) -> String {
        switch policy {
        case .local: "local"
        case let .bind(nodes): "bind:" + nodes.map(String.init).joined(separator: ",")
        case let .interleave(nodes): "interleave:" + nodes.map(String.init).joined(separator: ",")
        case let .preferred(node): "preferred:\(node)"
        }
    }
}
