import PortalCore
import PortalProtocol

/// The POST routes. Each answers with a redirect to a GET page (so that reloading a page never sends
/// a form again), leaving its errors and notices in the session for that page.
extension Portal {
    // MARK: - Logging in

    /// `POST /login`: the password step of a first login, or of a login again before an action that
    /// needs a fresh one.
    func postLogin(_ info: RequestInfo, _ session: WebSession, _ token: String) async -> Reply {
        let isAgain = session.user != nil
        let back = isAgain ? "/login" : "/"
        if let login = session.login {
            session.drop(login.connection)
            session.login = nil
            session.setWaiting(nil)
            store.withLock { $0.endLogin(token, loggedIn: false) }
        }
        let user: String
        switch Input.account(info.form["account"] ?? "", domains: config.domains) {
        case .success(let name): user = name
        case .failure(let message):
            session.errors.add(message)
            return Reply.redirect(back)
        }
        if !isAgain { session.lastAccount = user }
        if isAgain && user != session.user {
            session.errors.add(Message(.errReauthAccount))
            return Reply.redirect(back)
        }
        let password: String
        switch Input.password(info.form["password"] ?? "") {
        case .success(let text): password = text
        case .failure(let message):
            session.errors.add(message)
            return Reply.redirect(back)
        }
        // The login's helper connection is counted before it is opened: beyond the caps, "busy".
        // A login of the same address evicted for it is closed under the store's lock, as the
        // sweeper closes one that waited too long.
        let admission = store.withLock { store in
            var evicted: [WebSession] = []
            let admission = store.beginLogin(token, now: System.monotonicSeconds(), evicted: &evicted)
            for old in evicted { old.abandonWaitingLogin() }
            return admission
        }
        switch admission {
        case .admitted: break
        case .busy: return busyPage(info, session)
        case .gone: return Reply.redirect("/")
        }
        let connection: HelperConnection
        do {
            connection = try await HelperConnection.connect(path: config.helper)
        } catch {
            System.writeError("cannot connect to the helper at \(config.helper): \(error)")
            store.withLock { $0.endLogin(token, loggedIn: false) }
            session.errors.add(Message(.errUnavailable))
            return Reply.redirect(back)
        }
        session.track(connection)
        do {
            try await connection.send(PortalMessage("LOGIN", [("user", user), ("rhost", info.client), ("password", password)]))
        } catch {
            // The helper closes a connection beyond its max_sessions at once.
            if error == .closed { return loginBusy(info, session, token, connection) }
            return loginFailed(session, token, connection, [Message(.errUnavailable)])
        }
        return await conversation(info, session, token, connection: connection, user: user, answered: false)
    }

    /// `POST /login/code`: the code or a recovery code, as the module's prompt asked.
    func postLoginCode(_ info: RequestInfo, _ session: WebSession, _ token: String) async -> Reply {
        guard let login = session.login, login.step == .code else {
            session.errors.add(Message(.errState))
            return Reply.redirect("/")
        }
        let code: String
        switch Input.codeOrRecovery(info.form["code"] ?? "") {
        case .success(let text): code = text
        case .failure(let message):
            session.errors.add(message)
            return Reply.redirect("/login/code")
        }
        return await answer(info, session, token, login, code)
    }

    /// `POST /login/remember`: the answer to "Skip the code on this device?" (no unless yes).
    func postLoginRemember(_ info: RequestInfo, _ session: WebSession, _ token: String) async -> Reply {
        guard let login = session.login, case .remember = login.step else {
            session.errors.add(Message(.errState))
            return Reply.redirect("/")
        }
        return await answer(info, session, token, login, info.form["remember"] == "yes" ? "yes" : "no")
    }

    func answer(_ info: RequestInfo, _ session: WebSession, _ token: String, _ login: LoginInProgress, _ value: String) async -> Reply {
        session.login = nil
        // A login that waited longer than answer_timeout was dropped by the sweeper.
        let waiting = store.withLock { store in
            session.setWaiting(nil)
            return store.loginAnswered(token)
        }
        guard waiting else { return loginFailed(session, token, login.connection, [Message(.errSessionExpired)]) }
        do {
            try await login.connection.send(PortalMessage("ANSWER", [("value", value)]))
        } catch {
            return loginFailed(session, token, login.connection, [Message(.errSessionExpired)])
        }
        return await conversation(info, session, token, connection: login.connection, user: login.user, answered: true)
    }

