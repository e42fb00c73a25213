import Glibc
import TOTPCore
import TOTPStorage
import XCTest

/// A fresh directory under /tmp, removed afterwards. Mode 0755 so other uids can traverse it.
final class Scratch {
    let path: String
    init() {
        var template = Array("/tmp/pamtotp-storage-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        chmod(path, 0o755)
    }
    deinit { _ = system("rm -rf '\(path)'") }

    @discardableResult
    func file(_ name: String, _ text: String, mode: mode_t = 0o600, owner: uid_t? = nil) -> String {
        let full = path + "/" + name
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, mode)
        precondition(fd >= 0)
        _ = text.withCString { write(fd, $0, strlen($0)) }
        fchmod(fd, mode)
        if let owner { fchown(fd, owner, owner) }
        close(fd)
        return full
    }
}

final class SecureFileTests: XCTestCase {
    let me = getuid()

    override func setUpWithError() throws {
        // Ownership checks need files owned by other users, which only root can make; CI runs as root.
        try XCTSkipUnless(getuid() == 0, "the storage tests create files owned by other users and must run as root")
    }

    func refusal(_ path: String, owner: uid_t = 0) -> StorageError? {
        do {
            _ = try SecureFile.read(path, owner: owner)
            return nil
        } catch {
            return error
        }
    }

    func testReadsAPrivateRegularFile() throws {
        let scratch = Scratch()
        let path = scratch.file("ok", "hello\n", owner: 4242)
        XCTAssertEqual(try SecureFile.read(path, owner: 4242), Secret(Array("hello\n".utf8)))
        let rootOwned = scratch.file("root", "x", mode: 0o400)
        XCTAssertEqual(try SecureFile.read(rootOwned, owner: 4242), Secret(Array("x".utf8)))
    }

    func testRefusesWhatIsNotSafe() throws {
        let scratch = Scratch()
        XCTAssertEqual(refusal(scratch.path + "/missing"), .notFound(path: scratch.path + "/missing"))
        XCTAssertEqual(refusal(scratch.path + "/missing/deeper"), .notFound(path: scratch.path + "/missing/deeper"))

        let target = scratch.file("target", "x")
        symlink(target, scratch.path + "/link")
        XCTAssertEqual(refusal(scratch.path + "/link"), .symbolicLink(path: scratch.path + "/link"))

        mkdir(scratch.path + "/dir", 0o700)
        XCTAssertEqual(refusal(scratch.path + "/dir"), .notRegularFile(path: scratch.path + "/dir", kind: "directory"))

        mkfifo(scratch.path + "/fifo", 0o600)
        XCTAssertEqual(refusal(scratch.path + "/fifo"), .notRegularFile(path: scratch.path + "/fifo", kind: "FIFO"))

        let other = scratch.file("other", "x", owner: 4343)
        XCTAssertEqual(refusal(other, owner: 4242), .wrongOwner(path: other, uid: 4343))

        for mode: mode_t in [0o640, 0o604, 0o620, 0o602, 0o610, 0o601, 0o644, 0o666] {
            let loose = scratch.file("loose\(mode)", "x", mode: mode)
            XCTAssertEqual(
                refusal(loose), .insecurePermissions(path: loose, mode: UInt32(S_IFREG | mode)), "mode \(String(mode, radix: 8))")
        }

        let linked = scratch.file("victim", "x", owner: 4242)
        link(linked, scratch.path + "/hardlink")
        XCTAssertNotNil(refusal(scratch.path + "/hardlink", owner: 4242))

        let big = scratch.file("big", String(repeating: "a", count: SecureFile.maxSize + 1))
        XCTAssertEqual(refusal(big), .tooLarge(path: big, size: SecureFile.maxSize + 1))
    }

