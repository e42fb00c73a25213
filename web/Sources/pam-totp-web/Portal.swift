import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import PortalCore
import PortalProtocol
import Synchronization

/// What a handler read from the request, checked.
struct RequestInfo {
    var method: HTTPRequest.Method
    var path: String
    var language: Language
    /// `?lang=` was given: the answer sets the `lang` cookie.
    var languageChosen: Bool
    /// The browser's address, from nginx's `X-Real-IP`, canonical.
    var client: String
    var token: String?
    var form: [String: String] = [:]
}

/// What a handler answers; `Portal.response` adds the headers every answer carries.
struct Reply {
    var status: HTTPResponse.Status = .ok
    var contentType = "text/html; charset=utf-8"
    var body: [UInt8] = []
    var location: String?
    var cookies: [String] = []
    var attachment: String?
    /// `Retry-After`, in seconds.
    var retryAfter: Int?

    static func redirect(_ location: String) -> Reply {
        Reply(status: .seeOther, contentType: "text/plain; charset=utf-8", location: location)
    }
}

/// pam-totp-web's pages: every route of docs/PORTAL.md, on in-memory sessions, each talking to the
/// helper over its own connection.
final class Portal: Sendable {
    static let sessionCookie = "__Host-pamtotp"

    let config: WebConfig
    let library: MustacheLibrary
    let staticFiles: [String: (type: String, body: [UInt8])]
    let store: Mutex<SessionStore<WebSession>>

    init(config: WebConfig, library: MustacheLibrary, staticFiles: [String: (type: String, body: [UInt8])]) {
        self.config = config
        self.library = library
        self.staticFiles = staticFiles
        store = Mutex(
            SessionStore(
                limits: SessionLimits(
                    idleSeconds: Int64(config.sessionIdle), maxSessions: config.maxSessions, answerSeconds: Int64(config.answerTimeout))))
    }

    // MARK: - The one entry point

    func respond(to request: Request) async -> Response {
        let started = System.monotonicNanoseconds()
        var reply: Reply
        switch await read(request) {
        case .success(let info):
            reply = await route(info)
            if info.languageChosen {
                reply.cookies.append("lang=\(info.language.rawValue); Path=/; Max-Age=31536000; Secure; SameSite=Strict")
            }
        case .failure(let refusal):
            reply = refusal.reply
        }
        return finish(reply, request: request, started: started)
    }

    /// A request refused before any route: its error page.
    struct Refusal: Error {
        var reply: Reply
    }

