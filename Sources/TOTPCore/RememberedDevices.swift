/// What "the same device" means: the SSH key that already authenticated the connection, or else the
/// client's address. Never anything when neither is known (a local login).
public enum DeviceIdentity: Equatable, Sendable, CustomStringConvertible {
    case key(fingerprint: String)
    case address(String)

    /// The identity from sshd's `SSH_AUTH_INFO_0` (lines like `publickey ssh-ed25519 AAAA…`) or from
    /// `PAM_RHOST`, which must be an IP address (a host name could be spoofed through DNS).
    public static func find(authInfo: String?, remoteHost: String?) -> DeviceIdentity? {
        if let authInfo {
            for line in authInfo.split(separator: "\n") {
                let words = line.split(separator: " ")
                if words.count >= 3, words[0] == "publickey", let blob = Base64.decode(words[2]) {
                    return .key(fingerprint: "SHA256:" + Base64.encode(Crypto.sha256(blob), padded: false))
                }
            }
        }
        if let remoteHost, let address = IPAddress(remoteHost) { return .address(address.description) }
        return nil
    }

    /// `key:SHA256:…` or `address:192.0.2.7`, as the state file and the tool write it.
    public var description: String {
        switch self {
        case .key(let fingerprint): return "key:" + fingerprint
        case .address(let address): return "address:" + address
        }
    }

    public init?(_ text: Substring) {
        if text.hasPrefix("key:SHA256:") {
            let fingerprint = text.dropFirst(4)
            guard fingerprint.utf8.count <= 60, fingerprint.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return nil }
            self = .key(fingerprint: String(fingerprint))
        } else if text.hasPrefix("address:"), let address = IPAddress(text.dropFirst(8)) {
            self = .address(address.description)
        } else {
            return nil
        }
    }
}

/// A device whose code may be skipped until `expires`.
public struct RememberedDevice: Equatable, Sendable {
    /// The enrollment the device was remembered under; another enrollment (re-enrolling) ignores it.
    public var enrollment: String
    public var device: DeviceIdentity
    public var created: Int64
    public var expires: Int64

    public init(enrollment: String, device: DeviceIdentity, created: Int64, expires: Int64) {
        self.enrollment = enrollment
        self.device = device
        self.created = created
        self.expires = expires
    }
}
