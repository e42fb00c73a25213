import CProcessGuard
import Glibc
import TOTPCore

/// Writes one line to the system log (authpriv, as the module's lines are), tagged with the
/// process's pid; never a password, code, secret, recovery code or URI.
func helperLog(_ message: String) {
    openlog("pam-totp-web-helper", LOG_PID, LOG_AUTHPRIV)
    message.withCString { text in withVaList([text]) { vsyslog(LOG_NOTICE, "%s", $0) } }
    closelog()
}

/// Keeps passwords, codes and pending secrets out of core files and away from debuggers: no core
/// file (RLIMIT_CORE 0) and not dumpable (no ptrace by the same uid, /proc/PID/mem root's only).
/// The helper and its children both (fork inherits both). Refuses to go on if either fails.
func guardProcessMemory() throws {
    guard process_guard_no_core() == 0 else { throw SetupError("setrlimit(RLIMIT_CORE, 0): \(String(cString: strerror(errno)))") }
    guard process_guard_not_dumpable() == 0, process_guard_dumpable() == 0 else {
        throw SetupError("prctl(PR_SET_DUMPABLE, 0): \(String(cString: strerror(errno)))")
    }
}

/// Set by the SIGTERM/SIGINT handler; the accept loop stops when it sees it.
private var helperStopRequested: Int32 = 0

/// The listening socket of `web-helper` and its children (docs/PORTAL.md, "Processes"): one forked
/// child per connection, at most `max_sessions` at once. The parent stays single-threaded and never
/// reads a request itself.
struct HelperListener {
    let path: String
    let webUID: uid_t
    let settings: HelperSettings

    /// How long a send to the web process may block (a web process that stops reading cannot hold a
    /// child forever).
    static let sendTimeout = 30
    /// The longest a session lives, whatever it does (docs/PORTAL.md): a deadline in the session's
    /// loop, and an alarm a little later that kills a child stuck anywhere else (PAM, the store).
    static let sessionLifetime = 8 * 3600
    static let lifetimeGrace = 15 * 60

