import ArgumentParser
import Glibc
import TOTPCore

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the QR code and URI of an existing enrollment again (for a new phone), after a current code.")

    @OptionGroup var common: CommonOptions
    @OptionGroup var qr: QROptions

    func run() throws {
        let target = try common.resolve()
        let enrollment = try target.enrollment()
        let out = Output(json: false)
        try proveHolding(target, enrollment, allowRecovery: false, out: out)
        try protectStandardOutput()
        try qr.present(
            uri: target.uri(for: enrollment), secret: enrollment.secret,
            caption: ["Scan this QR code with the authenticator app on the new phone (or type the secret into it)."], out: out)
    }
}
