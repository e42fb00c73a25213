/// The `trusted=` networks.
public struct TrustedNetworks: Equatable, Sendable {
    public var networks: [CIDR]

    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case malformed(entry: String, line: Int)
        case empty
        public var description: String {
            switch self {
            case .malformed(let entry, let line):
                return "'\(entry)' is not a network in CIDR notation" + (line > 0 ? " (line \(line))" : "")
            case .empty: return "no networks given"
            }
        }
    }

    /// Parses a comma-separated list (the option's value) or a file's text: one network per line,
    /// `#` starting a comment. Any malformed entry refuses the whole list.
    public static func parse(_ text: String, isFile: Bool) throws(Problem) -> TrustedNetworks {
        var networks: [CIDR] = []
        let lines = isFile ? text.split(separator: "\n", omittingEmptySubsequences: false) : [Substring(text)]
        for (index, line) in lines.enumerated() {
            let content = isFile ? (line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "") : line
            // In a file, "a, b," is tolerated; on the module line an empty entry is a typo and refused.
            for raw in content.split(separator: ",", omittingEmptySubsequences: isFile) {
                let entry = raw.trimmingBlanks
                if entry.isEmpty && isFile { continue }
                guard let cidr = CIDR(entry) else { throw .malformed(entry: String(entry.prefix(60)), line: isFile ? index + 1 : 0) }
                networks.append(cidr)
            }
        }
        guard !networks.isEmpty else { throw .empty }
        return TrustedNetworks(networks: networks)
    }

    /// The network `host` (PAM_RHOST) lies in. A host name, or no host, never matches.
    public func match(_ host: String?) -> CIDR? {
        guard let host, let address = IPAddress(host) else { return nil }
        return networks.first { $0.contains(address) }
    }
}

extension Substring {
    /// Without leading and trailing spaces, tabs and carriage returns.
    var trimmingBlanks: Substring {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !blank($0) }), let last = lastIndex(where: { !blank($0) }) else { return self[endIndex...] }
        return self[first...last]
    }
}
