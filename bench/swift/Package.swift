// swift-tools-version:6.0
// make bench's in-process part (bench/swift, beside the scripts in bench/): how long the core takes to
// verify one TOTP code and one recovery code.
import Foundation
import PackageDescription

// The project's own package, by path. SwiftPM names a path dependency after its folder, which is the
// checkout's folder (`main`, `pam-totp`, whatever a clone is called), so the name is derived from it.
// This file is ROOT/bench/swift/Package.swift.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let rootPackage = root.lastPathComponent.lowercased()

let package = Package(
    name: "pam-totp-bench",
    dependencies: [.package(path: root.path)],
    targets: [
        .executableTarget(name: "pam-totp-bench", dependencies: [.product(name: "TOTPCore", package: rootPackage)])
    ],
    swiftLanguageModes: [.v5]
)
