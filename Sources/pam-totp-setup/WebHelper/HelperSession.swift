import Glibc
import PortalProtocol
import TOTPCore
import TOTPCrypto

/// What one helper child needs to serve a session.
struct HelperSettings {
    let portal: PortalConfig
    /// `setup_networks`, parsed; empty with `setupFromAnywhere` false means from nowhere.
    let setupNetworks: [CIDR]
    /// The tool's `--config`, `--state`, `--secret` and `--store`, for the user a session is bound to.
    let site: SiteOptions
    /// `--pam-dir`: the PAM configuration directory instead of /etc/pam.d (tests, `make portal-demo`).
    let pamDirectory: String?

    func setupAllowed(from rhost: String) -> Bool {
        if portal.setupFromAnywhere { return true }
        guard let address = IPAddress(rhost) else { return false }
        return setupNetworks.contains { $0.contains(address) }
    }
}

/// One browser session, in a child of the listener (docs/PORTAL.md, "The helper protocol"): a login,
/// then requests on behalf of that one user, until the connection closes, `BYE`, a protocol error,
/// or `session_idle` seconds without a request.
final class HelperSession {
    private let channel: HelperChannel
    private let settings: HelperSettings
    /// The user this connection is bound to after a successful login, and when that was.
    private var target: Target?
    private var loggedInAt: Int64 = 0
    private var rhost = ""
    /// The enrollment of `SETUP-BEGIN`, with its secret: only here, until `SETUP-VERIFY` saves it.
    private var pending: Enrollment?
    /// The identifier of the enrollment `SETUP-VERIFY` just saved, until `REMEMBER` uses it.
    private var justEnrolled: String?

    /// Why a request is refused; `bad-request` also ends the connection.
    struct Refusal: Error {
        let reason: String
        var fields: [(String, String)] = []
    }

    /// When the session ends whatever it does (monotonic seconds).
    private let endsAt: Int64

    init(channel: HelperChannel, settings: HelperSettings, lifetime: Int) {
        self.channel = channel
        self.settings = settings
        self.endsAt = Self.monotonicNow() + Int64(lifetime)
    }

    /// Serves requests until the session ends.
    func serve() {
        while true {
            let left = endsAt - Self.monotonicNow()
            guard left > 0 else {
                log("closed: the session's lifetime is over")
                return
            }
            let received = channel.receive(within: Int(min(Int64(settings.portal.sessionIdle), left)))
            guard case .message(let request) = received else {
                if case .malformed = received { log("closed: malformed line") }
                if case .timeout = received {
                    log(
                        left <= Int64(settings.portal.sessionIdle)
                            ? "closed: the session's lifetime is over" : "closed: idle for \(settings.portal.sessionIdle) s")
                }
                return
            }
            do {
                guard let answer = try handle(request) else { return }
                guard channel.send(answer) else { return }
                if request.verb == "BYE" { return }
            } catch let refusal as Refusal {
                channel.send(PortalMessage("ERR", [("reason", refusal.reason)] + refusal.fields))
                if refusal.reason == "bad-request" {
                    log("closed: bad request (\(request.verb.prefix(32)))")
                    return
                }
            } catch {
                // Storage or system error: nothing was changed (every write is all-or-nothing).
                log("error: \(String(describing: error).prefix(300))")
                channel.send(PortalMessage("ERR", [("reason", "unavailable")]))
            }
        }
    }

