import Glibc

/// Runs `body` with SIGINT, SIGTERM, SIGHUP and SIGQUIT held back, so Ctrl-C cannot stop a write
/// halfway (the atomic write would leave its temporary file behind). They are delivered afterwards.
func withSignalsBlocked<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
    var blocked = sigset_t()
    var previous = sigset_t()
    sigemptyset(&blocked)
    for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] { sigaddset(&blocked, signal) }
    sigprocmask(SIG_BLOCK, &blocked, &previous)
    defer { sigprocmask(SIG_SETMASK, &previous, nil) }
    return try body()
}
