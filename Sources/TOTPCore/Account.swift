/// A user as the system's user database (NSS) knows them.
///
/// A value only: TOTPStorage looks accounts up (`Account.lookup`), and the login decision (`Login`)
/// passes them back to its driver in the requests that need them.
public struct Account: Equatable, Sendable {
    /// The canonical name, as the user database spells it; everything keyed on a user uses it.
    public let name: String
    public let uid: UInt32
    public let gid: UInt32
    public let home: String

    public init(name: String, uid: UInt32, gid: UInt32, home: String) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.home = home
    }
}
