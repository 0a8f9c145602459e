/// The console's only assets, served from the binary: no CDN, no web fonts.
enum ConsoleAssets {
    /// Colours meet WCAG AA contrast (text #1a1a1a on #fff; links #0b4f9c); focus is always visible.
    static let css = """
        :root{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;background:#fff}
        body{margin:0;line-height:1.45}
        header{display:flex;flex-wrap:wrap;align-items:center;gap:1rem;padding:.5rem 1rem;background:#14213d;color:#fff}
        header a,header button{color:#fff}
        .brand{font-weight:700;margin:0}
        nav{display:flex;flex-wrap:wrap;align-items:center;gap:1rem;flex:1}
        nav ul{display:flex;gap:1rem;list-style:none;margin:0;padding:0}
        nav a[aria-current=page]{font-weight:700;text-decoration-thickness:3px}
        .signout{margin-left:auto}
        .signout button{background:transparent;border:1px solid #fff;border-radius:4px;padding:.2rem .6rem}
        main{padding:1rem;max-width:72rem}
        a{color:#0b4f9c}
        a:focus-visible,button:focus-visible,input:focus-visible,main:focus-visible{outline:3px solid #f5a300;outline-offset:2px}
        .skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:.5rem;background:#fff;color:#000;padding:.3rem;z-index:1}
        .figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(13rem,1fr));gap:.5rem;margin:0}
        .figures div{border:1px solid #c9ced6;border-radius:6px;padding:.5rem .75rem}
        .figures dt{font-size:.85rem;color:#404854}.figures dd{margin:0;font-size:1.35rem;font-variant-numeric:tabular-nums}
        table{border-collapse:collapse;margin:.5rem 0 1rem;font-variant-numeric:tabular-nums}
        th,td{border-bottom:1px solid #d5d9e0;padding:.25rem .6rem;text-align:left;vertical-align:top}
        td.num,th.num{text-align:right}
        td.data{font-family:ui-monospace,monospace;font-size:.85rem;max-width:28rem;overflow-wrap:anywhere}
        .charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(20rem,1fr));gap:1rem}
        figure{margin:0}figcaption{font-weight:600}
        svg{max-width:100%;height:auto}
        .ok{color:#11652b}.bad{color:#a3140e;font-weight:600}
        .notice{border-left:4px solid #11652b;padding:.4rem .8rem;background:#eef7f0}
        .error{border-left:4px solid #a3140e;padding:.4rem .8rem;background:#fbeeee}
        form.inline{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}
        label{display:block;font-weight:600}
        input[type=text],input[type=password],input[type=number]{font:inherit;padding:.3rem;border:1px solid #5b6472;border-radius:4px}
        button{font:inherit;padding:.3rem .8rem;border-radius:4px;border:1px solid #14213d;background:#14213d;color:#fff;cursor:pointer}
        .muted{color:#4a5260}
        """

    /// Progressive only: refreshes the overview's lag figures from `GET /ready` every 10 seconds; the page is
    /// complete without it.
    static let javaScript = """
        "use strict";
        setInterval(function () {
          fetch("/ready", {cache: "no-store"}).then(function (r) { return r.json(); }).then(function (ready) {
            var events = document.getElementById("unflushed-events");
            var seconds = document.getElementById("lag-seconds");
            if (events) events.textContent = String(ready.unflushed_events);
            if (seconds) seconds.textContent = String(ready.lag_seconds);
          }).catch(function () {});
        }, 10000);
        """

    static let favicon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" \
        fill="#14213d"/><path d="M4 4v8h8" stroke="#f5a300" stroke-width="2" fill="none"/></svg>
        """
}
