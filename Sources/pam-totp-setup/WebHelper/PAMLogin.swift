import CPAM
import Glibc
import PortalProtocol
import TOTPCore

/// A login through PAM (`LOGIN`): `pam_authenticate` and `pam_acct_mgmt` on the portal's service,
/// with the conversation relayed to the web process (docs/PORTAL.md, "Logging in").
///
/// The first echo-off prompt is answered with the password the web process sent; every later prompt
/// goes to the web process as `PROMPT`, with the module's messages before it as `NOTE`s, classified
/// by their exact text (`LoginNotice`), never with the text itself.
final class PAMLogin {
    /// How the login ended.
    enum Result {
        /// `typedCode`: a code or a recovery code was asked for and given.
        case success(user: String, typedCode: Bool)
        case failure(reason: String, seconds: Int64?)
        /// The web process stopped answering, or sent something else than `ANSWER`: close.
        case connectionLost
    }

    private let channel: HelperChannel
    private var password: [UInt8]
    private var passwordGiven = false
    private let answerTimeout: Int
    private(set) var typedCode = false
    private var lastNotice: LoginNotice?
    private var lost = false

    init(channel: HelperChannel, password: String, answerTimeout: Int) {
        self.channel = channel
        self.password = Array(password.utf8)
        self.answerTimeout = answerTimeout
    }

    deinit { for index in password.indices { password[index] = 0 } }

    /// Runs the login. `confdir`: a directory to read the service from instead of /etc/pam.d.
    func run(service: String, user: String, rhost: String, confdir: String?) -> Result {
        var handle: OpaquePointer?
        var conversation = pam_conv(conv: pamLoginConversation, appdata_ptr: Unmanaged.passUnretained(self).toOpaque())
        let started: Int32
        if let confdir {
            started = pam_start_confdir(service, user, &conversation, confdir, &handle)
        } else {
            started = pam_start(service, user, &conversation, &handle)
        }
        guard started == PAM_SUCCESS, let handle else { return .failure(reason: "unavailable", seconds: nil) }
        // PAM_RUSER stays unset: it would claim the request comes from that same user (pam_rhosts,
        // pam_succeed_if ruser, a site's own modules), while it comes from a browser somewhere.
        var status = pam_set_item(handle, PAM_RHOST, rhost)
        if status == PAM_SUCCESS { status = pam_authenticate(handle, 0) }
        var accountRefused = false
        if status == PAM_SUCCESS {
            status = pam_acct_mgmt(handle, 0)
            accountRefused = status != PAM_SUCCESS
        }
        // The name the stack settled on (a module may canonicalise it).
        var item: UnsafeRawPointer?
        var finalUser = user
        if status == PAM_SUCCESS, pam_get_item(handle, PAM_USER, &item) == PAM_SUCCESS, let item {
            finalUser = String(cString: item.assumingMemoryBound(to: CChar.self))
        }
        pam_end(handle, status)
        if lost { return .connectionLost }
        if status == PAM_SUCCESS { return .success(user: finalUser, typedCode: typedCode) }
        if accountRefused { return .failure(reason: status == PAM_CONV_ERR ? "unavailable" : "account", seconds: nil) }
        let (reason, seconds) = Self.reason(status, lastNotice: lastNotice)
        return .failure(reason: reason, seconds: seconds)
    }

    /// The `DONE result=fail` reason of a refused `pam_authenticate`: one reason for a wrong password,
    /// a wrong code and an unknown user; the module's throttling and lockout from its last message.
    static func reason(_ status: Int32, lastNotice: LoginNotice?) -> (String, Int64?) {
        switch status {
        case PAM_AUTH_ERR, PAM_USER_UNKNOWN, PAM_PERM_DENIED, PAM_CRED_INSUFFICIENT, PAM_MAXTRIES:
            switch lastNotice {
            case .throttled(let seconds): return ("throttled", seconds)
            case .locked: return ("locked", nil)
            default: return ("auth", nil)
            }
        default: return ("unavailable", nil)
        }
    }

