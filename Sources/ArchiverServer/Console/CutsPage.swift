import ArchiverCore
import Foundation

/// `GET /ui/cuts`: the named cut points (the same list as `GET /cuts`) on a timeline of positions and in a
/// table, and the form that creates one (`POST /ui/cuts`, admin scope, like `POST /cuts/{name}`).
struct CutsPage {
    let api: ArchiverAPI
    let session: ConsoleSession
    /// A message above the list: the cut just created, or why creating one failed.
    var notice: HTML = ""
    /// The name to put back into the form after a failure.
    var proposedName = ""

    func render() async -> HTML {
        let layout = ConsoleLayout(title: "Cut points", section: .cuts, csrfToken: session.signOutToken)
        let cuts: [CutList.Cut]
        do {
            cuts = try await Self.namedCuts(api.archive)
        } catch {
            return layout.page(
                "\(notice)<p class=\"error\">The archive is unreadable: \(FlushCoordinator.describe(error))</p>")
        }
        return layout.page(
            """
            \(notice)\(form())
            <h2>Timeline</h2>\(timeline(cuts))
            <h2>Named cuts</h2>\(table(cuts))
            """)
    }

    /// What `GET /cuts` lists.
    static func namedCuts(_ archive: Archive) async throws -> [CutList.Cut] {
        do {
            return try await archive.cutPoints().filter { $0.name != nil }.map(CutList.Cut.init)
        } catch let error as ArchiverError where error.code == .emptyArchive {
            return []
        }
    }

    func form() -> HTML {
        guard session.allows(.admin) else {
            return "<p class=\"muted\">Creating a cut needs a token with the admin scope.</p>"
        }
        return """
            <h2>Create a cut</h2>
            <form method="post" action="/ui/cuts" class="inline">\
            <input type="hidden" name="csrf" value="\(session.csrfToken)">\
            <div><label for="cut-name">Name</label>\
            <input type="text" id="cut-name" name="name" required maxlength="200" value="\(proposedName)" \
            aria-describedby="cut-help"></div>\
            <button type="submit">Flush and name the cut</button></form>
            <p id="cut-help" class="muted">Flushes now; the snapshot it commits gets the name.</p>
            """
    }

    func timeline(_ cuts: [CutList.Cut]) -> HTML {
        guard let last = cuts.map(\.lastPosition).max(), last > 0 else {
            return "<p class=\"muted\">No named cuts yet.</p>"
        }
        let width = 720.0
        let marks = cuts.map { cut -> HTML in
            let x = Int(8 + Double(cut.lastPosition) / Double(last) * (width - 16))
            return """
                <g><title>\(cut.name ?? "") at position \(cut.lastPosition), \(cut.createdAt)</title>\
                <line x1="\(x)" y1="10" x2="\(x)" y2="40" stroke="#0b4f9c" stroke-width="3"/></g>
                """
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(Int(width)) 60" role="img" \
            aria-label="\(cuts.count) named cuts between position 0 and \(last)">\
            <line x1="8" y1="25" x2="\(Int(width - 8))" y2="25" stroke="#5b6472"/>\(marks)\
            <text x="8" y="56" font-size="11" fill="#1a1a1a">0</text>\
            <text x="\(Int(width - 8))" y="56" font-size="11" text-anchor="end" fill="#1a1a1a">\(last)</text></svg>
            """
    }

    func table(_ cuts: [CutList.Cut]) -> HTML {
        let rows = cuts.reversed().map { cut -> HTML in
            """
            <tr><td>\(cut.name ?? "")</td><td>\(cut.snapshot)</td><td class="num">\(cut.firstPosition)</td>\
            <td class="num">\(cut.lastPosition)</td><td class="num">\(cut.events)</td><td>\(cut.createdAt)</td></tr>
            """
        }
        return """
            <table id="cuts"><caption>\(cuts.count) named cuts, newest first</caption><thead><tr>\
            <th scope="col">Name</th><th scope="col">Snapshot</th><th scope="col" class="num">First position</th>\
            <th scope="col" class="num">Last position</th><th scope="col" class="num">Events</th>\
            <th scope="col">Created</th></tr></thead><tbody>\(rows)</tbody></table>
            """
    }
}