    func testFileSystemIdentityActsAsTheUser() throws {
        let scratch = Scratch()
        mkdir(scratch.path + "/home", 0o700)
        chown(scratch.path + "/home", 4242, 4242)
        let directory = try AtomicFile.openDirectory(scratch.path + "/home")
        defer { AtomicFile.closeDirectory(directory) }
        let result = try FileSystemIdentity.run(uid: 4242, gid: 4242) {
            Result { () throws(StorageError) in
                try AtomicFile.write(Array("x".utf8), name: "file", in: directory, displayPath: "file", mode: 0o600)
            }
        }
        XCTAssertNoThrow(try result.get())
        var info = stat()
        XCTAssertEqual(stat(scratch.path + "/home/file", &info), 0)
        XCTAssertEqual(info.st_uid, 4242)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        // Back as root afterwards, and the user could not have read a root-only file.
        let secret = scratch.file("rootonly", "x")
        let denied = try FileSystemIdentity.run(uid: 4242, gid: 4242) {
            Result { () throws(StorageError) in try SecureFile.read(secret, owner: 4242) }
        }
        guard case .failure(.system(operation: "open", _, let errno)) = denied else { return XCTFail("\(denied)") }
        XCTAssertEqual(errno.code, EACCES)
        XCTAssertEqual(try SecureFile.read(secret, owner: 0), Secret(Array("x".utf8)))
    }
}

final class AtomicFileTests: XCTestCase {
    func testReplacesWholeAndLeavesNoTemporaryFile() throws {
        let scratch = Scratch()
        scratch.file("f", "old")
        let directory = try AtomicFile.openDirectory(scratch.path)
        defer { AtomicFile.closeDirectory(directory) }
        try AtomicFile.write(Array("new".utf8), name: "f", in: directory, displayPath: "f", mode: 0o600)
        XCTAssertEqual(try SecureFile.read(scratch.path + "/f", owner: getuid()), Secret(Array("new".utf8)))
        let listing = try XCTUnwrap(opendir(scratch.path))
        defer { closedir(listing) }
        var names: [String] = []
        while let entry = readdir(listing) {
            names.append(withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) })
        }
        XCTAssertEqual(names.filter { !$0.hasPrefix(".") || $0.contains(AtomicFile.temporaryMarker) }.sorted(), ["f"])
    }

    func testMissingDirectory() {
        XCTAssertThrowsError(try AtomicFile.openDirectory("/nonexistent/dir")) { XCTAssertTrue(($0 as? StorageError)?.isNotFound == true) }
    }

    func testSplit() {
        XCTAssertTrue(AtomicFile.split("/a/b/c") == ("/a/b", "c"))
        XCTAssertTrue(AtomicFile.split("/c") == ("/", "c"))
    }
}

