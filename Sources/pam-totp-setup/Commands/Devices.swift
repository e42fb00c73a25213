import ArgumentParser
import Glibc
import TOTPCore

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the devices that may skip the code (remember=), with when and until when.",
        discussion: "The list is in the module's root-only state: run as root (for example with sudo).")

    @OptionGroup var common: CommonOptions

    @Flag(name: .long, help: "Print the list as JSON.")
    var json = false

    func run() throws {
        let target = try common.resolve()
        let enrollment = try target.enrollment()
        let devices = try rememberedDevices(target, enrollment)
        if json {
            print(
                JSON.render([
                    ("user", .string(target.name)),
                    (
                        "devices",
                        .array(
                            devices.map { d in
                                .object([
                                    ("device", .string(d.device.description)), ("since", .string(UTCTimestamp.format(d.created))),
                                    ("until", .string(UTCTimestamp.format(d.expires))),
                                ])
                            })
                    ),
                ]))
        } else if devices.isEmpty {
            print("\(target.name) has no remembered devices.")
        } else {
            print("Remembered devices of \(target.name):")
            for d in devices { print("  \(d.device)  since \(UTCTimestamp.format(d.created))  until \(UTCTimestamp.format(d.expires))") }
        }
    }
}

/// The devices that may skip the code now: those remembered under this enrollment, not expired
/// (`devices`, and the portal's `STATUS`). Root only: they are in the module's state.
func rememberedDevices(_ target: Target, _ enrollment: Enrollment) throws -> [RememberedDevice] {
    let now = Int64(time(nil))
    return try target.withState { try $0.read() }.devices.filter { $0.enrollment == enrollment.identifier && $0.expires > now }
}