    /// Reads the helper's lines after LOGIN or ANSWER until the next prompt or the end of the login.
    func conversation(
        _ info: RequestInfo, _ session: WebSession, _ token: String, connection: HelperConnection, user: String, answered: Bool
    ) async -> Reply {
        var errors: [Message] = []
        var notices: [Message] = []
        // A login relays a handful of lines; a helper that writes more is not followed further.
        for index in 0..<32 {
            let message: PortalMessage
            do {
                message = try await connection.receive()
            } catch {
                // The helper closes a connection beyond its max_sessions without a word.
                if !answered && index == 0 && error == .closed { return loginBusy(info, session, token, connection) }
                // After an answer, a closed connection is most often the helper's own timeout.
                let closed = error == .closed || error == .timeout
                return loginFailed(session, token, connection, [Message(answered && closed ? .errSessionExpired : .errUnavailable)])
            }
            switch LoginEvent.from(message, rememberDays: config.rememberDays) {
            case .notice(let text): notices.append(text)
            case .error(let text): errors.append(text)
            case .answerEmpty:
                // Any other prompt gets an empty answer (docs/PORTAL.md).
                do {
                    try await connection.send(PortalMessage("ANSWER", [("value", "")]))
                } catch {
                    return loginFailed(session, token, connection, [Message(.errUnavailable)])
                }
            case .askCode:
                return waitForAnswer(session, token, LoginInProgress(connection: connection, user: user, step: .code), errors, notices)
            case .askRemember(let days):
                let login = LoginInProgress(connection: connection, user: user, step: .remember(days: days))
                return waitForAnswer(session, token, login, errors, notices)
            case .succeeded:
                session.notices += notices
                return await loginSucceeded(info, session, token, connection: connection, user: user)
            case .failed(let text):
                return loginFailed(session, token, connection, LoginEvent.failureMessages(errors: errors, notices: notices, reason: text))
            }
        }
        return loginFailed(session, token, connection, [Message(.errUnavailable)])
    }

    /// The helper asks a question: its page, with what the module said before it.
    func waitForAnswer(_ session: WebSession, _ token: String, _ login: LoginInProgress, _ errors: [Message], _ notices: [Message]) -> Reply
    {
        session.login = login
        session.errors += errors
        session.notices += notices
        // From now on the sweeper closes the connection if the user does not answer in time.
        let counted = store.withLock { store in
            guard store.loginWaits(token, now: System.monotonicSeconds()) else { return false }
            session.setWaiting(login.connection)
            return true
        }
        guard counted else { return loginFailed(session, token, login.connection, [Message(.errSessionExpired)]) }
        return Reply.redirect(loginStepPath(session))
    }

    func loginFailed(_ session: WebSession, _ token: String, _ connection: HelperConnection, _ errors: [Message]) -> Reply {
        endLogin(session, token, connection)
        session.errors += errors
        return Reply.redirect(session.user == nil ? "/" : "/login")
    }

    /// The helper refused the connection (it has max_sessions already): the busy page.
    func loginBusy(_ info: RequestInfo, _ session: WebSession, _ token: String, _ connection: HelperConnection) -> Reply {
        System.writeError("the helper closed a new connection at once: it has max_sessions sessions already")
        endLogin(session, token, connection)
        return busyPage(info, session)
    }

    /// The login's connection is closed and no longer counted.
    func endLogin(_ session: WebSession, _ token: String, _ connection: HelperConnection) {
        session.drop(connection)
        session.login = nil
        session.setWaiting(nil)
        store.withLock { $0.endLogin(token, loggedIn: false) }
    }