final class StateStoreTests: XCTestCase {
    func testCreatesTheDirectoryAndRoundTrips() throws {
        let scratch = Scratch()
        let store = try StateStore(path: scratch.path + "/state")
        var info = stat()
        XCTAssertEqual(stat(scratch.path + "/state", &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o700)
        let locked = try store.lock(user: "alice")
        XCTAssertEqual(try locked.read(), UserState())
        var state = UserState()
        state.lastStep = 42
        try locked.write(state)
        XCTAssertEqual(try locked.read(), state)
        locked.release()
        XCTAssertEqual(stat(scratch.path + "/state/alice.state", &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
    }

    /// Issue 11, item 8: NAME_MAX is 255 and a user name may have 256 bytes. `NAME.state` stops fitting
    /// at 250 bytes, `.NAME.state.tmp-XXXXXXXXXXXX` at 232.
    func testEveryUserNameLengthHasFilesThatFitAndRoundTrip() throws {
        let scratch = Scratch()
        let store = try StateStore(path: scratch.path + "/state")
        for length in [1, 200, 231, 232, 237, 238, 249, 250, 255, 256] {
            let user = String(repeating: "u", count: length - 1) + "\(length % 10)"
            let names = StateStore.fileNames(user: user)
            XCTAssertLessThanOrEqual(names.state.utf8.count, 255)
            XCTAssertLessThanOrEqual(names.lock.utf8.count, 255)
            if length <= 249 {
                XCTAssertTrue(names == (user + ".state", user + ".lock"), "\(length)")
            } else {
                XCTAssertTrue(names.state.hasSuffix(".sha256-state") && names.lock.hasSuffix(".sha256-lock"), "\(length)")
            }
            let locked = try store.lock(user: user)
            var state = UserState()
            state.lastStep = UInt64(length)
            // A killed writer's temporary, which the next write takes over.
            let stale = AtomicFile.temporaryPrefix(of: names.state) + "locked"
            XCTAssertLessThanOrEqual(stale.utf8.count, 255)
            XCTAssertEqual(close(open(scratch.path + "/state/" + stale, O_WRONLY | O_CREAT, 0o600)), 0, "\(length)")
            try locked.write(state)
            XCTAssertEqual(try locked.read(), state)
            locked.release()
            XCTAssertEqual(try store.lock(user: user).read().lastStep, UInt64(length))
        }
        let listing = try XCTUnwrap(opendir(scratch.path + "/state"))
        defer { closedir(listing) }
        var files = 0
        while let entry = readdir(listing) {
            let offset = try XCTUnwrap(MemoryLayout<dirent>.offset(of: \dirent.d_name))
            let name = String(cString: (UnsafeRawPointer(entry) + offset).assumingMemoryBound(to: CChar.self))
            if name == "." || name == ".." { continue }
            XCTAssertFalse(name.contains(AtomicFile.temporaryMarker), name)
            files += 1
        }
        XCTAssertEqual(files, 20)
    }

    func testRefusesUnsafeDirectoriesAndFiles() throws {
        let scratch = Scratch()
        mkdir(scratch.path + "/open", 0o777)
        chmod(scratch.path + "/open", 0o777)
        XCTAssertThrowsError(try StateStore(path: scratch.path + "/open"))
        symlink(scratch.path, scratch.path + "/link")
        XCTAssertThrowsError(try StateStore(path: scratch.path + "/link"))
        scratch.file("plain", "x")
        XCTAssertThrowsError(try StateStore(path: scratch.path + "/plain"))
        XCTAssertThrowsError(try StateStore(path: scratch.path + "/missing/deeper"))

        let store = try StateStore(path: scratch.path + "/state")
        XCTAssertThrowsError(try store.lock(user: "../etc"))
        scratch.file("state/bob.state", "version 1\nend\n", mode: 0o644)
        XCTAssertThrowsError(try store.lock(user: "bob").read()) {
            XCTAssertEqual(
                $0 as? StorageError, .insecurePermissions(path: scratch.path + "/state/bob.state", mode: UInt32(S_IFREG | 0o644)))
        }
        scratch.file("state/carol.state", "version 1\nfailures x\nend\n")
        XCTAssertThrowsError(try store.lock(user: "carol").read()) { error in
            guard case .malformed = error as? StorageError else { return XCTFail("\(error)") }
        }
    }

    func testTheLockExcludesOtherThreadsAndIsReleasedOnClose() throws {
        let scratch = Scratch()
        let store = try StateStore(path: scratch.path + "/state")
        let held = try store.lock(user: "alice")
        let acquired = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        acquired.pointee = 0
        defer { acquired.deallocate() }
        var thread = pthread_t()
        let context = Unmanaged.passRetained(LockContext(store: store, flag: acquired)).toOpaque()
        pthread_create(
            &thread, nil,
            { raw in
                let context = Unmanaged<LockContext>.fromOpaque(raw!).takeRetainedValue()
                let lock = try? context.store.lock(user: "alice")
                context.flag.pointee = 1
                lock?.release()
                return nil
            }, context)
        usleep(200_000)
        XCTAssertEqual(acquired.pointee, 0, "a second locker must wait")
        held.release()
        pthread_join(thread, nil)
        XCTAssertEqual(acquired.pointee, 1)
    }
}

final class LockContext {
    let store: StateStore
    let flag: UnsafeMutablePointer<Int32>
    init(store: StateStore, flag: UnsafeMutablePointer<Int32>) {
        self.store = store
        self.flag = flag
    }
}

final class AccountTests: XCTestCase {
    func testLookup() throws {
        XCTAssertEqual(try Account.lookup("root")?.uid, 0)
        XCTAssertNil(try Account.lookup("no-such-user-pamtotp"))
        XCTAssertEqual(try Account.current()?.uid, getuid())
    }
}
