import Glibc
import TOTPCore
import TOTPStorage
import XCTest

/// The walk from `/` that the state directory and central enrollments are opened through (issue 11).
/// The scratch directory is root's 0755 inside the sticky, world-writable /tmp, which must work.
final class SecurePathTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(getuid() == 0, "the walk's tests make directories owned by other users and must run as root")
    }

    func refusal(_ path: String, createMode: mode_t? = nil) -> StorageError? {
        do {
            let fd = try SecurePath.openDirectory(path, createMode: createMode)
            close(fd)
            return nil
        } catch {
            return error
        }
    }

    func directory(_ path: String, mode: mode_t, owner: uid_t = 0) {
        XCTAssertEqual(mkdir(path, 0o700), 0, path)
        chmod(path, mode)
        chown(path, owner, owner)
    }

    func testOpensWhatWasCheckedAndCreatesOnlyTheLastDirectory() throws {
        let scratch = Scratch()
        directory(scratch.path + "/a", mode: 0o755)
        directory(scratch.path + "/a/b", mode: 0o700)
        let fd = try SecurePath.openDirectory(scratch.path + "/a//b/")
        defer { close(fd) }
        var opened = stat()
        var named = stat()
        XCTAssertEqual(fstat(fd, &opened), 0)
        XCTAssertEqual(stat(scratch.path + "/a/b", &named), 0)
        XCTAssertEqual(opened.st_ino, named.st_ino)
        XCTAssertNoThrow(close(try SecurePath.openDirectory("/")))

        XCTAssertEqual(refusal(scratch.path + "/a/new"), .notFound(path: scratch.path + "/a/new"))
        XCTAssertNil(refusal(scratch.path + "/a/new", createMode: 0o700))
        XCTAssertEqual(stat(scratch.path + "/a/new", &named), 0)
        XCTAssertEqual(named.st_mode & 0o7777, 0o700)
        // Only the last directory is created, never a missing one above it.
        XCTAssertEqual(refusal(scratch.path + "/missing/new", createMode: 0o700), .notFound(path: scratch.path + "/missing"))
    }

    func testRefusesSymbolicLinksAnywhereOnThePath() {
        let scratch = Scratch()
        directory(scratch.path + "/real", mode: 0o755)
        directory(scratch.path + "/real/state", mode: 0o700)
        symlink(scratch.path + "/real", scratch.path + "/link")
        symlink(scratch.path + "/real/state", scratch.path + "/real/statelink")
        XCTAssertEqual(refusal(scratch.path + "/link/state"), .symbolicLink(path: scratch.path + "/link"))
        XCTAssertEqual(refusal(scratch.path + "/real/statelink"), .symbolicLink(path: scratch.path + "/real/statelink"))
        // A dangling link is not created through either.
        symlink(scratch.path + "/real/elsewhere", scratch.path + "/real/dangling")
        XCTAssertEqual(refusal(scratch.path + "/real/dangling", createMode: 0o700), .symbolicLink(path: scratch.path + "/real/dangling"))
        XCTAssertEqual(access(scratch.path + "/real/elsewhere", F_OK), -1)
        scratch.file("plain", "x")
        XCTAssertEqual(
            refusal(scratch.path + "/plain/state"),
            .insecureDirectory(path: scratch.path + "/plain", reason: "is a regular file, expected a directory"))
    }

    func testRefusesDirectoriesOthersControl() {
        let scratch = Scratch()
        directory(scratch.path + "/open", mode: 0o777)
        directory(scratch.path + "/open/state", mode: 0o700)
        XCTAssertEqual(
            refusal(scratch.path + "/open/state"),
            .insecureDirectory(path: scratch.path + "/open", reason: "mode 777 lets group or others write and has no sticky bit"))
        directory(scratch.path + "/group", mode: 0o775)
        directory(scratch.path + "/group/state", mode: 0o700)
        XCTAssertNotNil(refusal(scratch.path + "/group/state"))
        directory(scratch.path + "/users", mode: 0o755, owner: 4242)
        directory(scratch.path + "/users/state", mode: 0o700)
        XCTAssertEqual(
            refusal(scratch.path + "/users/state"),
            .insecureDirectory(path: scratch.path + "/users", reason: "owned by uid 4242, expected root"))
        directory(scratch.path + "/theirs", mode: 0o700, owner: 4242)
        XCTAssertNotNil(refusal(scratch.path + "/theirs"))
        // The last directory is never accepted writable by group or others, sticky or not.
        for mode: mode_t in [0o1777, 0o770, 0o720, 0o702] {
            directory(scratch.path + "/last\(mode)", mode: mode)
            XCTAssertEqual(
                refusal(scratch.path + "/last\(mode)"),
                .insecureDirectory(path: scratch.path + "/last\(mode)", reason: "mode \(String(mode, radix: 8)) lets group or others write")
            )
        }
        XCTAssertNotNil(refusal("relative/path"))
        XCTAssertNotNil(refusal(scratch.path + "/open/../open"))
    }

    func testAStickyParentLikeTmpIsFineButOnlyForRootsEntries() {
        let scratch = Scratch()
        directory(scratch.path + "/shared", mode: 0o1777)
        directory(scratch.path + "/shared/state", mode: 0o700)
        XCTAssertNil(refusal(scratch.path + "/shared/state"))
        XCTAssertNil(refusal(scratch.path + "/shared/made", createMode: 0o700))
        // Someone else's entry in the sticky directory, planted before root made its own, is refused.
        directory(scratch.path + "/shared/planted", mode: 0o700, owner: 4242)
        XCTAssertEqual(
            refusal(scratch.path + "/shared/planted", createMode: 0o700),
            .insecureDirectory(path: scratch.path + "/shared/planted", reason: "owned by uid 4242, expected root"))
    }

    func testReadsAFileThroughTheCheckedDirectoryOnly() throws {
        let scratch = Scratch()
        directory(scratch.path + "/central", mode: 0o700)
        scratch.file("central/alice", "hello\n")
        scratch.file("central/bob", "bob\n", owner: 4242)
        let alice = try SecurePath.readFile(scratch.path + "/central/alice", owners: [4242, 0])
        XCTAssertEqual(alice.bytes, Secret(Array("hello\n".utf8)))
        XCTAssertEqual(alice.owner, 0)
        XCTAssertEqual(try SecurePath.readFile(scratch.path + "/central/bob", owners: [4242, 0]).owner, 4242)
        XCTAssertThrowsError(try SecurePath.readFile(scratch.path + "/central/bob", owners: [4343, 0]))
        XCTAssertThrowsError(try SecurePath.readFile(scratch.path + "/central/missing", owners: [0])) {
            XCTAssertTrue(($0 as? StorageError)?.isNotFound == true)
        }
        symlink(scratch.path + "/central/alice", scratch.path + "/central/carol")
        XCTAssertThrowsError(try SecurePath.readFile(scratch.path + "/central/carol", owners: [0])) {
            XCTAssertEqual($0 as? StorageError, .symbolicLink(path: scratch.path + "/central/carol"))
        }
        symlink(scratch.path + "/central", scratch.path + "/linked")
        XCTAssertThrowsError(try SecurePath.readFile(scratch.path + "/linked/alice", owners: [0])) {
            XCTAssertEqual($0 as? StorageError, .symbolicLink(path: scratch.path + "/linked"))
        }
        chmod(scratch.path + "/central", 0o733)
        XCTAssertThrowsError(try SecurePath.readFile(scratch.path + "/central/alice", owners: [0])) {
            XCTAssertEqual(
                $0 as? StorageError, .insecureDirectory(path: scratch.path + "/central", reason: "mode 733 lets group or others write"))
        }
    }

    func testTheStateStoreWalksItsPath() throws {
        let scratch = Scratch()
        directory(scratch.path + "/open", mode: 0o777)
        XCTAssertThrowsError(try StateStore(path: scratch.path + "/open/state"))
        XCTAssertEqual(access(scratch.path + "/open/state", F_OK), -1, "nothing is created in a directory others can write")
        directory(scratch.path + "/real", mode: 0o755)
        symlink(scratch.path + "/real", scratch.path + "/link")
        XCTAssertThrowsError(try StateStore(path: scratch.path + "/link/state"))
        XCTAssertEqual(access(scratch.path + "/real/state", F_OK), -1)
        directory(scratch.path + "/sticky", mode: 0o1777)
        XCTAssertNoThrow(try StateStore(path: scratch.path + "/sticky/state").lock(user: "alice").release())
    }
}

