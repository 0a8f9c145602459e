import ArchiverCore
import Coordination
import Foundation

/// `GET /ui`: is history safe and current? The hot and cold figures at a glance, from the same cheap sources
/// as `/ready` and `/metrics` (an index range for the lag, the flush coordinator's state, cached manifest
/// sizes), never a scan of the store.
struct OverviewPage {
    let api: ArchiverAPI
    let session: ConsoleSession

    func render() async -> HTML {
        let layout = ConsoleLayout(
            title: "Overview", section: .overview, csrfToken: session.signOutToken,
            scripts: ["/ui/assets/console.js"])
        return layout.page(
            """
            \(await hotFigures())
            \(await flushFigures())
            <h2>Charts</h2>
            \(charts())
            \(await archiveSizes())
            """)
    }

    func hotFigures() async -> HTML {
        do {
            let (status, seconds) = try await ProbeRoutes(api: api).lag()
            let safeMark = try await api.store.safeHighWaterMark()
            return """
                <h2>Hot store</h2><dl class="figures">\
                \(Self.figure("hot-head", "Hot head (position)", String(status.flushCursor + status.unflushedCount)))\
                \(Self.figure("safe-mark", "Safe high-water mark", String(safeMark)))\
                \(Self.figure("flush-cursor", "Flush cursor", String(status.flushCursor)))\
                \(Self.figure("unflushed-events", "Lag (events)", String(status.unflushedCount)))\
                \(Self.figure("lag-seconds", "Lag (seconds)", String(Int(seconds))))\
                \(Self.figure("pruned-through", "Pruned through", String(status.prunedThrough)))</dl>
                """
        } catch {
            return
                "<h2>Hot store</h2><p class=\"error\">The store is unreachable: \(FlushCoordinator.describe(error))</p>"
        }
    }

    func flushFigures() async -> HTML {
        let state = await api.coordinator.state
        let lastFlush: String
        if let pass = state.lastPass {
            lastFlush = ConsoleFormat.time(pass)
        } else {
            lastFlush = "none yet"
        }
        let summary = state.lastSummary
        let result: HTML =
            state.lastError.map { "<span class=\"bad\">failed: \($0)</span>" }
            ?? (state.lastPass == nil ? "—" : "<span class=\"ok\">ok</span>")
        return """
            <h2>Flushes and drills</h2><dl class="figures">\
            \(Self.figure("last-flush", "Last flush pass started", lastFlush))\
            \(Self.figure("last-flush-duration", "Its duration (s)", summary.map { String(format: "%.3f", $0.seconds) } ?? "—"))\
            \(Self.figure("last-flush-events", "Events it archived", summary.map { String($0.events) } ?? "—"))\
            <div><dt>Result</dt><dd id="last-flush-result">\(result)</dd></div>\
            \(Self.figure("flush-lease", "Flush lease held here", state.holdsLease ? "yes" : "no"))\
            \(await drill())</dl>
            """
    }

    /// The newest restore drill (a drill also verifies the restored archive's chain and checksums).
    func drill() async -> HTML {
        do {
            guard let attestation = try await api.console.lastDrill.current() else {
                return Self.figure("last-drill", "Last restore drill", "none recorded")
            }
            let verdict: HTML =
                attestation.result == .pass
                ? "<span class=\"ok\">passed</span>" : "<span class=\"bad\">\(attestation.result.rawValue)</span>"
            return """
                <div><dt>Last restore drill (with verify)</dt><dd id="last-drill">\(verdict) \
                <span class="muted">\(attestation.startedAt), through position \(attestation.lastPosition), \
                \(attestation.durationMilliseconds) ms</span></dd></div>
                """
        } catch {
            return Self.figure("last-drill", "Last restore drill", "unreadable: \(FlushCoordinator.describe(error))")
        }
    }

    func charts() -> HTML {
        let samples = api.console.samples.samples
        var rates: [(time: Date, value: Double)] = []
        for (previous, sample) in zip(samples, samples.dropFirst()) {
            let seconds = sample.time.timeIntervalSince(previous.time)
            guard seconds > 0 else { continue }
            rates.append((sample.time, Double(max(0, sample.headPosition - previous.headPosition)) / seconds))
        }
        let lag = samples.map { (time: $0.time, value: Double($0.unflushedEvents)) }
        let bytes = samples.map { (time: $0.time, value: Double($0.archiveBytes)) }
        let every = api.configuration.consoleSampleInterval
        let charts = [
            SVGChart(title: "Append rate", unit: "events/s", points: rates, sampleInterval: every).render(
                id: "chart-append"),
            SVGChart(title: "Flush lag", unit: "events", points: lag, sampleInterval: every).render(id: "chart-lag"),
            SVGChart(title: "Archive size", unit: "bytes", points: bytes, sampleInterval: every).render(
                id: "chart-bytes"),
        ]
        return "<div class=\"charts\">\(charts)</div>"
    }

    func archiveSizes() async -> HTML {
        let totals: ArchiveSizes.Totals
        do {
            totals = try await api.console.sizes.current()
        } catch {
            return
                "<h2>Archive</h2><p class=\"error\">The archive is unreadable: \(FlushCoordinator.describe(error))</p>"
        }
        let categories = totals.byCategory.sorted { $0.value > $1.value }.prefix(20)
        let days = totals.byDay.sorted { $0.key > $1.key }.prefix(14)
        return """
            <h2>Archive</h2><dl class="figures">\
            \(Self.figure("archive-bytes", "Stored bytes", String(totals.bytes)))\
            \(Self.figure("archive-files", "Data files", String(totals.files)))\
            \(Self.figure("archive-head", "Head snapshot", totals.headSnapshotID ?? "none"))</dl>
            <div class="charts"><div>\(Self.table("By category (largest 20)", "Category", categories))</div>\
            <div>\(Self.table("By day (newest 14)", "Day", days))</div></div>
            """
    }

    static func table(_ caption: String, _ key: String, _ rows: some Sequence<(key: String, value: Int64)>) -> HTML {
        let body = rows.map { row -> HTML in "<tr><td>\(row.key)</td><td class=\"num\">\(row.value)</td></tr>" }
        return """
            <table><caption>\(caption)</caption><thead><tr><th scope="col">\(key)</th>\
            <th scope="col" class="num">Stored bytes</th></tr></thead><tbody>\(body)</tbody></table>
            """
    }

    static func figure(_ id: String, _ label: String, _ value: String) -> HTML {
        "<div><dt>\(label)</dt><dd id=\"\(id)\">\(value)</dd></div>"
    }
}

/// How the console writes times.
enum ConsoleFormat {
    static func time(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }

    static func time(nanos: Int64) -> String { time(Date(timeIntervalSince1970: Double(nanos) / 1e9)) }
}
