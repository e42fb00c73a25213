// libFuzzer entry point. FUZZ_TARGET picks the parser: enrollment, state, options, base32 or input.
// Each target checks properties, not just "no crash": what parses must serialise and parse back to
// the same value.
import Glibc
import TOTPCore
import TOTPCrypto

private let target = getenv("FUZZ_TARGET").map { String(cString: $0) } ?? "enrollment"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    switch target {
    case "enrollment":
        if let enrollment = try? Enrollment.parse(bytes) {
            precondition((try? Enrollment.parse(enrollment.serialized())) == enrollment, "enrollment round trip")
        }
    case "state":
        if let state = try? UserState.parse(bytes) {
            precondition((try? UserState.parse(state.serialized())) == state, "state round trip")
        }
    case "options":
        let text = String(decoding: bytes, as: UTF8.self)
        _ = try? ModuleOptions.parse(text.split(separator: "\n").map(String.init))
        if let arguments = try? ModuleOptions.configArguments(bytes) { _ = try? ModuleOptions.parse([], config: arguments) }
        _ = try? TrustedNetworks.parse(text, isFile: true)
        _ = try? GoogleAuthenticatorFile.parse(bytes)
        _ = RememberDuration.parse(Substring(text))
    case "base32":
        let text = String(decoding: bytes, as: UTF8.self)
        if let decoded = try? Base32.decode(text) {
            precondition((try? Base32.decode(Base32.encode(decoded))) == decoded, "base32 round trip")
        }
        _ = Base64.decode(Substring(text))
        _ = IPAddress(text)
        _ = CIDR(Substring(text))
    case "input":
        for digits in 6...8 {
            _ = CodeInput.classify(Secret(bytes), digits: digits)
            _ = CombinedInput.split(Secret(bytes), digits: digits)
        }
        _ = RecoveryCode.normalize(Secret(bytes))
    default:
        fatalError("unknown FUZZ_TARGET \(target)")
    }
    return 0
}

// SwiftPM links an executable's entry point as `<module>_main`; hand over to libFuzzer's driver there.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

@_cdecl("pam_totp_fuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { fuzz($0, $1) }
}