    /// Checks what every request must carry (`X-Real-IP`; for a POST, this site as its origin and
    /// a form body of bounded size) and reads it.
    func read(_ request: Request) async -> Result<RequestInfo, Refusal> {
        let query = queryLanguage(request.uri.query)
        let language = Language.choose(
            query: query, cookie: request.cookies["lang"]?.value, acceptLanguage: request.headers[.acceptLanguage])
        func refuse(_ status: HTTPResponse.Status, _ key: MessageKey) -> Result<RequestInfo, Refusal> {
            .failure(Refusal(reply: errorPage(status, Message(key), language: language)))
        }
        // nginx sets X-Real-IP; without it (or with anything but an address) the request did not
        // come through nginx as configured.
        guard let realIP = request.headers[Self.realIP], HTTPInput.isIPAddress(realIP), let client = System.canonicalAddress(realIP) else {
            return refuse(.badRequest, .errBadRequest)
        }
        var info = RequestInfo(
            method: request.method, path: request.uri.path, language: language, languageChosen: query != nil, client: client,
            token: request.cookies[Self.sessionCookie]?.value)
        guard request.method == .post else { return .success(info) }
        let host = request.head.authority ?? request.headers[Self.host]
        guard HTTPInput.isSameOrigin(origin: request.headers[.origin], secFetchSite: request.headers[Self.secFetchSite], host: host) else {
            return refuse(.forbidden, .errCrossSite)
        }
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") ?? false else {
            return refuse(.badRequest, .errBadRequest)
        }
        var body = request
        guard let buffer = try? await body.collectBody(upTo: HTTPInput.maxFormBytes) else { return refuse(.contentTooLarge, .errTooLarge) }
        do {
            info.form = try HTTPInput.parseForm(Array(buffer.readableBytesView))
        } catch .tooLarge {
            return refuse(.contentTooLarge, .errTooLarge)
        } catch {
            return refuse(.badRequest, .errBadRequest)
        }
        return .success(info)
    }

    static let realIP = HTTPField.Name("X-Real-IP")!
    static let host = HTTPField.Name("Host")!
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
    static let contentTypeOptions = HTTPField.Name.xContentTypeOptions
    static let frameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!

    /// Adds the headers every answer carries and logs the request line (never its query or body).
    func finish(_ reply: Reply, request: Request, started: Int64) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = reply.contentType
        headers[.cacheControl] = "no-store"
        headers[.contentSecurityPolicy] =
            "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[Self.contentTypeOptions] = "nosniff"
        headers[Self.frameOptions] = "DENY"
        headers[Self.referrerPolicy] = "no-referrer"
        if let location = reply.location { headers[.location] = location }
        if let attachment = reply.attachment { headers[.contentDisposition] = "attachment; filename=\"\(attachment)\"" }
        if let retryAfter = reply.retryAfter { headers[.retryAfter] = String(retryAfter) }
        for cookie in reply.cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        headers[.contentLength] = String(reply.body.count)
        let milliseconds = (System.monotonicNanoseconds() - started) / 1_000_000
        let method = request.method.rawValue.count <= 16 ? request.method.rawValue : "?"
        System.writeError("\(method) \(Self.loggablePath(request.uri.path)) \(reply.status.code) \(milliseconds)ms")
        return Response(status: reply.status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply.body)))
    }

    /// The path as logged: at most 100 printable ASCII characters (a path never carries a secret
    /// here: every secret travels in a form body).
    static func loggablePath(_ path: String) -> String {
        String(path.unicodeScalars.prefix(100).map { $0.value > 0x20 && $0.value < 0x7f ? Character($0) : "?" })
    }

    /// `en` or `ja` from a query's `lang=`; anything else is ignored.
    func queryLanguage(_ query: String?) -> String? {
        guard let query, query.utf8.count <= 1024 else { return nil }
        for item in query.split(separator: "&") where item.hasPrefix("lang=") {
            let value = String(item.dropFirst(5))
            if Language(code: value) != nil { return value }
        }
        return nil
    }

    // MARK: - Routing

    func route(_ info: RequestInfo) async -> Reply {
        switch (info.method, info.path) {
        case (.get, "/static/style.css"), (.get, "/static/copy.js"):
            guard let file = staticFiles[String(info.path.dropFirst("/static/".count))] else { return notFound(info) }
            return Reply(contentType: file.type, body: file.body)
        case (.get, "/lost"):
            return await withSession(info, create: true) { session, _ in self.lostPage(info, session) }
        case (.get, "/"): return await withSession(info, create: true) { session, token in await self.home(info, session, token) }
        case (.get, "/login"): return await withSession(info) { session, _ in self.reauthPage(info, session) }
        case (.get, "/login/code"): return await withSession(info) { session, _ in self.codePage(info, session) }
        case (.get, "/login/remember"): return await withSession(info) { session, _ in self.loginRememberPage(info, session) }
        case (.get, "/setup"): return await withSession(info) { session, token in await self.setupPage(info, session, token) }
        case (.get, "/setup/qr.png"): return await withSession(info) { session, _ in await self.qrImage(info, session) }
        case (.get, "/setup/code"): return await withSession(info) { session, token in await self.verifyPage(info, session, token) }
        case (.get, "/setup/done"): return await withSession(info) { session, _ in self.recoveryPage(info, session, afterSetup: true) }
        case (.get, "/recovery-codes"):
            return await withSession(info) { session, _ in self.recoveryPage(info, session, afterSetup: false) }
        case (.get, "/recovery-codes.txt"): return await withSession(info) { session, _ in self.recoveryFile(info, session) }
        case (.post, "/login"): return await withForm(info) { session, token in await self.postLogin(info, session, token) }
        case (.post, "/login/code"): return await withForm(info) { session, token in await self.postLoginCode(info, session, token) }
        case (.post, "/login/remember"):
            return await withForm(info) { session, token in await self.postLoginRemember(info, session, token) }
        case (.post, "/setup"): return await withForm(info) { session, token in await self.postSetup(info, session, token) }
        case (.post, "/setup/verify"): return await withForm(info) { session, token in await self.postVerify(info, session, token) }
        case (.post, "/setup/remember"):
            return await withForm(info) { session, token in await self.postSetupRemember(info, session, token) }
        case (.post, "/recovery-codes"): return await withForm(info) { session, token in await self.postNewCodes(info, session, token) }
        case (.post, "/delete"): return await withForm(info) { session, token in await self.postDelete(info, session, token) }
        case (.post, "/devices/forget"): return await withForm(info) { session, token in await self.postForget(info, session, token) }
        case (.post, "/logout"): return await withForm(info) { session, token in await self.postLogout(info, session, token) }
        default:
            let known = [
                "/", "/lost", "/login", "/login/code", "/login/remember", "/setup", "/setup/qr.png", "/setup/code", "/setup/done",
                "/setup/verify", "/setup/remember", "/recovery-codes", "/recovery-codes.txt", "/delete", "/devices/forget", "/logout",
                "/static/style.css", "/static/copy.js",
            ]
            if known.contains(info.path) { return errorPage(.methodNotAllowed, Message(.errMethod), language: info.language) }
            return notFound(info)
        }
    }

    func notFound(_ info: RequestInfo) -> Reply {
        errorPage(.notFound, Message(.errNotFound), language: info.language)
    }

    // MARK: - Sessions

    /// Runs `body` with the request's session locked. Without a live session: a new one when
    /// `create`, else the start page (with "session ended" when it expired).
    func withSession(_ info: RequestInfo, create: Bool = false, _ body: @Sendable (WebSession, String) async -> Reply) async -> Reply {
        let now = System.monotonicSeconds()
        var expired = false
        if let token = info.token {
            let lookup = store.withLock { $0.lookup(token, now: now) }
            switch lookup {
            case .found(let session):
                guard await session.lock.acquire() else { return busyPage(info, nil) }
                let reply: Reply
                if session.isTerminated || !isCurrent(token) {
                    reply = Reply.redirect("/")
                } else {
                    reply = await body(session, token)
                }
                await session.lock.release()
                return reply
            case .expired(let session):
                session.terminate()
                expired = true
            case .unknown:
                break
            }
        }
        guard create || expired else { return Reply.redirect("/") }
        let (session, token) = newSession(info)
        if expired { session.errors.add(Message(.errSessionExpired)) }
        guard create else { return withCookie(Reply.redirect("/"), token) }
        _ = await session.lock.acquire()
        let reply = await body(session, token)
        await session.lock.release()
        return withCookie(reply, token)
    }

    /// For a POST: the session must exist and the form's CSRF token must be its own; otherwise the
    /// start page says the form expired, and nothing is done.
    func withForm(_ info: RequestInfo, _ body: @Sendable (WebSession, String) async -> Reply) async -> Reply {
        let lookup = info.token.map { token in store.withLock { $0.lookup(token, now: System.monotonicSeconds()) } }
        switch lookup {
        case .found(let session):
            guard let token = info.token, await session.lock.acquire() else { return busyPage(info, nil) }
            let reply: Reply
            if session.isTerminated || !isCurrent(token) {
                reply = Reply.redirect("/")
            } else if let csrf = info.form["csrf"], Token.equal(csrf, session.csrf) {
                reply = await body(session, token)
            } else {
                session.errors.add(Message(.errCSRF))
                reply = Reply.redirect("/")
            }
            await session.lock.release()
            return reply
        case .expired(let session):
            session.terminate()
        case .unknown, nil:
            break
        }
        // No session (a form from before a restart, or without cookies), or an expired one.
        let (session, token) = newSession(info)
        session.errors.add(Message(info.token == nil ? .errCSRF : .errSessionExpired))
        return withCookie(Reply.redirect("/"), token)
    }

    /// Whether `token` is still its session's, checked once the session's lock is held: a request
    /// that waited for the lock with the cookie from before a login (which gave the session a new
    /// token) or a logout is not run on the session. It gets the start page, as for an expired
    /// session, but no new cookie: the browser that logged in keeps the one it got.
    func isCurrent(_ token: String) -> Bool {
        store.withLock { $0.isCurrent(token) }
    }

    func newSession(_ info: RequestInfo) -> (WebSession, String) {
        let session = WebSession(csrf: Token.make())
        var generator = SystemRandomNumberGenerator()
        let (token, evicted) = store.withLock { $0.create(session, source: info.client, now: System.monotonicSeconds(), using: &generator) }
        for old in evicted { old.terminate() }
        return (session, token)
    }

    func withCookie(_ reply: Reply, _ token: String) -> Reply {
        var reply = reply
        reply.cookies.append("\(Self.sessionCookie)=\(token); Path=/; Secure; HttpOnly; SameSite=Strict")
        return reply
    }

    /// A new token for the session (after a login): the old cookie is dead.
    func rotate(_ token: String) -> String? {
        var generator = SystemRandomNumberGenerator()
        return store.withLock { $0.rotate(token, using: &generator) }
    }

    /// The helper connection of a logged-in session ended (idle timeout, helper restart): the
    /// session is anonymous again and the start page asks to log in.
    func loginLost(_ session: WebSession, _ token: String) -> Reply {
        session.resetToAnonymous()
        store.withLock { $0.logOut(token) }
        session.errors.add(Message(.errSessionExpired))
        return Reply.redirect("/")
    }

    /// Every helper connection the portal may open is in use (docs/PORTAL.md, "Sessions and the
    /// helper's capacity"): "busy, try again in a minute", in the page's language.
    func busyPage(_ info: RequestInfo, _ session: WebSession?) -> Reply {
        var reply = render(
            "message", info.language, session, ["heading": Message(.errBusy).text(in: info.language)], extraErrors: [Message(.errBusy)],
            status: .serviceUnavailable)
        reply.retryAfter = 60
        return reply
    }

    /// Sends a request on the session's logged-in connection. nil when the connection is gone.
    func ask(_ session: WebSession, _ message: PortalMessage) async -> PortalMessage? {
        guard let helper = session.helper else { return nil }
        do {
            return try await helper.request(message)
        } catch {
            System.writeError("helper conversation ended at \(message.verb): \(error)")
            session.drop(helper)
            session.helper = nil
            return nil
        }
    }
}

extension System {
    static func monotonicNanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}
