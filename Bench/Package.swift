// swift-tools-version:6.0
// make bench's in-process part: how long the core takes to verify one TOTP code and one recovery code.
import PackageDescription

let package = Package(
    name: "pam-totp-bench",
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(name: "pam-totp-bench", dependencies: [.product(name: "TOTPCore", package: "main")])
    ],
    swiftLanguageModes: [.v5]
)
