import ArgumentParser
import Glibc
import TOTPCore

/// How and where a QR code is shown.
struct QROptions: ParsableArguments {
    @Option(
        name: .long, help: ArgumentHelp("QR code in the terminal: utf8 (half blocks), ansi (colour blocks) or none.", valueName: "style"))
    var qr: QRCode.TerminalStyle = .utf8

    @Option(name: .customLong("qr-png"), help: ArgumentHelp("Also write the QR code as a PNG image.", valueName: "file"))
    var png: String?

    @Option(name: .customLong("qr-svg"), help: ArgumentHelp("Also write the QR code as an SVG image.", valueName: "file"))
    var svg: String?

    /// The terminal the layout is made for: what a fresh terminal window or console has.
    static let screenWidth = 80

    /// Shows `uri` for an app: writes the images first (a path that cannot be written is refused
    /// before the secret is shown), then the URI, then the QR code with `caption` and the secret
    /// beside it, so that when the caller asks for a code on the next line, the whole code and what
    /// the user needs are on one 80×24 screen (the long URI may have scrolled away by then).
    func present(uri: String, secret: Secret, caption: [String], out: Output) throws {
        let image = try QRCode(uri)
        if let png { try writePrivateFile(png, image.png()) }
        if let svg { try writePrivateFile(svg, Array(image.svg().utf8)) }
        for path in [png, svg].compactMap({ $0 }) { out.prose("QR code written to \(path) (mode 600: it contains the secret).") }
        out.prose("URI: \(uri)")
        let secretText = grouped(Base32.encode(secret))
        let terminalCode = try QRCode(uri, compact: true)
        let lines = terminalCode.terminalLines(qr)
        let besideWidth = Self.screenWidth - terminalCode.size - 2
        // Four groups of four per line: 19 columns.
        let secretGroups = secretText.split(separator: " ")
        let secretLines = stride(from: 0, to: secretGroups.count, by: 4).map {
            secretGroups[$0..<min($0 + 4, secretGroups.count)].joined(separator: " ")
        }
        let beside = caption.flatMap { wrap($0, width: besideWidth) } + ["", "Secret (for typing by hand):"] + secretLines
        guard !lines.isEmpty, besideWidth >= 30, beside.count <= lines.count else {
            for line in lines { out.prose(line) }
            for line in caption { out.prose(line) }
            out.prose("Secret (for typing by hand): \(secretText)")
            return
        }
        for (index, line) in lines.enumerated() {
            out.prose(index < beside.count && !beside[index].isEmpty ? line + "  " + beside[index] : line)
        }
    }
}

extension QRCode.TerminalStyle: ExpressibleByArgument {}
