import ArchiverCore
import Coordination
import Foundation

/// `GET /ui/streams?name=…&from=…`: one stream's head and a page of its events, read through the same store
/// calls as `GET /streams/{stream}` (``TieredEventReader``): versions the hot store pruned come from the archive.
/// The page says which tier answered it (`store`, `archive` or `mixed`) and each row which tier held its event.
struct StreamPage {
    static let pageSize = 50

    let api: ArchiverAPI
    let session: ConsoleSession
    var name: String?
    var from: Int64 = 1

    func render() async -> HTML {
        let layout = ConsoleLayout(title: "Streams", section: .streams, csrfToken: session.signOutToken)
        return layout.page(
            """
            <form method="get" action="/ui/streams" class="inline">\
            <div><label for="stream-name">Stream name</label>\
            <input type="text" id="stream-name" name="name" required maxlength="255" value="\(name ?? "")"></div>\
            <button type="submit">Look up</button></form>
            \(await events())
            """)
    }

    func events() async -> HTML {
        guard let name, !name.isEmpty else { return "" }
        do {
            guard let head = try await api.store.streamHead(name) else {
                return "<p id=\"stream-missing\">Stream <strong>\(name)</strong> has no events.</p>"
            }
            let page = try await api.reader.readStream(name, fromVersion: from, limit: Self.pageSize)
            let pruned = page.tier == .mixed ? try await api.store.prunedThrough() : 0
            return """
                <h2 id="stream-title">\(name)</h2><dl class="figures">\
                \(OverviewPage.figure("stream-version", "Version (head)", String(head.version)))\
                \(OverviewPage.figure("stream-position", "Last position", String(head.lastPosition)))\
                \(OverviewPage.figure("stream-tier", "Page read from", page.tier.rawValue))</dl>
                \(table(page.events, tier: { Self.rowTier($0, page: page.tier, prunedThrough: pruned) }))\
                \(pager(page.events, head: head))
                """
        } catch {
            return "<p class=\"error\">The store is unreachable: \(FlushCoordinator.describe(error))</p>"
        }
    }

    /// The tier that held one event of a page: the page's own unless it crossed the pruned boundary, where
    /// positions at or below the store's pruned position came from the archive. (A prune racing the read can
    /// mark a few rows of a mixed page `archive` that the store still answered; their values are the same.)
    static func rowTier(_ event: RecordedEvent, page: ReadTier, prunedThrough: Int64) -> ReadTier {
        guard page == .mixed else { return page }
        return event.position <= prunedThrough ? .archive : .store
    }

    func table(_ events: [RecordedEvent], tier: (RecordedEvent) -> ReadTier) -> HTML {
        let rows = events.map { event -> HTML in
            let data = event.data.count > 300 ? String(event.data.prefix(300)) + "…" : event.data
            return """
                <tr><td class="num">\(event.version)</td><td class="num">\(event.position)</td><td>\(event.type)</td>\
                <td>\(ConsoleFormat.time(nanos: event.recordedAtNanos))</td><td class="tier">\(tier(event).rawValue)</td>\
                <td class="data">\(data)</td></tr>
                """
        }
        return """
            <table id="events"><caption>Events from version \(from)</caption><thead><tr>\
            <th scope="col" class="num">Version</th><th scope="col" class="num">Position</th><th scope="col">Type</th>\
            <th scope="col">Recorded</th><th scope="col">Tier</th><th scope="col">Data</th></tr></thead>\
            <tbody>\(rows)</tbody></table>
            """
    }

    func pager(_ events: [RecordedEvent], head: StreamHead) -> HTML {
        let encoded = name?.addingPercentEncoding(withAllowedCharacters: ConsoleRoutes.unreserved) ?? ""
        var links: [HTML] = []
        if from > 1 {
            let previous = max(1, from - Int64(Self.pageSize))
            links.append("<a href=\"/ui/streams?name=\(encoded)&amp;from=\(previous)\" rel=\"prev\">Previous page</a>")
        }
        if let last = events.last, last.version < head.version {
            links.append(
                "<a href=\"/ui/streams?name=\(encoded)&amp;from=\(last.version + 1)\" rel=\"next\">Next page</a>")
        }
        return links.isEmpty ? "" : "<p class=\"pager\">\(links)</p>"
    }
}