    func loginSucceeded(_ info: RequestInfo, _ session: WebSession, _ token: String, connection: HelperConnection, user: String) async
        -> Reply
    {
        session.login = nil
        if let old = session.helper {
            // A login again: the new connection is the fresh one; the old one ends.
            await old.bye()
            session.drop(old)
        } else {
            session.user = user
        }
        session.helper = connection
        // The login's connection is now the session's one (it was counted when the login began).
        store.withLock { $0.endLogin(token, loggedIn: true) }
        session.loginAt = System.monotonicSeconds()
        session.csrf = Token.make()
        let newToken = rotate(token) ?? token
        let purpose = session.reauthPurpose
        session.reauthPurpose = nil
        var reply: Reply
        switch purpose {
        case .setup:
            reply = await beginSetup(session, newToken)
        case .newCodes, .delete:
            session.notices.add(Message(.noticeReauthDone))
            reply = Reply.redirect("/")
        case nil:
            reply = Reply.redirect("/")
        }
        if newToken != token { reply = withCookie(reply, newToken) }
        return reply
    }

    // MARK: - Setting up

    /// `POST /setup`: "Begin setup".
    func postSetup(_ info: RequestInfo, _ session: WebSession, _ token: String) async -> Reply {
        guard session.user != nil else { return Reply.redirect("/") }
        guard isFresh(loginAt: session.loginAt, now: System.monotonicSeconds(), freshSeconds: config.freshLogin) else {
            return askLoginAgain(session, .setup)
        }
        return await beginSetup(session, token)
    }

    func beginSetup(_ session: WebSession, _ token: String) async -> Reply {
        guard let answer = await ask(session, PortalMessage("SETUP-BEGIN")) else { return loginLost(session, token) }
        if answer.verb == "OK" {
            session.setupStarted = true
            session.setupMismatch = false
            return Reply.redirect("/setup")
        }
        return helperRefused(session, token, answer, purpose: .setup)
    }

    /// What an `ERR` (or an unexpected answer) to an action does: a login again when it is not fresh,
    /// the start page when the login is gone, else the start page with the reason.
    func helperRefused(_ session: WebSession, _ token: String, _ answer: PortalMessage, purpose: ReauthPurpose?) -> Reply {
        switch ActionRefusal(answer) {
        case .loginAgain:
            if let purpose { return askLoginAgain(session, purpose) }
            return loginLost(session, token)
        case .loginLost:
            return loginLost(session, token)
        case .show(let message):
            session.errors.add(message)
            return Reply.redirect("/")
        }
    }

    func askLoginAgain(_ session: WebSession, _ purpose: ReauthPurpose) -> Reply {
        session.reauthPurpose = purpose
        session.setupStarted = false
        return Reply.redirect("/login")
    }

    /// `POST /setup/verify`: saves the enrollment when the code verifies.
    func postVerify(_ info: RequestInfo, _ session: WebSession, _ token: String) async -> Reply {
        guard session.user != nil, session.setupStarted else {
            session.errors.add(Message(.errNoPending))
            return Reply.redirect("/")
        }
        let code: String
        switch Input.code(info.form["code"] ?? "") {
        case .success(let digits): code = digits
        case .failure(let message):
            session.errors.add(message)
            return Reply.redirect("/setup/code")
        }
        guard let answer = await ask(session, PortalMessage("SETUP-VERIFY", [("code", code)])) else { return loginLost(session, token) }
        if answer.verb == "OK" {
            session.setupStarted = false
            session.setupMismatch = false
            guard let codes = Display.recoveryCodes(answer) else {
                session.errors.add(Message(.errUnavailable))
                return Reply.redirect("/")
            }
            session.holdCodes(codes)
            session.rememberOffered = true
            session.notices.add(Message(.noticeSetupDone))
            return Reply.redirect("/setup/done")
        }
        switch answer["reason"] {
        case "mismatch", "throttled", "locked":
            session.setupMismatch = true
            session.errors.add(HelperText.error(answer))
            return Reply.redirect("/setup/code")
        case "no-pending":
            session.setupStarted = false
            return helperRefused(session, token, answer, purpose: nil)
        default:
            return helperRefused(session, token, answer, purpose: .setup)
        }
    }

