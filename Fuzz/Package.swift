// swift-tools-version:6.0
// The fuzzing harness (make fuzz): the pure parsers of TOTPCore built with libFuzzer and
// AddressSanitizer. A package of its own so that the normal build never links a fuzzer.
import Foundation
import PackageDescription

// The project's own package, by path. SwiftPM names a path dependency after its folder, which is the
// checkout's folder (`main`, `pam-totp`, whatever a clone is called), so the name is derived from it.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let rootPackage = root.lastPathComponent.lowercased()

let package = Package(
    name: "pam-totp-fuzz",
    dependencies: [.package(path: root.path)],
    targets: [
        .executableTarget(name: "pam-totp-fuzz", dependencies: [.product(name: "TOTPCore", package: rootPackage)])
    ],
    swiftLanguageModes: [.v5]
)
