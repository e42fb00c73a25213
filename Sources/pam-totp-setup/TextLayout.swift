/// Breaks `text` into lines of at most `width` columns at spaces (a longer word gets a line of its own).
func wrap(_ text: String, width: Int) -> [String] {
    var lines: [String] = []
    var current = ""
    for word in text.split(separator: " ") {
        if !current.isEmpty && current.count + 1 + word.count > width {
            lines.append(current)
            current = ""
        }
        current += current.isEmpty ? String(word) : " " + word
    }
    if !current.isEmpty { lines.append(current) }
    return lines
}

/// `JBSWY3DPEHPK3PXP` → `JBSW Y3DP EHPK 3PXP`.
func grouped(_ text: String) -> String {
    var out = ""
    for (index, c) in text.enumerated() {
        if index > 0 && index % 4 == 0 { out += " " }
        out.append(c)
    }
    return out
}
