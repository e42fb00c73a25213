import Glibc

/// The C library calls of pam-totp-web, each in one place.
enum System {
    /// Seconds on the monotonic clock: session idle time and login freshness do not move with the
    /// wall clock.
    static func monotonicSeconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec)
    }

    /// Unix seconds (for dates shown and the recovery-code file).
    static func wallSeconds() -> Int64 {
        Int64(time(nil))
    }

    /// The server's UTC offset and zone abbreviation at `seconds` (the `TZ` of the service).
    static func localZone(at seconds: Int64) -> (offset: Int64, zone: String) {
        var value = time_t(seconds)
        var parts = tm()
        guard localtime_r(&value, &parts) != nil else { return (0, "UTC") }
        let zone = parts.tm_zone.map { String(cString: $0) } ?? ""
        return (Int64(parts.tm_gmtoff), zone)
    }

    /// One line on standard error (journald's, under systemd), in one write.
    static func writeError(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    static var isRoot: Bool { getuid() == 0 || geteuid() == 0 }

    /// Why a configuration file may not be trusted, or nil: it must be a regular file owned by root
    /// and not writable by group or others (as `/etc/pam-totp.conf`).
    static func untrustedReason(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { return "cannot open (\(String(cString: strerror(errno))))" }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return "cannot stat (\(String(cString: strerror(errno))))" }
        guard info.st_mode & S_IFMT == S_IFREG else { return "not a regular file" }
        guard info.st_uid == 0 else { return "not owned by root" }
        guard info.st_mode & (S_IWGRP | S_IWOTH) == 0 else { return "writable by group or others" }
        return nil
    }

    /// The whole file as text (at most 1 MiB), or nil.
    static func readFile(_ path: String, limit: Int = 1 << 20) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
            if bytes.count > limit { return nil }
        }
    }

    /// The group id of `name`, or nil.
    static func groupID(_ name: String) -> gid_t? {
        var group = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        let status = getgrnam_r(name, &group, &buffer, buffer.count, &result)
        guard status == 0, result != nil else { return nil }
        return group.gr_gid
    }

    /// Makes way for a Unix socket at `path`: a stale socket is removed; anything else there is an
    /// error (pam-totp-web never deletes a file that is not a socket).
    static func prepareSocketPath(_ path: String) -> String? {
        var info = stat()
        if lstat(path, &info) != 0 {
            return errno == ENOENT ? nil : "cannot inspect \(path): \(String(cString: strerror(errno)))"
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else { return "\(path) exists and is not a socket; refusing to replace it" }
        guard unlink(path) == 0 else { return "cannot remove the old socket \(path): \(String(cString: strerror(errno)))" }
        return nil
    }

    /// Gives the socket mode 0660 and the group `group`; the reason when it cannot.
    static func secureSocket(_ path: String, group: String) -> String? {
        guard let gid = groupID(group) else { return "socket_group \(group) does not exist" }
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else { return "\(path) is not a socket" }
        if info.st_gid != gid && lchown(path, uid_t.max, gid) != 0 {
            return "cannot give \(path) the group \(group) (\(String(cString: strerror(errno)))): "
                + "the service's user must be a member of it (SupplementaryGroups=\(group))"
        }
        guard chmod(path, 0o660) == 0 else { return "cannot chmod \(path): \(String(cString: strerror(errno)))" }
        return nil
    }

    /// An IP address literal in its canonical text (as inet_ntop writes it), or nil.
    static func canonicalAddress(_ text: String) -> String? {
        var v4 = in_addr()
        var v6 = in6_addr()
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        if inet_pton(AF_INET, text, &v4) == 1 {
            guard inet_ntop(AF_INET, &v4, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            guard inet_ntop(AF_INET6, &v6, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        } else {
            return nil
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The directory of the running executable (through /proc/self/exe), or nil.
    static func executableDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let path = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return String(path[path.startIndex..<slash])
    }

    /// Whether anything is at `path` (a dangling symbolic link counts: reading it then fails).
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 || errno != ENOENT
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }
}