final class EnrollmentAccountTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(getuid() == 0, "central enrollments are root's")
    }

    func testCentralRootOwnedFilesNeedTheirAccountLine() throws {
        let scratch = Scratch()
        mkdir(scratch.path + "/central", 0o700)
        let nobody = try XCTUnwrap(Account.lookup("nobody"))
        // An enrollment without an `account` line, as files written before it existed are.
        let text = String(
            decoding: Enrollment(parameters: .standard, secret: Secret(Array(repeating: 7, count: 20))).serialized(), as: UTF8.self)
        scratch.file("central/rootowned", text)
        scratch.file("central/nobody", text, owner: nobody.uid)
        // A root-owned file says nothing about whose it is; a file owned by the user does.
        XCTAssertThrowsError(try EnrollmentStorage.load(scratch.path + "/central/rootowned", account: nobody, inHome: false)) {
            XCTAssertEqual($0 as? EnrollmentRefusal, .account(.missing))
        }
        XCTAssertNotNil(try EnrollmentStorage.load(scratch.path + "/central/nobody", account: nobody, inHome: false))
        XCTAssertNil(try EnrollmentStorage.load(scratch.path + "/central/none", account: nobody, inHome: false))
        chmod(scratch.path + "/central", 0o777)
        XCTAssertThrowsError(try EnrollmentStorage.load(scratch.path + "/central/nobody", account: nobody, inHome: false)) {
            guard case .unreadable = $0 as? EnrollmentRefusal else { return XCTFail("\($0)") }
        }
    }
}
