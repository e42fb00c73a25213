// swift-tools-version:6.0
// The fuzzing harness (make fuzz): the pure parsers of TOTPCore built with libFuzzer and
// AddressSanitizer. A package of its own so that the normal build never links a fuzzer.
import PackageDescription

let package = Package(
    name: "pam-totp-fuzz",
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(name: "pam-totp-fuzz", dependencies: [.product(name: "TOTPCore", package: "main")])
    ],
    swiftLanguageModes: [.v5]
)
