import LinuxMM

/// The `--numa` forms: `local`, `bind:N[,M]`, `interleave:all`, `interleave:N,M`, `preferred:N`.
public enum NUMAPolicyText {
    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    /// A policy as written, before its nodes are checked against a host.
    public enum Spec: Equatable, Sendable {
        case local
        case bind([Int])
        case interleaveAll
        case interleave([Int])
        case preferred(Int)
    }

    /// Parses and resolves `all` against the nodes this host has; every node must exist.
    public static func parse(_ text: String, nodes: [Int]) throws(ParseError) -> NUMA.Policy {
        try resolve(try parseSpec(text), nodes: nodes)
    }

    /// The syntax alone: what a command line can check before it knows the host.
    public static func parseSpec(_ text: String) throws(ParseError) -> Spec {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let kind = parts.first ?? ""
        if kind == "local" && parts.count == 1 { return .local }
        guard parts.count == 2, ["bind", "interleave", "preferred"].contains(kind) else {
            throw ParseError(description: "'\(text)' is not one of local, bind:N, interleave:all, interleave:N,M, preferred:N")
        }
        if parts[1] == "all" && kind == "interleave" { return .interleaveAll }
        let items = parts[1].split(separator: ",", omittingEmptySubsequences: false)
        let list = items.compactMap { Int($0) }
        guard !items.isEmpty, list.count == items.count, Set(list).count == list.count, list.allSatisfy({ $0 >= 0 }) else {
            throw ParseError(description: "'\(parts[1])' is not a list of distinct node numbers")
        }
        switch kind {
        case "bind": return .bind(list)
        case "interleave": return .interleave(list)
        default:
            guard list.count == 1 else { throw ParseError(description: "preferred takes one node") }
            return .preferred(list[0])
        }
    }

    /// Checks every node of `spec` against the host's `nodes`.
    public static func resolve(_ spec: Spec, nodes: [Int]) throws(ParseError) -> NUMA.Policy {
        if spec == .local { return .local }
        guard !nodes.isEmpty else {
            throw ParseError(description: "this host has no NUMA support, so only 'local' applies")
        }
        let policy: NUMA.Policy
        switch spec {
        case .local: return .local
        case let .bind(list): policy = .bind(list)
        case .interleaveAll: policy = .interleave(nodes)
        case let .interleave(list): policy = .interleave(list)
        case let .preferred(node): policy = .preferred(node)
        }
        let used: [Int]
        switch policy {
        case let .bind(list), let .interleave(list): used = list
        case let .preferred(node): used = [node]
        case .local: used = []
        }
        for node in used where !nodes.contains(node) {
            throw ParseError(description: "node \(node) does not exist (nodes: \(nodes.map(String.init).joined(separator: ",")))")
        }
        return policy
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
