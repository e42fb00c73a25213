import Foundation
import HTTPTypes
import Mustache
import PortalCore
import PortalProtocol

/// The GET pages and how every page is rendered.
extension Portal {
    // MARK: - Rendering

    /// Renders `template` with what every page needs: the language and its texts, the CSRF token,
    /// the session's errors and notices (shown once), and who is logged in.
    func render(
        _ template: String, _ language: Language, _ session: WebSession?, _ values: [String: Any] = [:], extraErrors: [Message] = [],
        status: HTTPResponse.Status = .ok
    ) -> Reply {
        // Recovery codes are shown once: any other page drops them.
        if let session, !HeldCodes.survive(rendering: template) { session.dropCodes() }
        var context = values
        context["lang"] = language.rawValue
        context["isEnglish"] = language == .en
        context["isJapanese"] = language == .ja
        context["t"] = Catalog.table(language)
        context["csrf"] = session?.csrf ?? ""
        var shown = PendingMessages()
        shown.add(session?.errors.take() ?? [])
        shown.add(extraErrors)
        let errors = shown.items.map { $0.text(in: language) }
        let notices = (session?.notices.take() ?? []).map { $0.text(in: language) }
        context["errors"] = errors
        context["hasErrors"] = !errors.isEmpty
        context["notices"] = notices
        context["hasNotices"] = !notices.isEmpty
        if let user = session?.user {
            context["loggedIn"] = true
            context["signedInAs"] = Message(.noticeSignedInAs, ["user": user]).text(in: language)
        }
        guard let html = library.render(context, withTemplate: template) else {
            System.writeError("template \(template) is missing")
            let text = Message(.errInternal).text(in: language) + "\n"
            return Reply(status: .internalServerError, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
        }
        return Reply(status: status, body: Array(html.utf8))
    }

    /// A page that only says what went wrong, with a link to the start page.
    func errorPage(_ status: HTTPResponse.Status, _ message: Message, language: Language) -> Reply {
        render("message", language, nil, ["heading": message.text(in: language)], extraErrors: [message], status: status)
    }

    func date(_ seconds: Int64) -> String {
        guard Display.timeRange.contains(seconds) else { return "?" }
        let zone = System.localZone(at: seconds)
        return Display.date(seconds, offset: zone.offset, zone: zone.zone)
    }

    // MARK: - Pages

    /// `GET /`: the login form, or, logged in, the dashboard.
    func home(_ info: RequestInfo, _ session: WebSession, _ token: String) async -> Reply {
        if session.user != nil { return await dashboard(info, session, token) }
        if let login = session.login { return Reply.redirect(login.step == .code ? "/login/code" : "/login/remember") }
        return render("login", info.language, session, ["account": session.lastAccount, "reauth": false])
    }

    func dashboard(_ info: RequestInfo, _ session: WebSession, _ token: String) async -> Reply {
        session.dropCodes()
        session.rememberOffered = false
        guard let answer = await ask(session, PortalMessage("STATUS")) else { return loginLost(session, token) }
        guard answer.verb == "OK", let status = PortalStatus(answer) else {
            if answer.verb == "ERR" && answer["reason"] == "not-logged-in" { return loginLost(session, token) }
            return render(
                "message", info.language, session, ["heading": Message(.errUnavailable).text(in: info.language)],
                extraErrors: [HelperText.error(answer)], status: .serviceUnavailable)
        }
        let devices: [[String: Any]] = status.devices.map { device in
            let name: String
            if let address = device.address {
                name = address
            } else {
                name = Message(.deviceKey, ["fingerprint": device.keyFingerprint ?? device.device]).text(in: info.language)
            }
            return [
                "device": device.device, "name": name, "isThis": device.address.flatMap(System.canonicalAddress) == info.client,
                "since": date(device.created), "until": date(device.expires),
            ]
        }
        var values: [String: Any] = [
            "enrolled": status.enrolled, "setupAllowed": status.setupAllowed, "devices": devices, "hasDevices": !devices.isEmpty,
        ]
        if status.enrolled {
            values["created"] = status.created.map(date) ?? "-"
            values["typeText"] = Catalog.text(status.type == "hotp" ? "type_hotp" : "type_totp", info.language)
            values["algorithm"] = status.algorithm ?? "-"
            values["digits"] = status.digits.map(String.init) ?? "-"
            values["recoveryLeft"] = status.recoveryLeft.map(String.init) ?? "-"
        }
        return render("dashboard", info.language, session, values)
    }

    /// `GET /login`: the password again, before an action that needs a fresh login.
    func reauthPage(_ info: RequestInfo, _ session: WebSession) -> Reply {
        guard let user = session.user, session.reauthPurpose != nil else {
            if session.login != nil { return Reply.redirect("/login/code") }
            return Reply.redirect("/")
        }
        if session.login != nil { return Reply.redirect(loginStepPath(session)) }
        return render("login", info.language, session, ["account": user, "reauth": true])
    }

    func loginStepPath(_ session: WebSession) -> String {
        switch session.login?.step {
        case .code: return "/login/code"
        case .remember: return "/login/remember"
        case nil: return "/"
        }
    }

    /// `GET /login/code`.
    func codePage(_ info: RequestInfo, _ session: WebSession) -> Reply {
        guard session.login?.step == .code else { return Reply.redirect("/") }
        return render("code", info.language, session)
    }

    /// `GET /login/remember`.
    func loginRememberPage(_ info: RequestInfo, _ session: WebSession) -> Reply {
        guard case .remember(let days) = session.login?.step else { return Reply.redirect("/") }
        return render(
            "remember", info.language, session,
            [
                "rememberAction": "/login/remember",
                "rememberQuestion": Message(.rememberQuestion, ["days": String(days)]).text(in: info.language),
            ])
    }

    /// `GET /lost`: what to do without the phone, and whom to contact.
    func lostPage(_ info: RequestInfo, _ session: WebSession) -> Reply {
        let configured = info.language == .ja ? (config.contactJa ?? config.contact) : config.contact
        let contact = configured ?? Message(.contactDefault).text(in: info.language)
        return render("lost", info.language, session, ["contact": contact])
    }

    /// The pending enrollment as SETUP-SHOW gives it, for a page; nil (with the session's error
    /// set) when there is none.
    func enrollmentValues(_ info: RequestInfo, _ session: WebSession) async -> [String: Any]? {
        guard let answer = await ask(session, PortalMessage("SETUP-SHOW")) else { return nil }
        guard answer.verb == "OK", let secret = answer["secret"], secret.utf8.allSatisfy({ isBase32Byte($0) }),
            let issuer = answer["issuer"], let account = answer["account"]
        else {
            session.setupStarted = false
            session.errors.add(answer.verb == "ERR" ? HelperText.error(answer) : Message(.errUnavailable))
            return nil
        }
        return ["secret": Display.groupSecret(secret), "issuer": issuer, "accountName": account, "qrSize": 288]
    }

    func isBase32Byte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "2")...UInt8(ascii: "7")).contains(byte)
            || byte == UInt8(ascii: "=")
    }

    /// `GET /setup`: the QR code, the secret in groups of four, the issuer and the account.
    func setupPage(_ info: RequestInfo, _ session: WebSession, _ token: String) async -> Reply {
        guard session.user != nil, session.setupStarted else { return Reply.redirect("/") }
        guard session.helper != nil else { return loginLost(session, token) }
        guard let values = await enrollmentValues(info, session) else {
            return session.helper == nil ? loginLost(session, token) : Reply.redirect("/")
        }
        return render("setup", info.language, session, values)
    }

    /// `GET /setup/qr.png`: the helper's PNG of the pending enrollment.
    func qrImage(_ info: RequestInfo, _ session: WebSession) async -> Reply {
        guard session.user != nil, session.setupStarted, let answer = await ask(session, PortalMessage("SETUP-SHOW")),
            answer.verb == "OK", let qr = answer["qr"], let png = Data(base64Encoded: qr), png.starts(with: [0x89, 0x50, 0x4e, 0x47])
        else { return notFound(info) }
        return Reply(contentType: "image/png", body: Array(png))
    }

    /// `GET /setup/code`: the code that proves the app has the secret; after a wrong code, the same
    /// secret and QR code again.
    func verifyPage(_ info: RequestInfo, _ session: WebSession, _ token: String) async -> Reply {
        guard session.user != nil, session.setupStarted else { return Reply.redirect("/") }
        var values: [String: Any] = ["showEnrollment": false]
        if session.setupMismatch {
            guard let enrollment = await enrollmentValues(info, session) else {
                return session.helper == nil ? loginLost(session, token) : Reply.redirect("/")
            }
            values.merge(enrollment) { _, new in new }
            values["showEnrollment"] = true
        }
        return render("verify", info.language, session, values)
    }

    /// `GET /setup/done` and `GET /recovery-codes`: the codes just made, shown once.
    func recoveryPage(_ info: RequestInfo, _ session: WebSession, afterSetup: Bool) -> Reply {
        guard session.user != nil, let codes = session.heldCodes(), session.rememberOffered == afterSetup else {
            return Reply.redirect("/")
        }
        return render(
            "recovery", info.language, session,
            [
                "codes": codes, "codeCount": codes.count, "codesText": codes.joined(separator: "\n"), "offerRemember": afterSetup,
                "downloadName": "recovery-codes.txt",
                "rememberQuestion": Message(.rememberQuestion, ["days": String(config.rememberDays)]).text(in: info.language),
            ])
    }

    /// `GET /recovery-codes.txt`: only while the codes just shown are held (until another page, at
    /// most ten minutes).
    func recoveryFile(_ info: RequestInfo, _ session: WebSession) -> Reply {
        guard let user = session.user, let codes = session.heldCodes() else { return notFound(info) }
        let text = Display.recoveryFile(codes: codes, account: user, date: date(System.wallSeconds()), language: info.language)
        return Reply(contentType: "text/plain; charset=utf-8", body: Array(text.utf8), attachment: "recovery-codes.txt")
    }
}
