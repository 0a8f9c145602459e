/// The sign-in form: the API token goes into a password field and is posted to `/ui/login`, which keeps it in
/// an HttpOnly cookie (never in a URL, where it would reach history and logs).
struct LoginPage {
    var message: HTML = ""

    func render() -> HTML {
        ConsoleLayout(title: "Sign in", section: nil, csrfToken: nil).page(
            """
            \(message)<p>The console needs an API token with the <code>read</code> scope (<code>admin</code> to \
            create cuts), as made by <code>archiver tokens generate</code>.</p>
            <form method="post" action="/ui/login" class="inline">\
            <div><label for="token">API token</label>\
            <input type="password" id="token" name="token" required autocomplete="current-password" size="40"></div>\
            <button type="submit">Sign in</button></form>
            """)
    }
}
