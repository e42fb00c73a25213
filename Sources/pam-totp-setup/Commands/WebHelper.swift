import ArgumentParser
import Glibc
import PortalProtocol
import TOTPCore
import TOTPStorage

struct WebHelper: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "web-helper",
        abstract: "Serve the self-service portal's privileged helper (root; started by pam-totp-web-helper.service).",
        discussion: """
            Listens on a Unix socket that only the portal's web user (web_user=) and root may connect to, and \
            forks one child per browser session: the child logs the user in through PAM (the service of \
            pam_service=, whose stack is pam_unix then pam_totp.so) and then sets up, renews and deletes that \
            one user's enrollment. docs/PORTAL.md describes the protocol.
            """)

    @OptionGroup var site: SiteOptions

    @Option(name: .long, help: ArgumentHelp("The socket to listen on (default: the web configuration's helper=).", valueName: "path"))
    var listen: String?

    @Option(
        name: .customLong("web-config"),
        help: ArgumentHelp(
            "The portal's configuration (root's, not writable by others; a missing file means all defaults).", valueName: "file"))
    var webConfig: String = PortalConfig.defaultPath

    @Option(
        name: .customLong("pam-dir"),
        help: ArgumentHelp(
            "Read the PAM service from this directory instead of /etc/pam.d (pam_start_confdir). For tests and make portal-demo only.",
            valueName: "dir"))
    var pamDir: String?

    func validate() throws {
        guard webConfig.hasPrefix("/") else { throw ValidationError("--web-config must be an absolute path") }
        if let listen, !listen.hasPrefix("/") { throw ValidationError("--listen must be an absolute path") }
        if let pamDir, !pamDir.hasPrefix("/") { throw ValidationError("--pam-dir must be an absolute path") }
    }

    func run() throws {
        guard geteuid() == 0 else { throw SetupError("web-helper runs as root (pam_unix and the module's state need it)") }
        try guardProcessMemory()
        let portal = try Self.readConfig(webConfig)
        var networks: [CIDR] = []
        for entry in portal.setupNetworks {
            guard let cidr = CIDR(Substring(entry.text)) else {
                throw SetupError(
                    "\(webConfig): line \(entry.line): setup_networks: '\(entry.text.prefix(60))' is not a network in CIDR notation")
            }
            networks.append(cidr)
        }
        // The tool's own configuration must be usable before anyone logs in.
        _ = try site.siteOptions()
        let webAccount: Account
        do {
            guard let found = try Account.lookup(portal.webUser) else { throw SetupError("web_user \(portal.webUser): no such user") }
            webAccount = found
        } catch let error as Errno {
            throw SetupError("user database: \(error)")
        }
        // Before listening: a missing or wrong service would let logins through without pam_totp.so.
        try PAMServiceCheck.verify(service: portal.pamService, directory: pamDir)
        let settings = HelperSettings(portal: portal, setupNetworks: networks, site: site, pamDirectory: pamDir)
        let listener = HelperListener(path: listen ?? portal.helper, webUID: webAccount.uid, settings: settings)
        let socket = try listener.open()
        listener.run(socket)
    }

    /// The portal's configuration, trusted as /etc/pam-totp.conf is (`ConfigFile.read`).
    static func readConfig(_ path: String) throws -> PortalConfig {
        do {
            guard let bytes = try ConfigFile.read(path) else { return PortalConfig() }
            return try PortalConfig.parse(bytes)
        } catch let error as PortalConfig.Problem {
            throw SetupError("\(path): \(error)")
        } catch {
            throw SetupError("\(path): \(error)")
        }
    }
}
