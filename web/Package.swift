// swift-tools-version:6.0
// pam-totp-web, the portal's unprivileged HTTP process (docs/PORTAL.md). A package of its own so that
// Hummingbird and its dependencies stay out of the root package's debug build and unit tests; the
// Makefile builds it in release. Its pure logic (PortalCore) lives in the root package, with tests.
import PackageDescription

let package = Package(
    name: "pam-totp-web",
    platforms: [.macOS(.v15)],
    dependencies: [
        // By name: a path dependency's identity is its directory's name, which differs between clones
        // and worktrees.
        .package(name: "pam-totp", path: ".."),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        .executableTarget(
            name: "pam-totp-web",
            dependencies: [
                .product(name: "PortalCore", package: "pam-totp"),
                .product(name: "PortalProtocol", package: "pam-totp"),
                .product(name: "Hummingbird", package: "hummingbird"),
                // HTTP1Channel's configuration (the idle timeout), which Hummingbird does not re-export.
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        )
    ]
)
