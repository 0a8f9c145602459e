import Foundation

/// A line chart as inline SVG, drawn on the server: no charting library, no script. Colours are presentation
/// attributes (not `style=`), which the console's Content-Security-Policy allows.
struct SVGChart {
    var title: String
    /// The unit after the figures, e.g. `events/s`.
    var unit: String
    var points: [(time: Date, value: Double)]
    /// Seconds between samples (`console-sample-interval`), for the note shown before there are two.
    var sampleInterval: Double = 15

    static let width = 360.0
    static let height = 120.0
    static let left = 56.0
    static let bottom = 18.0

    func render(id: String) -> HTML {
        guard points.count >= 2, let first = points.first, let last = points.last else {
            return """
                <figure><figcaption>\(title)</figcaption><p class="muted">Collecting samples \
                (one every \(String(format: "%g", sampleInterval)) s); the chart appears after two.</p></figure>
                """
        }
        let values = points.map(\.value)
        let low = min(0, values.min() ?? 0)
        let high = max(values.max() ?? 1, low + 1)
        let span = max(last.time.timeIntervalSince(first.time), 1)
        let plotWidth = Self.width - Self.left - 4
        let plotHeight = Self.height - Self.bottom - 6
        let coordinates = points.map { point -> String in
            let x = Self.left + point.time.timeIntervalSince(first.time) / span * plotWidth
            let y = 6 + (1 - (point.value - low) / (high - low)) * plotHeight
            return String(format: "%.1f,%.1f", x, y)
        }.joined(separator: " ")
        let latest = Self.figure(last.value)
        let spanText = Self.duration(span)
        return """
            <figure><figcaption id="\(id)-caption">\(title): \(latest) \(unit)</figcaption>\
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(Int(Self.width)) \(Int(Self.height))" \
            role="img" aria-labelledby="\(id)-caption \(id)-desc">\
            <desc id="\(id)-desc">\(points.count) samples over \(spanText), from \(Self.figure(values.min() ?? 0)) \
            to \(Self.figure(values.max() ?? 0)) \(unit)</desc>\
            <line x1="\(Int(Self.left))" y1="6" x2="\(Int(Self.left))" y2="\(Int(Self.height - Self.bottom))" \
            stroke="#5b6472"/>\
            <line x1="\(Int(Self.left))" y1="\(Int(Self.height - Self.bottom))" x2="\(Int(Self.width))" \
            y2="\(Int(Self.height - Self.bottom))" stroke="#5b6472"/>\
            <text x="\(Int(Self.left - 4))" y="14" text-anchor="end" font-size="11" fill="#1a1a1a">\
            \(Self.figure(high))</text>\
            <text x="\(Int(Self.left - 4))" y="\(Int(Self.height - Self.bottom))" text-anchor="end" font-size="11" \
            fill="#1a1a1a">\(Self.figure(low))</text>\
            <text x="\(Int(Self.left))" y="\(Int(Self.height - 4))" font-size="11" fill="#1a1a1a">−\(spanText)</text>\
            <text x="\(Int(Self.width))" y="\(Int(Self.height - 4))" text-anchor="end" font-size="11" \
            fill="#1a1a1a">now</text>\
            <polyline points="\(coordinates)" fill="none" stroke="#0b4f9c" stroke-width="2"/></svg></figure>
            """
    }

    /// The span of a chart: seconds under two minutes (a short sample interval), then minutes.
    static func duration(_ seconds: Double) -> String {
        seconds < 120 ? "\(Int(seconds.rounded())) s" : "\(Int((seconds / 60).rounded())) min"
    }

    /// Compact figures: 950, 12.5k, 3.4M, 1.2G.
    static func figure(_ value: Double) -> String {
        let magnitude = abs(value)
        switch magnitude {
        case 1e9...: return String(format: "%.1fG", value / 1e9)
        case 1e6...: return String(format: "%.1fM", value / 1e6)
        case 1e4...: return String(format: "%.1fk", value / 1e3)
        case 100...: return String(format: "%.0f", value)
        default: return String(format: "%.1f", value)
        }
    }
}
