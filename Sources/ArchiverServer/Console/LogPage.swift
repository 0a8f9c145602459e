import Logging

/// `GET /ui/log`: the server's recent warnings and errors from ``LogRing``, newest first, already redacted.
struct LogPage {
    let api: ArchiverAPI
    let session: ConsoleSession

    func render() -> HTML {
        let layout = ConsoleLayout(title: "Recent warnings and errors", section: .log, csrfToken: session.signOutToken)
        let entries = api.console.log.recent
        guard !entries.isEmpty else {
            return layout.page("<p id=\"log-empty\">Nothing since the server started.</p>")
        }
        let rows = entries.map { entry -> HTML in
            let level: HTML =
                entry.level >= .error ? "<span class=\"bad\">\(entry.level.rawValue)</span>" : "\(entry.level.rawValue)"
            return """
                <tr><td>\(ConsoleFormat.time(entry.time))</td><td>\(level)</td><td>\(entry.message)</td>\
                <td class="data">\(entry.details)</td></tr>
                """
        }
        return layout.page(
            """
            <table id="log"><caption>\(entries.count) entries (the last \(api.console.log.capacity) are kept)\
            </caption><thead><tr><th scope="col">Time</th><th scope="col">Level</th><th scope="col">Message</th>\
            <th scope="col">Details</th></tr></thead><tbody>\(rows)</tbody></table>
            """)
    }
}
