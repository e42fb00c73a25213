internal import CPAM

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
    var login = Login(pam: handle)
    return pamCode(for: login.authenticate(arguments: arguments))
}

/// What the module decided, before it becomes a PAM return code.
enum ModuleOutcome: Error, Equatable {
    /// The user proved possession of the second factor.
    case success
    /// The module has no opinion (not enrolled, with `nullok`); the rest of the stack decides.
    case ignore
    /// Wrong, replayed or missing code, unknown user, or a refused file.
    case denied
    /// The pam.d line is wrong; fixed only by an admin.
    case configurationError
    /// The application's conversation failed; nothing was verified.
    case conversationError
    /// Something on the system failed (state directory, user database, crypto); fail closed.
    case systemError
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