    /// `POST /setup/remember`: "Skip the code on this device for N days?" after setup.
    func postSetupRemember(_ info: RequestInfo, _ session: WebSession, _ token: String) async -> Reply {
        guard session.user != nil, session.rememberOffered else { return Reply.redirect("/") }
        session.rememberOffered = false
        session.dropCodes()
        guard info.form["remember"] == "yes" else { return Reply.redirect("/") }
        guard let answer = await ask(session, PortalMessage("REMEMBER")) else { return loginLost(session, token) }
        guard answer.verb == "OK" else { return helperRefused(session, token, answer, purpose: nil) }
        if let until = Display.unixTime(answer["until"]) {
            session.notices.add(Message(.noticeRemembered, ["date": date(until)]))
        }
        return Reply.redirect("/")
    }

    // MARK: - The dashboard's actions

    /// `POST /recovery-codes`: new recovery codes after a current code.
    func postNewCodes(_ info: RequestInfo, _ session: WebSession, _ token: String) async -> Reply {
        guard session.user != nil else { return Reply.redirect("/") }
        let code: String
        switch Input.code(info.form["code"] ?? "") {
        case .success(let digits): code = digits
        case .failure(let message):
            session.errors.add(message)
            return Reply.redirect("/")
        }
        guard isFresh(loginAt: session.loginAt, now: System.monotonicSeconds(), freshSeconds: config.freshLogin) else {
            return askLoginAgain(session, .newCodes)
        }
        guard let answer = await ask(session, PortalMessage("RECOVERY-NEW", [("code", code)])) else { return loginLost(session, token) }
        guard answer.verb == "OK" else { return helperRefused(session, token, answer, purpose: .newCodes) }
        guard let codes = Display.recoveryCodes(answer) else {
            session.errors.add(Message(.errUnavailable))
            return Reply.redirect("/")
        }
        session.holdCodes(codes)
        session.rememberOffered = false
        session.notices.add(Message(.noticeNewCodes))
        return Reply.redirect("/recovery-codes")
    }

    /// `POST /delete`: deletes the authenticator after a code or a recovery code and the confirmation.
    func postDelete(_ info: RequestInfo, _ session: WebSession, _ token: String) async -> Reply {
        guard session.user != nil else { return Reply.redirect("/") }
        let code: String
        switch Input.codeOrRecovery(info.form["code"] ?? "") {
        case .success(let text): code = text
        case .failure(let message):
            session.errors.add(message)
            return Reply.redirect("/")
        }
        guard info.form["confirm"] == "yes" else {
            session.errors.add(Message(.errConfirmDelete))
            return Reply.redirect("/")
        }
        guard isFresh(loginAt: session.loginAt, now: System.monotonicSeconds(), freshSeconds: config.freshLogin) else {
            return askLoginAgain(session, .delete)
        }
        guard let answer = await ask(session, PortalMessage("DELETE", [("code", code)])) else { return loginLost(session, token) }
        guard answer.verb == "OK" else { return helperRefused(session, token, answer, purpose: .delete) }
        session.notices.add(Message(.noticeDeleted))
        return Reply.redirect("/")
    }

    /// `POST /devices/forget`: one remembered device.
    func postForget(_ info: RequestInfo, _ session: WebSession, _ token: String) async -> Reply {
        guard session.user != nil else { return Reply.redirect("/") }
        guard let device = Input.device(info.form["device"] ?? "") else {
            session.errors.add(Message(.errNoSuchDevice))
            return Reply.redirect("/")
        }
        guard let answer = await ask(session, PortalMessage("FORGET", [("device", device)])) else { return loginLost(session, token) }
        guard answer.verb == "OK" else { return helperRefused(session, token, answer, purpose: nil) }
        session.notices.add(Message(.noticeDeviceForgotten))
        return Reply.redirect("/")
    }

    /// `POST /logout` (also "Cancel" during a login): BYE to the helper, the session is gone, and the
    /// browser gets a new anonymous one.
    func postLogout(_ info: RequestInfo, _ session: WebSession, _ token: String) async -> Reply {
        let wasLoggedIn = session.user != nil
        if let helper = session.helper { await helper.bye() }
        session.resetToAnonymous()
        _ = store.withLock { $0.remove(token) }
        session.terminate()
        let (fresh, newToken) = newSession(info)
        if wasLoggedIn { fresh.notices.add(Message(.noticeLoggedOut)) }
        return withCookie(Reply.redirect("/"), newToken)
    }
}