    /// Answers one request; nil ends the session without an answer (a failed login's DONE was sent).
    private func handle(_ request: PortalMessage) throws -> PortalMessage? {
        switch request.verb {
        case "LOGIN": return try login(request)
        case "BYE":
            try expect(request, [])
            return PortalMessage("OK")
        case "STATUS", "SETUP-BEGIN", "SETUP-SHOW", "SETUP-VERIFY", "REMEMBER", "RECOVERY-NEW", "DELETE", "FORGET":
            break
        default:
            throw Refusal(reason: "bad-request")
        }
        let keys: [String]
        switch request.verb {
        case "SETUP-VERIFY", "RECOVERY-NEW", "DELETE": keys = ["code"]
        case "FORGET": keys = ["device"]
        default: keys = []
        }
        try expect(request, keys)
        guard let target else { throw Refusal(reason: "not-logged-in") }
        switch request.verb {
        case "STATUS": return try status(target)
        case "SETUP-BEGIN": return try setupBegin(target)
        case "SETUP-SHOW": return try setupShow(target)
        case "SETUP-VERIFY": return try setupVerify(target, code: request["code"] ?? "")
        case "REMEMBER": return try remember(target)
        case "RECOVERY-NEW": return try newRecoveryCodes(target, code: request["code"] ?? "")
        case "DELETE": return try delete(target, code: request["code"] ?? "")
        default: return try forget(target, device: request["device"] ?? "")
        }
    }

    /// Refuses a request whose fields are not exactly `keys`.
    private func expect(_ request: PortalMessage, _ keys: [String]) throws {
        guard request.fields.count == keys.count, keys.allSatisfy({ request[$0] != nil }) else { throw Refusal(reason: "bad-request") }
    }

    // MARK: - Logging in

    private func login(_ request: PortalMessage) throws -> PortalMessage? {
        try expect(request, ["user", "rhost", "password"])
        guard target == nil, let user = request["user"], let rhost = request["rhost"], let password = request["password"],
            PathTemplate.isSafeUserName(user), IPAddress(rhost) != nil, !password.isEmpty,
            password.utf8.count <= 1024, !password.utf8.contains(0)
        else { throw Refusal(reason: "bad-request") }
        self.rhost = rhost
        let pam = PAMLogin(channel: channel, password: password, answerTimeout: settings.portal.answerTimeout)
        switch pam.run(service: settings.portal.pamService, user: user, rhost: rhost, confdir: settings.pamDirectory) {
        case .connectionLost:
            log("login of user=\(user) rhost=\(rhost): the web process stopped answering; closed")
            return nil
        case .failure(let reason, let seconds):
            log("login failed: user=\(user) rhost=\(rhost) reason=\(reason)")
            var fields = [("result", "fail"), ("reason", reason)]
            if let seconds { fields.append(("seconds", String(seconds))) }
            channel.send(PortalMessage("DONE", fields))
            return nil
        case .success(let name, let typedCode):
            let bound: Target
            let enrolled: Bool
            do {
                bound = try bind(name)
                enrolled = try bound.place.read() != nil
            } catch {
                log("login of user=\(user) rhost=\(rhost) succeeded but the user's enrollment cannot be read: \(error)")
                channel.send(PortalMessage("DONE", [("result", "fail"), ("reason", "unavailable")]))
                return nil
            }
            target = bound
            loggedInAt = Self.monotonicNow()
            log("logged in: user=\(bound.name) rhost=\(rhost) enrolled=\(enrolled ? "yes" : "no") code=\(typedCode ? "yes" : "no")")
            return PortalMessage(
                "DONE", [("result", "ok"), ("enrolled", enrolled ? "yes" : "no"), ("code", typedCode ? "yes" : "no")])
        }
    }

    /// The user this connection now acts on, as the tool's other commands find them.
    private func bind(_ name: String) throws -> Target {
        try settings.site.resolve(user: name)
    }

    // MARK: - Requests

    private func status(_ target: Target) throws -> PortalMessage {
        var fields = [("user", target.name)]
        if let enrollment = try target.place.read() {
            let p = enrollment.parameters
            let state = try target.withState { try $0.read() }
            fields += [
                ("enrolled", "yes"), ("type", enrollment.type.rawValue), ("algorithm", p.algorithm.rawValue),
                ("digits", String(p.digits)), ("period", String(p.period)),
                ("recovery-left", String(enrollment.recovery.map(state.recoveryCodesLeft(of:)) ?? 0)),
            ]
            if let created = enrollment.created { fields.append(("created", String(created))) }
            fields.append(("setup-allowed", settings.setupAllowed(from: rhost) ? "yes" : "no"))
            let devices = try rememberedDevices(target, enrollment).map { "\($0.device)@\($0.created)@\($0.expires)" }
            fields.append(("devices", devices.joined(separator: ",")))
        } else {
            fields += [("enrolled", "no"), ("setup-allowed", settings.setupAllowed(from: rhost) ? "yes" : "no"), ("devices", "")]
        }
        return PortalMessage("OK", fields)
    }

