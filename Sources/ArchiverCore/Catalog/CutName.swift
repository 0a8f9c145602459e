import ArchiveFormat

/// The rule for cut point names: a name must be selectable by `--to` as itself, and unique in the archive.
///
/// `--to` reads `latest`, 19-digit snapshot ids, other integers (positions), RFC 3339 times and the `name:`,
/// `snapshot:`, `position:` prefixes before it reads a name (``CutSelector/init(parsing:)``), so a cut named
/// `12` or `latest` could never be selected; and a second cut of the same name would shadow the first.
public enum CutName {
    /// Checks the form of `name`.
    /// - Throws: ``ArchiverError`` `.invalidArgument` naming the problem and what to use instead.
    public static func validate(_ name: String) throws {
        let example = "choose one that starts with a letter, e.g. 'month-end-2026-11'"
        if name.trimmingWhitespace.isEmpty {
            throw ArchiverError(.invalidArgument, "a cut point name must not be empty; \(example)")
        }
        if name.trimmingWhitespace != name
            || name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        {
            throw ArchiverError(
                .invalidArgument,
                "cut point name '\(name)' has leading or trailing whitespace or control characters; \(example)")
        }
        let selector = CutSelector(parsing: name)
        guard selector == .name(name) else {
            let reading = selector == .latest ? "the head of the archive" : "\(selector)"
            throw ArchiverError(
                .invalidArgument,
                "cut point name '\(name)' is reserved: `--to \(name)` selects \(reading), so a cut of that name "
                    + "could never be selected; \(example)")
        }
    }

    /// Checks that no cut point of `cuts` is named `name` already (except the snapshot `allowing`, a pending
    /// flush that already carries it).
    public static func checkUnused(_ name: String, in cuts: [CutPoint], allowing snapshotID: String? = nil) throws {
        guard let existing = cuts.last(where: { $0.name == name && $0.snapshotID != snapshotID }) else { return }
        throw ArchiverError(
            .cutNameTaken,
            "cut point name '\(name)' is already taken by snapshot \(existing.snapshotID) (through position "
                + "\(existing.facts.lastPosition)); cut names are unique: choose another name")
    }
}

extension String {
    fileprivate var trimmingWhitespace: Substring {
        var text = Substring(self)
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return text
    }
}
