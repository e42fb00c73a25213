import Dispatch
import Glibc
import PortalProtocol
import Synchronization

/// Why a conversation with `pam-totp-setup web-helper` ended.
enum HelperError: Error, Equatable, CustomStringConvertible {
    /// The helper's socket could not be connected to (errno).
    case connect(Int32)
    /// The helper closed the connection, or it was shut down here (expiry, logout).
    case closed
    /// No answer in time.
    case timeout
    /// A read or write failed (errno).
    case io(Int32)
    /// The helper wrote something that is not a protocol line.
    case malformed

    var description: String {
        switch self {
        case .connect(let error): return "cannot connect: \(String(cString: strerror(error)))"
        case .closed: return "the connection was closed"
        case .timeout: return "no answer in \(HelperConnection.answerTimeoutSeconds) seconds"
        case .io(let error): return String(cString: strerror(error))
        case .malformed: return "the helper wrote a line that is not the protocol's"
        }
    }
}

/// One Unix-socket connection to the helper, serving one browser session (docs/PORTAL.md).
///
/// The helper's socket I/O is blocking, so every read and write runs on this connection's own
/// serial dispatch queue, off Hummingbird's event loops, and is bridged back with a continuation.
/// The descriptor is closed only when the object goes away, so `shutdown()`, which any thread may
/// call to end a conversation at once, never races a read on a reused descriptor.
final class HelperConnection: @unchecked Sendable {
    /// Longest wait for one answer: a PAM login with its failure delay, the module's throttling and
    /// a slow store fit easily.
    static let answerTimeoutSeconds = 60
    /// Longest wait to connect: the helper accepts at once unless it is stuck.
    static let connectTimeoutSeconds = 5

    private let fd: Int32
    private let queue = DispatchQueue(label: "pam-totp-web.helper")
    /// Bytes read but not yet returned as a line; touched only on `queue`.
    private var pending: [UInt8] = []
    private let isShutDown = Mutex(false)

    private init(fd: Int32) {
        self.fd = fd
    }

    deinit {
        close(fd)
    }

    /// Connects to the helper's socket at `path`.
    static func connect(path: String) async throws(HelperError) -> HelperConnection {
        let result: Result<HelperConnection, HelperError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: openSocket(path: path))
            }
        }
        return try result.get()
    }

    private static func openSocket(path: String) -> Result<HelperConnection, HelperError> {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(.connect(errno)) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else {
            close(fd)
            return .failure(.connect(ENAMETOOLONG))
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in pathBytes.enumerated() { buffer[index] = byte }
            buffer[pathBytes.count] = 0
        }
        // On Linux a blocking connect to a Unix socket whose backlog is full (a helper that stopped
        // accepting) waits at most the send timeout: set before connecting, it bounds the wait, and
        // with it the session lock the caller holds. It fails with EAGAIN then.
        var connectTimeout = timeval(tv_sec: connectTimeoutSeconds, tv_usec: 0)
        var receiveTimeout = timeval(tv_sec: answerTimeoutSeconds, tv_usec: 0)
        guard setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &connectTimeout, socklen_t(MemoryLayout<timeval>.size)) == 0,
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receiveTimeout, socklen_t(MemoryLayout<timeval>.size)) == 0
        else {
            let error = errno
            close(fd)
            return .failure(.connect(error))
        }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let error = errno
            close(fd)
            return .failure(.connect(error))
        }
        var sendTimeout = timeval(tv_sec: 10, tv_usec: 0)
        guard setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sendTimeout, socklen_t(MemoryLayout<timeval>.size)) == 0 else {
            let error = errno
            close(fd)
            return .failure(.connect(error))
        }
        return .success(HelperConnection(fd: fd))
    }

    /// Sends one line and reads the answer.
    func request(_ message: PortalMessage) async throws(HelperError) -> PortalMessage {
        try await send(message)
        return try await receive()
    }

    /// Sends one line.
    func send(_ message: PortalMessage) async throws(HelperError) {
        let bytes = Array((message.encoded() + "\n").utf8)
        let result: Result<Void, HelperError> = await onQueue { self.writeAll(bytes) }
        try result.get()
    }

    /// Reads one line.
    func receive() async throws(HelperError) -> PortalMessage {
        let result: Result<PortalMessage, HelperError> = await onQueue { self.readLine() }
        return try result.get()
    }

    /// `BYE`, then the connection is shut down; errors are ignored (the helper's child exits on a
    /// closed connection anyway).
    func bye() async {
        _ = try? await request(PortalMessage("BYE"))
        shutdown()
    }

    /// Ends the conversation now, from any thread: a read or write in progress returns at once.
    func shutdown() {
        let first = isShutDown.withLock { done in
            defer { done = true }
            return !done
        }
        if first { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () -> Result<T, HelperError>) async -> Result<T, HelperError> {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body()) }
        }
    }

    private func writeAll(_ bytes: [UInt8]) -> Result<Void, HelperError> {
        guard !isShutDown.withLock({ $0 }) else { return .failure(.closed) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return Glibc.send(fd, base + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                let error = errno
                if error == EINTR { continue }
                if error == EAGAIN || error == EWOULDBLOCK { return .failure(.timeout) }
                if error == EPIPE || error == ECONNRESET { return .failure(.closed) }
                return .failure(.io(error))
            }
            offset += written
        }
        return .success(())
    }

    private func readLine() -> Result<PortalMessage, HelperError> {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = pending.firstIndex(of: 0x0a) {
                let line = pending[pending.startIndex..<newline]
                defer { pending.removeSubrange(pending.startIndex...newline) }
                guard let text = String(validating: line, as: UTF8.self), let message = try? PortalMessage.decode(Substring(text)) else {
                    return .failure(.malformed)
                }
                return .success(message)
            }
            guard pending.count <= PortalMessage.maxLineLength else { return .failure(.malformed) }
            guard !isShutDown.withLock({ $0 }) else { return .failure(.closed) }
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count == 0 { return .failure(.closed) }
            if count < 0 {
                let error = errno
                if error == EINTR { continue }
                if error == EAGAIN || error == EWOULDBLOCK { return .failure(.timeout) }
                if error == ECONNRESET { return .failure(.closed) }
                return .failure(.io(error))
            }
            pending += chunk[0..<count]
        }
    }
}