    /// Makes the socket: a stale socket file at `path` is removed, anything else there refuses to start.
    ///
    /// The socket's directory must be root's and not writable by group or others (checked on the
    /// directory itself, opened with O_NOFOLLOW, not through a link): nobody but root can then put a
    /// link or another file at the socket's name between the bind and the chown, so the chown below
    /// cannot be turned onto another file. The chown is also done relative to that directory, on
    /// the name itself (fchownat with AT_SYMLINK_NOFOLLOW), and only after checking that the name is
    /// the socket just bound, 0600 and root's. Its mode comes from the umask at bind (0600): nobody
    /// can connect before its owner is the web user.
    func open() throws -> Int32 {
        let bytes = Array(path.utf8)
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")), slash + 1 < bytes.count else {
            throw SetupError("--listen \(path): not the path of a socket")
        }
        let directoryPath = slash == 0 ? "/" : String(decoding: bytes[..<slash], as: UTF8.self)
        let name = String(decoding: bytes[(slash + 1)...], as: UTF8.self)
        let directory = try Self.openSocketDirectory(directoryPath)
        defer { close(directory) }
        var info = stat()
        if fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else { throw SetupError("\(path) exists and is not a socket; not removing it") }
            guard unlinkat(directory, name, 0) == 0 else {
                throw SetupError("cannot remove the stale socket \(path): \(String(cString: strerror(errno)))")
            }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SetupError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw SetupError("--listen \(path): too long for a Unix socket")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        // Created 0600 (umask) so that nobody can connect before the owner is the web user.
        let oldMask = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(oldMask)
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw SetupError("cannot listen on \(path): \(reason)")
        }
        var made = stat()
        guard fstatat(directory, name, &made, AT_SYMLINK_NOFOLLOW) == 0, made.st_mode & S_IFMT == S_IFSOCK, made.st_uid == 0,
            made.st_mode & 0o777 == 0o600
        else {
            close(fd)
            unlinkat(directory, name, 0)
            throw SetupError("cannot prepare \(path): it is not the socket just made (mode 0600, root's)")
        }
        guard fchownat(directory, name, webUID, gid_t.max, AT_SYMLINK_NOFOLLOW) == 0, listen(fd, SOMAXCONN) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlinkat(directory, name, 0)
            throw SetupError("cannot prepare \(path): \(reason)")
        }
        return fd
    }

    /// The socket's directory, opened without following a link, if root owns it and neither group nor
    /// others may write to it (else another user could swap the socket's name for a link).
    private static func openSocketDirectory(_ directoryPath: String) throws -> Int32 {
        let directory = Glibc.open(directoryPath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard directory >= 0 else {
            let reason = errno == ELOOP || errno == ENOTDIR ? "a link or not a directory" : String(cString: strerror(errno))
            throw SetupError("the socket's directory \(directoryPath): \(reason)")
        }
        var info = stat()
        guard fstat(directory, &info) == 0, info.st_uid == 0, info.st_mode & 0o022 == 0 else {
            close(directory)
            throw SetupError(
                "the socket's directory \(directoryPath) must be root's and not writable by group or others (as systemd's RuntimeDirectory= makes it)"
            )
        }
        return directory
    }

    /// Accepts connections until SIGTERM or SIGINT; then ends the children and removes the socket.
    func run(_ listening: Int32) {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in helperStopRequested = 1 }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0  // no SA_RESTART: poll returns EINTR at once
        sigaction(SIGTERM, &action, nil)
        sigaction(SIGINT, &action, nil)
        signal(SIGPIPE, SIG_IGN)
        var children: Set<pid_t> = []
        helperLog("listening on \(path) for uid \(webUID) and root")
        while helperStopRequested == 0 {
            reap(&children)
            var poller = pollfd(fd: listening, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 1000)
            guard ready > 0 else { continue }
            let connection = accept(listening, nil, nil)
            guard connection >= 0 else {
                // Out of descriptors (EMFILE, ENFILE) or memory: the connection stays queued and poll
                // says so at once again, so wait a little instead of spinning.
                if errno != EINTR && errno != EAGAIN && errno != ECONNABORTED { usleep(200_000) }
                continue
            }
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            guard let peer = peerUID(connection), peer == 0 || peer == webUID else {
                helperLog("refused a connection from uid \(peerUID(connection).map(String.init) ?? "unknown")")
                close(connection)
                continue
            }
            reap(&children)
            guard children.count < settings.portal.maxSessions else {
                helperLog("refused a connection: \(settings.portal.maxSessions) sessions are open already (max_sessions)")
                close(connection)
                continue
            }
            // SIGTERM and SIGINT are held back across fork: one arriving before the child has put back
            // the default action would only set the flag in the child, which never looks at it.
            var stopping = sigset_t()
            var previous = sigset_t()
            sigemptyset(&stopping)
            sigaddset(&stopping, SIGTERM)
            sigaddset(&stopping, SIGINT)
            sigprocmask(SIG_BLOCK, &stopping, &previous)
            let child = fork()
            if child == 0 {
                close(listening)
                signal(SIGTERM, SIG_DFL)
                signal(SIGINT, SIG_DFL)
                sigprocmask(SIG_SETMASK, &previous, nil)
                serveChild(connection)
            }
            sigprocmask(SIG_SETMASK, &previous, nil)
            close(connection)
            if child > 0 { children.insert(child) } else { helperLog("fork failed: \(String(cString: strerror(errno)))") }
        }
        helperLog("stopping: ending \(children.count) session\(children.count == 1 ? "" : "s")")
        for child in children { kill(child, SIGTERM) }
        for child in children { waitpid(child, nil, 0) }
        close(listening)
        unlink(path)
    }

    /// The child's whole life: one session, then exit (its memory, pending secret included, goes with it).
    private func serveChild(_ connection: Int32) -> Never {
        // Inherited already; said again so that a child never runs without it.
        do { try guardProcessMemory() } catch { _exit(1) }
        var timeout = timeval(tv_sec: Self.sendTimeout, tv_usec: 0)
        guard setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size)) == 0 else { _exit(1) }
        // SIGALRM's default action ends the process: the backstop for a child stuck past its deadline.
        signal(SIGALRM, SIG_DFL)
        alarm(UInt32(Self.sessionLifetime + Self.lifetimeGrace))
        HelperSession(channel: HelperChannel(fd: connection), settings: settings, lifetime: Self.sessionLifetime).serve()
        _exit(0)
    }

    /// Collects the children that ended, and logs those that did not end normally (a crash would
    /// otherwise look like a session that just closed).
    private func reap(_ children: inout Set<pid_t>) {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return }
            children.remove(pid)
            // WIFSIGNALED and WTERMSIG, which are macros.
            let signal = status & 0x7f
            if signal != 0 && signal != 0x7f {
                helperLog("session \(pid) was ended by signal \(signal)")
            } else if status != 0 {
                helperLog("session \(pid) exited with status \((status >> 8) & 0xff)")
            }
        }
    }

    /// The uid of the connected process (`SO_PEERCRED`).
    private func peerUID(_ fd: Int32) -> uid_t? {
        var credentials = PeerCredentials()
        var length = socklen_t(MemoryLayout<PeerCredentials>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return nil }
        return credentials.uid
    }
}

/// `struct ucred` of <sys/socket.h>, which Glibc's Swift module leaves out (it needs _GNU_SOURCE):
/// the same three 32-bit fields in the same order.
private struct PeerCredentials {
    var pid: pid_t = 0
    var uid: uid_t = 0
    var gid: gid_t = 0
}
