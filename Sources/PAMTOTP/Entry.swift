internal import CPAM
import TOTPCore

/// Called by `pam_sm_authenticate` in the C shim (CPAMTOTPShim/entry/entry.c).
@_cdecl("pamtotp_swift_authenticate")
public func pamtotpSwiftAuthenticate(
    _ pamh: OpaquePointer?, _ flags: Int32, _ argc: Int32, _ argv: UnsafePointer<UnsafePointer<CChar>?>?
) -> Int32 {
    guard let pamh else { return pamCode(for: .systemError) }
    var arguments: [String] = []
    if let argv, argc > 0 {
        for index in 0..<Int(argc) {
            if let argument = argv[index] { arguments.append(String(cString: argument)) }
        }
    }
    let handle = PAMHandle(pamh, silent: flags & Int32(PAM_SILENT) != 0)
    var driver = LoginDriver(pam: handle)
    return pamCode(for: driver.authenticate(arguments: arguments))
}

/// The one place outcomes become PAM return codes.
func pamCode(for outcome: ModuleOutcome) -> Int32 {
    switch outcome {
    case .success: return Int32(PAM_SUCCESS)
    case .ignore: return Int32(PAM_IGNORE)
    case .denied: return Int32(PAM_AUTH_ERR)
    case .configurationError: return Int32(PAM_SERVICE_ERR)
    case .conversationError: return Int32(PAM_CONV_ERR)
    case .systemError: return Int32(PAM_AUTHINFO_UNAVAIL)
    }
}