    /// Answers one message of the conversation; nil ends it with PAM_CONV_ERR.
    fileprivate func answer(style: Int32, text: String) -> [UInt8]? {
        if lost { return nil }
        switch style {
        case PAM_ERROR_MSG, PAM_TEXT_INFO:
            let notice = LoginNotice(message: text)
            lastNotice = notice
            var fields: [(String, String)] = [("kind", Self.kind(notice))]
            if case .throttled(let seconds) = notice { fields.append(("seconds", String(seconds))) }
            if case .recoveryAccepted(let remaining) = notice { fields.append(("remaining", String(remaining))) }
            guard channel.send(PortalMessage("NOTE", fields)) else { return lose() }
            return []
        case PAM_PROMPT_ECHO_OFF:
            if !passwordGiven {
                passwordGiven = true
                return password
            }
            guard let typed = relay(PortalMessage("PROMPT", [("kind", "code")])) else { return nil }
            if !typed.isEmpty { typedCode = true }
            return typed
        case PAM_PROMPT_ECHO_ON:
            if let seconds = LoginNotice.rememberQuestion(text) {
                return relay(PortalMessage("PROMPT", [("kind", "remember"), ("days", String(max(1, seconds / 86_400)))]))
            }
            return relay(PortalMessage("PROMPT", [("kind", "other")]))
        default:
            return nil
        }
    }

    /// Sends a prompt and waits (at most `answerTimeout` seconds) for its `ANSWER`.
    private func relay(_ prompt: PortalMessage) -> [UInt8]? {
        guard channel.send(prompt) else { return lose() }
        guard case .message(let message) = channel.receive(within: answerTimeout), message.verb == "ANSWER",
            message.fields.count == 1, let value = message["value"], !value.utf8.contains(0)
        else { return lose() }
        return Array(value.utf8)
    }

    private func lose() -> [UInt8]? {
        lost = true
        return nil
    }

    static func kind(_ notice: LoginNotice) -> String {
        switch notice {
        case .wrongCode: return "wrong-code"
        case .noCode: return "no-code"
        case .replayed: return "replayed"
        case .passwordAsCode: return "password-as-code"
        case .locked: return "locked"
        case .throttled: return "throttled"
        case .recoveryAccepted: return "recovery-accepted"
        case .other: return "other"
        }
    }
}

/// libpam's conversation function: hands each message to the `PAMLogin` in `appdata` and returns
/// the answers in memory libpam frees (calloc'd array, strdup'd strings).
private func pamLoginConversation(
    _ count: Int32, _ messages: UnsafeMutablePointer<UnsafePointer<pam_message>?>?,
    _ responses: UnsafeMutablePointer<UnsafeMutablePointer<pam_response>?>?, _ appdata: UnsafeMutableRawPointer?
) -> Int32 {
    guard count > 0, count <= PAM_MAX_NUM_MSG, let messages, let responses, let appdata else { return PAM_CONV_ERR }
    let login = Unmanaged<PAMLogin>.fromOpaque(appdata).takeUnretainedValue()
    guard let replies = calloc(Int(count), MemoryLayout<pam_response>.stride)?.bindMemory(to: pam_response.self, capacity: Int(count))
    else { return PAM_BUF_ERR }
    for index in 0..<Int(count) {
        guard let message = messages[index] else { return fail(replies, count) }
        let text = message.pointee.msg.map { String(cString: $0) } ?? ""
        guard var answer = login.answer(style: message.pointee.msg_style, text: text) else { return fail(replies, count) }
        answer.append(0)
        let copy = malloc(answer.count)?.bindMemory(to: CChar.self, capacity: answer.count)
        guard let copy else { return fail(replies, count) }
        answer.withUnsafeBytes { raw in
            if let base = raw.baseAddress { memcpy(copy, base, raw.count) }
        }
        for i in answer.indices { answer[i] = 0 }
        replies[index].resp = copy
        replies[index].resp_retcode = 0
    }
    responses.pointee = replies
    return PAM_SUCCESS
}

/// Frees what was answered so far (zeroed first: a password may be among it).
private func fail(_ replies: UnsafeMutablePointer<pam_response>, _ count: Int32) -> Int32 {
    for index in 0..<Int(count) {
        if let text = replies[index].resp {
            memset(text, 0, strlen(text))
            free(text)
        }
    }
    free(replies)
    return PAM_CONV_ERR
}
