/// The known name closest to a misspelt one (Levenshtein distance), for "did you mean" hints.
enum NearestName {
    /// The closest of `candidates` within a few edits of `name` (2, or a third of a longer name up to 3, so a
    /// short unrelated word is not "corrected" into a key), or nil.
    static func closest(to name: String, among candidates: [String]) -> String? {
        let maximumDistance = max(2, min(3, name.count / 3))
        let scored = candidates.map { ($0, distance($0, name)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= maximumDistance else { return nil }
        return best.0
    }

    /// The number of single-character insertions, deletions and substitutions that turn `a` into `b`.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var diagonal = row[0]
            row[0] = i
            for j in 1...b.count {
                let above = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1))
                diagonal = above
            }
        }
        return row[b.count]
    }
}
