// swift-tools-version:6.0
// The package behind pam_totp.so and pam-totp-setup. docs/DESIGN.md says why the targets are split
// the way they are.
import PackageDescription

// pam_totp.so itself is not built here: the Makefile builds it from these same targets' sources in
// Embedded Swift (docs/DESIGN.md, "The module in Embedded Swift"). Here, in full Swift, they serve
// the setup tool and the tests, and do without the implicitly imported _StringProcessing and
// _Concurrency libraries, as the Embedded build does.
let moduleSwiftSettings: [SwiftSetting] = [
    .unsafeFlags([
        "-Xfrontend", "-disable-implicit-string-processing-module-import",
        "-Xfrontend", "-disable-implicit-concurrency-module-import",
    ])
]

let package = Package(
    name: "pam-totp",
    products: [
        .executable(name: "pam-totp-setup", targets: ["pam-totp-setup"]),
        // For Fuzz/ (make fuzz), which builds the parsers with libFuzzer and AddressSanitizer.
        .library(name: "TOTPCore", targets: ["TOTPCore", "TOTPCrypto"]),
        // For web/ (pam-totp-web), which speaks the helper protocol with pam-totp-setup web-helper.
        .library(name: "PortalProtocol", targets: ["PortalProtocol"]),
        // For web/ too: the portal's pure logic (configuration, sessions, languages, messages).
        .library(name: "PortalCore", targets: ["PortalCore"]),
    ],
    dependencies: [
        // Exact: the help texts it renders are snapshotted in Tests/integration/help/, so a new
        // version must be taken on purpose, with the snapshots updated in the same commit.
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2")
    ],
    targets: [
        // System libraries: each is a module map and one umbrella header.
        .systemLibrary(name: "CPAM", path: "Sources/CPAM"),
        .systemLibrary(name: "CQRencode", path: "Sources/CQRencode"),
        // prctl and setrlimit for the portal's helper (no core file, not dumpable): the tool only.
        .systemLibrary(name: "CProcessGuard", path: "Sources/CProcessGuard"),

        // Hashing and HMAC in Swift; PBKDF2 and random bytes from libcrypto, through CLibCrypto.
        .target(name: "TOTPCrypto", dependencies: ["CLibCrypto", "CTOTPSystem"], swiftSettings: moduleSwiftSettings),
        // C: loads libcrypto on first use (dlopen) instead of linking it; see its header for why.
        .target(name: "CLibCrypto"),
        // Pure decisions: no PAM, no files, no clock.
        .target(name: "TOTPCore", dependencies: ["TOTPCrypto"], swiftSettings: moduleSwiftSettings),
        // Files: secure open, ownership and mode checks, locking, atomic rewrite.
        .target(
            name: "TOTPStorage", dependencies: ["TOTPCore", "TOTPCrypto", "CTOTPSystem", "CLibPQ"], swiftSettings: moduleSwiftSettings),
        // C: loads libpq on first use (dlopen), only where a PostgreSQL store is configured, and
        // bounds every wait for the database with poll(2); see its header for why.
        .target(name: "CLibPQ", cSettings: [.unsafeFlags(["-I/usr/include/postgresql"])]),
        // The C library as the module's Swift code sees it (Embedded Swift has no Glibc module), with
        // wrappers for what Swift cannot import (errno, variadic calls, setfsuid/setfsgid).
        .target(name: "CTOTPSystem"),
        // The module's driver: performs the login decision's requests (TOTPCore's Login) with libpam,
        // the files and the clock.
        .target(
            name: "PAMTOTP", dependencies: ["TOTPCore", "TOTPStorage", "CPAM", "CPAMTOTPShimHelpers"], swiftSettings: moduleSwiftSettings),
        // C helpers Swift cannot express (variadic pam_syslog/pam_prompt).
        .target(name: "CPAMTOTPShimHelpers", dependencies: ["CPAM"], path: "Sources/CPAMTOTPShim/helpers"),
        // The line format of the portal's helper protocol (docs/PORTAL.md), shared by both ends.
        .target(name: "PortalProtocol"),
        // pam-totp-web's decisions, without Hummingbird: its configuration, accounts, languages and
        // their messages, sessions and tokens, and what its pages show (web/ is the HTTP edge).
        .target(name: "PortalCore", dependencies: ["PortalProtocol", "TOTPCore"]),
        .executableTarget(
            name: "pam-totp-setup",
            dependencies: [
                "TOTPCore", "TOTPStorage", "CQRencode", "CPAM", "CProcessGuard", "PortalProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "TOTPCoreTests", dependencies: ["TOTPCore", "TOTPCrypto"]),
        .testTarget(name: "TOTPStorageTests", dependencies: ["TOTPStorage", "TOTPCore"]),
        // The module's login decision (TOTPCore's Login) driven by a fake conversation, files and clock.
        .testTarget(name: "LoginTests", dependencies: ["TOTPCore"]),
        .testTarget(name: "PortalProtocolTests", dependencies: ["PortalProtocol"]),
        .testTarget(name: "PortalCoreTests", dependencies: ["PortalCore", "PortalProtocol"]),
    ],
    swiftLanguageModes: [.v5]
)