    private func setupBegin(_ target: Target) throws -> PortalMessage {
        try requireFresh()
        guard !target.place.isPresent else { throw Refusal(reason: "already-enrolled") }
        guard settings.setupAllowed(from: rhost) else {
            log("setup refused: user=\(target.name) rhost=\(rhost) is outside setup_networks")
            throw Refusal(reason: "network")
        }
        pending = try makeEnrollment(
            secret: try Crypto.randomSecret(20), parameters: OTPParameters(algorithm: .sha1, digits: 6, period: 30), issuer: target.issuer)
        justEnrolled = nil
        log("setup begun: user=\(target.name) rhost=\(rhost)")
        return try setupShow(target)
    }

    private func setupShow(_ target: Target) throws -> PortalMessage {
        guard let pending else { throw Refusal(reason: "no-pending") }
        let issuer = pending.issuer ?? target.issuer
        let uri = OTPAuthURI.uri(issuer: issuer, account: target.name, enrollment: pending)
        let png = try QRCode(uri).png(pixelsPerModule: 6)
        return PortalMessage(
            "OK",
            [
                ("uri", uri), ("secret", Base32.encode(pending.secret)), ("issuer", issuer), ("account", target.name),
                ("qr", Base64.encode(png)),
            ])
    }

    private func setupVerify(_ target: Target, code: String) throws -> PortalMessage {
        try requireFresh()
        guard let pending else { throw Refusal(reason: "no-pending") }
        guard !target.place.isPresent else { throw Refusal(reason: "already-enrolled") }
        guard settings.setupAllowed(from: rhost) else { throw Refusal(reason: "network") }
        var typed = Array(code.utf8)
        let input = CodeInput.classify(Secret(taking: &typed), digits: pending.parameters.digits)
        // As `enroll` confirms: the code judged against the new secret alone (not refused as a replay
        // of the old enrollment's steps); its step is recorded with the new enrollment below, so the
        // module refuses the same code afterwards.
        let check = try codeCheck(input, enrollment: pending, target: target, origin: LoginOrigin(remoteHost: rhost, authInfo: nil))
        let (outcome, accepted) = decideAlone(check, enrollment: pending)
        guard case .otp = input, outcome.isSuccess else {
            log("setup code mismatch: user=\(target.name) rhost=\(rhost)")
            throw Refusal(reason: "mismatch")
        }
        let (enrollment, codes) = try withNewRecoveryCodes(pending, count: 10)
        // Create-only, under the user's lock: an enrollment that appeared meanwhile (another session,
        // the tool) is not replaced.
        switch try changeEnrollment(target, expected: nil, check: nil, change: .create(enrollment, accepted: accepted)) {
        case .changed: break
        case .enrollmentChanged:
            log("setup refused: user=\(target.name) rhost=\(rhost) was enrolled meanwhile")
            throw Refusal(reason: "already-enrolled")
        case .refused: throw Refusal(reason: "unavailable")
        }
        self.pending = nil
        justEnrolled = pending.identifier
        log("enrolled: user=\(target.name) rhost=\(rhost) through the portal, with 10 recovery codes")
        return PortalMessage("OK", [("recovery", codes.joined(separator: ","))])
    }

    private func remember(_ target: Target) throws -> PortalMessage {
        guard let identifier = justEnrolled else { throw Refusal(reason: "no-pending") }
        guard let device = DeviceIdentity.find(authInfo: nil, remoteHost: rhost) else { throw Refusal(reason: "bad-request") }
        let duration = Int64(settings.portal.rememberDays) * 86_400
        let until = try target.withState { locked -> Int64 in
            var state = try locked.read()
            let now = Int64(time(nil))
            state.remember(device, enrollment: identifier, now: now, duration: duration)
            try withSignalsBlocked { try locked.write(state) }
            return now + duration
        }
        justEnrolled = nil
        log("remembered device: user=\(target.name) device=\(device) until=\(UTCTimestamp.format(until))")
        return PortalMessage("OK", [("until", String(until))])
    }

