import Glibc

/// Where the tool's words go: prose to stdout, unless stdout carries JSON, then to stderr.
struct Output {
    let json: Bool

    func prose(_ text: String, newline: Bool = true) {
        let line = newline ? text + "\n" : text
        if json { fputs(line, stderr) } else { fputs(line, stdout) }
    }

    /// A question, without a newline, flushed so it shows before the tool waits for input.
    func ask(_ text: String) {
        prose(text, newline: false)
        fflush(json ? stderr : stdout)
    }

    /// Reads one line of standard input; nil at end of input.
    func answer() -> String? { readLine(strippingNewline: true) }

    /// Prints recovery codes once and, at a terminal, waits until the user says they stored them.
    func showRecoveryCodes(_ codes: [String]) {
        guard !codes.isEmpty, !json else { return }
        prose("Recovery codes: each works once, at the code prompt, if you lose your phone.")
        prose("They are shown only now. Store them somewhere safe, away from the phone:")
        for code in codes { prose("  \(code)") }
        guard isatty(STDIN_FILENO) == 1 else { return }
        while true {
            ask("Type \"yes\" once you have stored them: ")
            guard let reply = answer() else { return }
            if ["yes", "y"].contains(reply.lowercased().trimmingSpaces) { return }
        }
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
