// pam-totp-web: the self-service portal's HTTP process (docs/PORTAL.md). It runs as an
// unprivileged user behind nginx and leaves every password, code and enrollment to the helper,
// `pam-totp-setup web-helper`, over one Unix-socket connection per browser session.
import Glibc
import Hummingbird
import HummingbirdCore
import Logging
import Mustache
import PortalCore

let usage = """
    usage: pam-totp-web [--config FILE] [--templates DIR] [--static DIR] [--listen ADDRESS]

      --config FILE     the portal's configuration (default /etc/pam-totp-web.conf); it must be owned
                        by root and not writable by group or others; without it, the defaults
      --templates DIR   the page templates (default: ../share/pam-totp-web/templates from the program's
                        directory, else ../web/templates (the source tree's build/), else
                        /usr/local/share/pam-totp-web/templates)
      --static DIR      style.css and copy.js (default: .../static, found the same way)
      --listen ADDRESS  overrides the configuration's listen: unix:/PATH, 127.0.0.1:PORT or [::1]:PORT

    Runs as an unprivileged user (never root); nginx in front of it terminates TLS and sets X-Real-IP.
    """

func fail(_ message: String) -> Never {
    System.writeError("pam-totp-web: " + message)
    exit(1)
}

struct Options {
    var config = "/etc/pam-totp-web.conf"
    var templates: String?
    var staticDirectory: String?
    var listen: String?

    init(_ arguments: [String]) {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            func value() -> String {
                guard let next = rest.popFirst(), !next.isEmpty else { fail("\(argument) needs a value\n\n" + usage) }
                return next
            }
            switch argument {
            case "--config": config = value()
            case "--templates": templates = value()
            case "--static": staticDirectory = value()
            case "--listen": listen = value()
            case "-h", "--help":
                print(usage)
                exit(0)
            default: fail("unknown argument \(argument)\n\n" + usage)
            }
        }
    }
}

/// `share/pam-totp-web/NAME` beside the program's directory ($(PREFIX)/bin or sbin) when it exists,
/// else `web/NAME` beside it (build/pam-totp-web in the source tree), else under /usr/local.
func defaultDirectory(_ name: String) -> String {
    if let directory = System.executableDirectory() {
        for candidate in [directory + "/../share/pam-totp-web/" + name, directory + "/../web/" + name] where System.isDirectory(candidate) {
            return candidate
        }
    }
    return "/usr/local/share/pam-totp-web/" + name
}

let options = Options(Array(CommandLine.arguments.dropFirst()))

// The whole point of the split: the process that parses HTTP is not root.
guard !System.isRoot else {
    fail(
        "refusing to run as root: run pam-totp-web as its own unprivileged user (pam-totp-web); the root part is pam-totp-setup web-helper")
}

// Read with PortalProtocol's PortalConfig, as the helper reads it; a missing file means all defaults.
var config = WebConfig()
if System.exists(options.config) {
    if let reason = System.untrustedReason(options.config) { fail("\(options.config): \(reason)") }
    guard let bytes = System.readFile(options.config) else { fail("\(options.config): cannot read it") }
    do {
        config = try WebConfig.parse(bytes)
    } catch {
        fail("\(options.config): \(error)")
    }
} else {
    System.writeError("pam-totp-web: \(options.config) does not exist: using the defaults")
}
if let listen = options.listen {
    guard let parsed = WebConfig.parseListen(listen) else {
        fail("--listen \(listen): expected unix:/absolute/path, 127.0.0.1:PORT or [::1]:PORT (loopback only)")
    }
    config.listen = parsed
}

let templatesDirectory = options.templates ?? defaultDirectory("templates")
guard System.isDirectory(templatesDirectory) else { fail("\(templatesDirectory): not a directory (--templates)") }
let library: MustacheLibrary
do {
    library = try await MustacheLibrary(directory: templatesDirectory)
} catch {
    fail("\(templatesDirectory): cannot load the templates: \(error)")
}
for name in ["layout", "login", "code", "remember", "dashboard", "lost", "setup", "enrollment", "verify", "recovery", "message"]
where library.getTemplate(named: name) == nil {
    fail("\(templatesDirectory): \(name).mustache is missing")
}

let staticDirectory = options.staticDirectory ?? defaultDirectory("static")
guard System.isDirectory(staticDirectory) else { fail("\(staticDirectory): not a directory (--static)") }
var staticFiles: [String: (type: String, body: [UInt8])] = [:]
for (name, type) in [("style.css", "text/css; charset=utf-8"), ("copy.js", "text/javascript; charset=utf-8")] {
    guard let body = System.readFile(staticDirectory + "/" + name) else { fail("\(staticDirectory)/\(name): cannot read it") }
    staticFiles[name] = (type, body)
}

let portal = Portal(config: config, library: library, staticFiles: staticFiles)

let address: BindAddress
switch config.listen {
case .unix(let path):
    if let problem = System.prepareSocketPath(path) { fail(problem) }
    // The socket is made 0660 from the start (then given its group): never a moment open to others.
    umask(0o117)
    address = .unixDomainSocket(path: path)
case .loopback(let host, let port):
    address = .hostname(host, port: port)
}

var logger = Logger(label: "pam-totp-web")
logger.logLevel = .warning

let listen = config.listen
let helperPath = config.helper
let socketGroup = config.socketGroup
let application = Application(
    responder: CallbackResponder<BasicRequestContext> { request, _ in await portal.respond(to: request) },
    // A connection idle for 30 seconds (no request in progress) is closed: idle or half-sent
    // requests cannot hold connections open for ever. nginx opens a new one when it needs to.
    server: .http1(configuration: HTTP1Channel.Configuration(idleTimeout: .seconds(30))),
    configuration: ApplicationConfiguration(address: address, serverName: nil),
    onServerRunning: { _ in
        if case .unix(let path) = listen, let problem = System.secureSocket(path, group: socketGroup) {
            unlink(path)
            fail(problem)
        }
        System.writeError("pam-totp-web: listening on \(listen), helper \(helperPath)")
    },
    logger: logger
)

// Every 10 seconds: sessions idle too long are removed, and their helper conversations end with
// them; recovery codes held too long are dropped; a login that has waited answer_timeout seconds
// for the user's answer ends (its connection is closed under the store's lock, so that a request
// answering it at that moment finds it gone).
let sweeper = Task {
    while !Task.isCancelled {
        try? await Task.sleep(for: .seconds(10))
        let now = System.monotonicSeconds()
        let (expired, live) = portal.store.withLock { store in
            let swept = store.sweep(now: now)
            for session in swept.loginsAbandoned { session.abandonWaitingLogin() }
            return (swept.expired, store.payloads)
        }
        for session in expired { session.terminate() }
        // Recovery codes held longer than ten minutes go, even in a session nobody uses.
        for session in live { session.expireCodes(now: now) }
    }
}

do {
    try await application.runService()
} catch {
    fail("\(error)")
}
sweeper.cancel()
