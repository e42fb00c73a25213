internal import CQRencode

/// A QR code's modules, from libqrencode, and the ways the tool draws them.
struct QRCode {
    /// Modules of light border the QR specification asks for around the code, in images.
    static let quietZone = 4
    /// In a terminal: two modules are enough for phone cameras (zbarimg decodes it too), and every
    /// module saved keeps the code and the prompt on one 80×24 screen.
    static let terminalQuietZone = 2

    let width: Int
    /// Light modules drawn around the code.
    let quietZone: Int
    private let dark: [Bool]

    /// Encodes `text` as 8-bit data (calls `QRcode_encodeString`): for images with error correction
    /// level M and the specification's quiet zone; for a terminal (`compact`) with level L, the
    /// smallest version, and a quiet zone of two modules, so that it fits 80×24 with the prompt.
    init(_ text: String, compact: Bool = false) throws {
        guard let code = QRcode_encodeString(text, 0, compact ? QR_ECLEVEL_L : QR_ECLEVEL_M, QR_MODE_8, 1) else {
            throw SetupError("cannot make a QR code for a text of \(text.utf8.count) bytes")
        }
        defer { QRcode_free(code) }
        width = Int(code.pointee.width)
        quietZone = compact ? Self.terminalQuietZone : Self.quietZone
        dark = (0..<(width * width)).map { code.pointee.data[$0] & 1 == 1 }
    }

    /// Whether the module at (`x`, `y`) is dark; coordinates include the quiet zone.
    func isDark(_ x: Int, _ y: Int) -> Bool {
        let (cx, cy) = (x - quietZone, y - quietZone)
        guard cx >= 0, cy >= 0, cx < width, cy < width else { return false }
        return dark[cy * width + cx]
    }

    /// Modules per side, quiet zone included.
    var size: Int { width + 2 * quietZone }

    enum TerminalStyle: String, CaseIterable {
        case utf8, ansi, none
    }

    /// Lines for a terminal, `size` columns wide each, two rows of modules per line (half blocks).
    /// `utf8` draws the dark modules as block characters in black on white; `ansi` draws every cell
    /// as an upper half block whose foreground colour is the upper module and whose background is
    /// the lower one. Both force the colours, so the code scans on dark and light terminals alike.
    func terminalLines(_ style: TerminalStyle) -> [String] {
        var lines: [String] = []
        for y in stride(from: 0, to: size, by: 2) {
            var line = ""
            switch style {
            case .none:
                return []
            case .utf8:
                line = "\u{1B}[30;47m"
                for x in 0..<size {
                    switch (isDark(x, y), isDark(x, y + 1)) {
                    case (true, true): line += "█"
                    case (true, false): line += "▀"
                    case (false, true): line += "▄"
                    case (false, false): line += " "
                    }
                }
            case .ansi:
                for x in 0..<size { line += "\u{1B}[\(isDark(x, y) ? 30 : 37);\(isDark(x, y + 1) ? 40 : 47)m▀" }
            }
            lines.append(line + "\u{1B}[0m")
        }
        return lines
    }

    /// An SVG image: a white square with one path of dark modules, in pixel coordinates (ImageMagick,
    /// which zbarimg reads SVG with, does not scale a viewBox).
    func svg(pixelsPerModule: Int = 8) -> String {
        let m = pixelsPerModule
        var path = ""
        for y in 0..<size {
            for x in 0..<size where isDark(x, y) { path += "M\(x * m) \(y * m)h\(m)v\(m)h-\(m)z" }
        }
        let pixels = size * m
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(pixels)" height="\(pixels)" shape-rendering="crispEdges">
            <rect width="\(pixels)" height="\(pixels)" fill="#ffffff"/>
            <path fill="#000000" d="\(path)"/>
            </svg>

            """
    }

    /// A PNG image: 1-bit greyscale, `pixelsPerModule` pixels per module, stored (uncompressed)
    /// deflate blocks, so no compression library is needed.
    func png(pixelsPerModule: Int = 8) -> [UInt8] {
        let pixels = size * pixelsPerModule
        let rowBytes = (pixels + 7) / 8
        var raw: [UInt8] = []
        raw.reserveCapacity((rowBytes + 1) * pixels)
        for py in 0..<pixels {
            raw.append(0)  // filter type: none
            var row = [UInt8](repeating: 0, count: rowBytes)
            for px in 0..<pixels where !isDark(px / pixelsPerModule, py / pixelsPerModule) {
                row[px / 8] |= 0x80 >> UInt8(px % 8)  // 1 = white
            }
            raw += row
        }
        var header: [UInt8] = []
        header += PNG.bigEndian(UInt32(pixels)) + PNG.bigEndian(UInt32(pixels))
        header += [1, 0, 0, 0, 0]  // bit depth 1, greyscale, deflate, adaptive filters, no interlace
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            + PNG.chunk("IHDR", header) + PNG.chunk("IDAT", PNG.zlibStored(raw)) + PNG.chunk("IEND", [])
    }
}

/// The parts of PNG (RFC 2083) and zlib (RFC 1950/1951) the QR image needs.
enum PNG {
    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        return bigEndian(UInt32(data.count)) + typeBytes + data + bigEndian(crc32(typeBytes + data))
    }

    /// A zlib stream of stored deflate blocks (at most 65535 bytes each), with its Adler-32.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65_535, data.count - offset)
            let final: UInt8 = offset + length == data.count ? 1 : 0
            out += [final, UInt8(length & 0xff), UInt8(length >> 8), UInt8(~length & 0xff), UInt8((~length >> 8) & 0xff)]
            out += data[offset..<(offset + length)]
            offset += length
        } while offset < data.count
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return out + bigEndian(b << 16 | a)
    }

    private static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in data { c = crcTable[Int((c ^ UInt32(byte)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