    private func newRecoveryCodes(_ target: Target, code: String) throws -> PortalMessage {
        try requireFresh()
        guard let enrollment = try target.place.read() else { throw Refusal(reason: "not-enrolled") }
        let (renewed, codes) = try withNewRecoveryCodes(enrollment, count: 10)
        try prove(
            code, enrollment: enrollment, target: target, allowRecovery: false, purpose: "new recovery codes", change: .replace(renewed))
        log("new recovery codes: user=\(target.name) rhost=\(rhost)")
        return PortalMessage("OK", [("recovery", codes.joined(separator: ","))])
    }

    private func delete(_ target: Target, code: String) throws -> PortalMessage {
        try requireFresh()
        guard let enrollment = try target.place.read() else { throw Refusal(reason: "not-enrolled") }
        try prove(code, enrollment: enrollment, target: target, allowRecovery: true, purpose: "delete", change: .remove)
        justEnrolled = nil
        log("deleted the enrollment: user=\(target.name) rhost=\(rhost)")
        return PortalMessage("OK")
    }

    private func forget(_ target: Target, device text: String) throws -> PortalMessage {
        guard let device = DeviceIdentity(Substring(text)) else { throw Refusal(reason: "bad-request") }
        let forgotten = try target.withState { locked -> Bool in
            var state = try locked.read()
            let before = state.devices.count
            state.devices.removeAll { $0.device == device }
            guard state.devices.count != before else { return false }
            try withSignalsBlocked { try locked.write(state) }
            return true
        }
        guard forgotten else { throw Refusal(reason: "no-such-device") }
        log("forgot a remembered device: user=\(target.name) device=\(device) rhost=\(rhost)")
        return PortalMessage("OK")
    }

    /// Decides the code asked before a change as `reset` and `recovery-codes` do (recorded in the
    /// module's state, with the browser's address as the throttling source) and, if it is accepted,
    /// makes `change`: both under the user's lock, and only if the enrollment is still `enrollment`
    /// (`changeEnrollment`).
    private func prove(
        _ code: String, enrollment: Enrollment, target: Target, allowRecovery: Bool, purpose: String, change: EnrollmentChange
    ) throws {
        var typed = Array(code.utf8)
        var input = CodeInput.classify(Secret(taking: &typed), digits: enrollment.parameters.digits)
        if case .recovery = input, !allowRecovery { input = .malformed }
        let check = try codeCheck(input, enrollment: enrollment, target: target, origin: LoginOrigin(remoteHost: rhost, authInfo: nil))
        let outcome: AttemptOutcome
        switch try changeEnrollment(target, expected: enrollment, check: check, change: change) {
        case .changed: return
        case .refused(let refused): outcome = refused
        case .enrollmentChanged:
            log("\(purpose) refused: user=\(target.name) rhost=\(rhost): the enrollment changed meanwhile")
            throw Refusal(reason: target.place.isPresent ? "unavailable" : "not-enrolled")
        }
        log("\(purpose) refused: user=\(target.name) rhost=\(rhost) reason=\(outcome.reason)")
        switch outcome {
        case .throttled(let seconds): throw Refusal(reason: "throttled", fields: [("seconds", String(seconds))])
        case .locked: throw Refusal(reason: "locked")
        default: throw Refusal(reason: "mismatch")
        }
    }

    private func requireFresh() throws {
        guard Self.monotonicNow() - loggedInAt <= Int64(settings.portal.freshLogin) else { throw Refusal(reason: "not-fresh") }
    }

    static func monotonicNow() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec)
    }

    /// One line in the system log; never a password, code, secret, recovery code or URI.
    private func log(_ text: String) { helperLog(text) }
}
