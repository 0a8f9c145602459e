/// The frame of every console page: head, skip link, navigation, main, and the sign-out form.
struct ConsoleLayout {
    enum Section: String, CaseIterable {
        case overview = "Overview"
        case cuts = "Cuts"
        case streams = "Streams"
        case log = "Log"

        var path: String {
            switch self {
            case .overview: "/ui"
            case .cuts: "/ui/cuts"
            case .streams: "/ui/streams"
            case .log: "/ui/log"
            }
        }
    }

    var title: String
    /// nil on the sign-in page (no navigation).
    var section: Section?
    /// The sign-out form needs the session's CSRF token; nil: no sign-out button.
    var csrfToken: String?
    var scripts: [String] = []

    func page(_ body: HTML) -> HTML {
        let navigation: HTML =
            section.map { current in
                let links = Section.allCases.map { item -> HTML in
                    let aria: HTML = item == current ? #" aria-current="page""# : ""
                    return "<li><a href=\"\(item.path)\"\(aria)>\(item.rawValue)</a></li>"
                }
                return "<nav aria-label=\"Console\"><ul>\(links)</ul>\(signOut)</nav>"
            } ?? ""
        let scriptTags = scripts.map { src -> HTML in "<script src=\"\(src)\" defer></script>" }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title) · archiver</title>
            <link rel="stylesheet" href="/ui/assets/console.css">
            <link rel="icon" href="/ui/assets/favicon.svg" type="image/svg+xml">\(scriptTags)
            </head><body>
            <a class="skip" href="#main">Skip to content</a>
            <header><p class="brand">lode-archiver</p>\(navigation)</header>
            <main id="main" tabindex="-1"><h1>\(title)</h1>
            \(body)
            </main></body></html>

            """
    }

    var signOut: HTML {
        guard let csrfToken else { return "" }
        return """
            <form method="post" action="/ui/logout" class="signout"><input type="hidden" name="csrf" \
            value="\(csrfToken)"><button type="submit">Sign out</button></form>
            """
    }
}
