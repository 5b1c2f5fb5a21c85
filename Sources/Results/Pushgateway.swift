import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import PopulateBench

/// A Prometheus Pushgateway (https://github.com/prometheus/pushgateway) that `bench run --push`
/// hands a run's results to, for a Prometheus that scrapes it with `honor_labels: true`.
///
/// Each host and run is one group, `/metrics/job/populatebench/host/<host>/run_id/<run_id>`, and
/// is sent with PUT, which replaces that group whole: pushing a run again leaves no stale series
/// of an earlier push of it. Configuration travels in labels, as in `bench export`.
/// The Pushgateway keeps a group until it is deleted (`DELETE` on the same URL), so a fleet that
/// pushes every night has every night's runs scraped until it cleans them up.
public struct Pushgateway: Sendable {
    public static let job = "populatebench"

    public var url: URL
    /// Seconds one push may take, from connecting to the last byte of the reply.
    public var timeout: TimeInterval

    /// A URL that is not http(s) with a host: bad input, refused before anything runs.
    public struct InvalidURL: Error, CustomStringConvertible {
        public var url: String
        public var description: String { "'\(url)' is not an http:// or https:// URL with a host" }
    }

    /// A push that did not succeed: the group's URL and the HTTP status with the gateway's reason,
    /// or why no reply came.
    public struct PushError: Error, CustomStringConvertible {
        public var url: String
        public var cause: String
        public var description: String { "push to \(url) failed: \(cause)" }
    }

    public init(url: String, timeout: TimeInterval = 10) throws(InvalidURL) {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(),
              scheme == "http" || scheme == "https", parsed.host?.isEmpty == false else {
            throw InvalidURL(url: url)
        }
        self.url = parsed
        self.timeout = timeout
    }

    /// Pushes the raw rows of `bench run`, one PUT per host and run id among them.
    /// - Returns: the group URLs pushed to.
    @discardableResult
    public func push(rows: [[String: String]]) throws(PushError) -> [URL] {
        let export = MetricsExport(rows: rows)
        var groups: [[String]] = []
        for series in export.series {
            let group = [series.label(TrialColumns.Name.host), series.label(TrialColumns.Name.runID)]
            if !groups.contains(group) { groups.append(group) }
        }
        return try groups.map { group throws(PushError) in
            let target = groupURL(host: group[0], runID: group[1])
            let members = export.series.filter { [$0.label(TrialColumns.Name.host), $0.label(TrialColumns.Name.runID)] == group }
            try put(OpenMetricsFormat.render(MetricsExport(series: members)), to: target)
            return target
        }
    }

    /// The grouping key's URL. A value that is empty or holds a `/` cannot be a path segment; the
    /// Pushgateway takes those base64url-encoded after `@base64`.
    public func groupURL(host: String, runID: String) -> URL {
        let base = url.absoluteString.hasSuffix("/") ? String(url.absoluteString.dropLast()) : url.absoluteString
        let key = [("job", Self.job), ("host", host), ("run_id", runID)].map { name, value in
            if value.isEmpty || value.contains("/") {
                let encoded = Data(value.utf8).base64EncodedString()
                    .replacing("+", with: "-").replacing("/", with: "_")
                return "\(name)@base64/\(encoded.isEmpty ? "=" : encoded)"
            }
            let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
            return "\(name)/\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)"
        }
        return URL(string: base + "/metrics/" + key.joined(separator: "/"))!
    }

    /// The body is the OpenMetrics text, declared as Prometheus text 0.0.4: the Pushgateway parses
    /// only that (and protobuf), and the text is valid as both (see `OpenMetricsFormat`).
    func put(_ body: String, to target: URL) throws(PushError) {
        var request = URLRequest(url: target, timeoutInterval: timeout)
        request.httpMethod = "PUT"
        request.setValue("text/plain; version=0.0.4; charset=utf-8", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body.utf8)
        let reply = Reply()
        let done = DispatchSemaphore(value: 0)
        let task = URLSession.shared.dataTask(with: request) { data, response, error in
            if let error {
                reply.outcome.withLock { $0 = .unreachable(error.localizedDescription) }
            } else if let http = response as? HTTPURLResponse {
                let text = String(decoding: data ?? Data(), as: UTF8.self)
                let firstLine = text.split(separator: "\n").first.map(String.init) ?? ""
                reply.outcome.withLock { $0 = .status(http.statusCode, String(firstLine.prefix(300))) }
            } else {
                reply.outcome.withLock { $0 = .unreachable("no HTTP reply") }
            }
            done.signal()
        }
        task.resume()
        // URLRequest's timeout is an idle timeout; this bounds the whole exchange.
        guard done.wait(timeout: .now() + timeout) == .success else {
            task.cancel()
            throw PushError(url: target.absoluteString, cause: "no reply within \(ByteSize.formatDecimal(timeout, digits: 0)) s")
        }
        switch reply.outcome.withLock({ $0 }) {
        case .status(let code, _) where (200 ..< 300).contains(code):
            return
        case .status(let code, let reason):
            let name = HTTPURLResponse.localizedString(forStatusCode: code)
            throw PushError(url: target.absoluteString, cause: "HTTP \(code) \(name)" + (reason.isEmpty ? "" : ": \(reason)"))
        case .unreachable(let cause):
            throw PushError(url: target.absoluteString, cause: cause)
        case nil:
            throw PushError(url: target.absoluteString, cause: "no reply")
        }
    }

    enum Outcome: Sendable {
        case status(Int, String)
        case unreachable(String)
    }

    final class Reply: Sendable {
        let outcome = Mutex<Outcome?>(nil)
    }
}
