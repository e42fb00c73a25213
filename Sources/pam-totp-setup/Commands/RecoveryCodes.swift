import ArgumentParser
import Glibc
import TOTPCore

struct RecoveryCodes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recovery-codes",
        abstract: "Replace the recovery codes with a fresh set, after a current code or a recovery code.",
        discussion: "The old codes stop working at once. The new ones are shown only now.")

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: ArgumentHelp("How many codes to make (1 to 100).", valueName: "n"))
    var count: Int = 10

    @Flag(name: .long, help: "Print the new codes as JSON.")
    var json = false

    func validate() throws {
        guard (1...RecoverySet.maxCodes).contains(count) else { throw ValidationError("--count must be from 1 to \(RecoverySet.maxCodes)") }
    }

    func run() throws {
        let target = try common.resolve()
        let enrollment = try target.enrollment()
        try protectStandardOutput()
        let out = Output(json: json)
        let (renewed, codes) = try withNewRecoveryCodes(enrollment, count: count)
        try proveHoldingAndChange(target, enrollment, allowRecovery: true, out: out, change: .replace(renewed))
        if json {
            print(JSON.render([("user", .string(target.name)), ("recovery_codes", .array(codes.map(JSON.string)))]))
        } else {
            out.prose("New recovery codes for \(target.name); the old ones no longer work.")
            out.showRecoveryCodes(codes)
        }
    }
}
