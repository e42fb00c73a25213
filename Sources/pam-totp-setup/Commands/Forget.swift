import ArgumentParser
import Glibc
import TOTPCore

struct Forget: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forget one remembered device, or all of them: the code is asked for again there.",
        discussion: "DEVICE is written as `devices` lists it: key:SHA256:… or address:192.0.2.7. Run as root.")

    @OptionGroup var common: CommonOptions

    @Argument(help: ArgumentHelp("The device to forget.", valueName: "device"))
    var device: String?

    @Flag(name: .long, help: "Forget every remembered device of the user.")
    var all = false

    func validate() throws {
        guard all != (device != nil) else { throw ValidationError("give either a DEVICE or --all") }
        if let device, DeviceIdentity(Substring(device)) == nil {
            throw ValidationError("'\(device)' is not a device as `devices` lists it (key:SHA256:… or address:…)")
        }
    }

    func run() throws {
        let target = try common.resolve()
        let forgotten = try target.withState { locked -> Int in
            var state = try locked.read()
            let before = state.devices.count
            state.devices.removeAll { all || $0.device == DeviceIdentity(Substring(device ?? "")) }
            if state.devices.count != before { try withSignalsBlocked { try locked.write(state) } }
            return before - state.devices.count
        }
        if forgotten == 0 && !all { throw SetupError("\(target.name) has no remembered device \(device ?? "")") }
        print("Forgot \(forgotten) remembered device\(forgotten == 1 ? "" : "s") of \(target.name).")
    }
}
