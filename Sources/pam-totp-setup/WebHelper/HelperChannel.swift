import Glibc
import PortalProtocol

/// One connection of the helper's socket, read and written a protocol line at a time
/// (`PortalMessage`), every read bounded by a deadline.
final class HelperChannel {
    let fd: Int32
    private var buffer: [UInt8] = []

    /// What waiting for a line gave.
    enum Received {
        case message(PortalMessage)
        /// Nothing came before the deadline.
        case timeout
        /// The peer closed the connection, or reading failed.
        case closed
        /// Longer than `PortalMessage.maxLineLength`, or not a line `PortalMessage` decodes.
        case malformed
    }

    init(fd: Int32) { self.fd = fd }

    deinit {
        // The buffer may hold a password or a code that arrived after the last line read.
        for index in buffer.indices { buffer[index] = 0 }
        close(fd)
    }

    /// Waits at most `seconds` for the next line.
    func receive(within seconds: Int) -> Received {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let end = Int64(deadline.tv_sec) + Int64(seconds)
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                var lineBytes = Array(buffer[..<newline])
                for index in buffer.indices.prefix(newline + 1) { buffer[index] = 0 }
                buffer.removeFirst(newline + 1)
                defer { for index in lineBytes.indices { lineBytes[index] = 0 } }
                guard let text = String(validating: lineBytes, as: UTF8.self) else { return .malformed }
                do { return .message(try PortalMessage.decode(Substring(text))) } catch { return .malformed }
            }
            if buffer.count > PortalMessage.maxLineLength { return .malformed }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let left = end - Int64(now.tv_sec)
            if left <= 0 { return .timeout }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(clamping: min(left, 60) * 1000))
            if ready < 0 {
                if errno == EINTR { continue }
                return .closed
            }
            if ready == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return .closed }
            buffer += chunk[..<count]
            for index in chunk.indices { chunk[index] = 0 }
        }
    }

    /// Writes one line; false if the peer is gone.
    @discardableResult
    func send(_ message: PortalMessage) -> Bool {
        var bytes = Array(message.encoded().utf8)
        bytes.append(0x0A)
        defer { for index in bytes.indices { bytes[index] = 0 } }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                return Glibc.send(fd, base + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }
}
