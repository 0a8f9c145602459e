/// An access key pair, with an optional session token (temporary credentials).
///
/// Its `description`, `debugDescription` and mirror never show the secret or the token, so credentials can be
/// logged or appear in an error by accident without leaking.
///
/// ```swift
/// let credentials = S3Credentials(accessKeyID: "AKIA…", secretAccessKey: secret)
/// print(credentials)  // S3Credentials(accessKeyID: AKIA…, secret: <redacted>)
/// ```
public struct S3Credentials: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The access key ID (not a secret: it names the key).
    public var accessKeyID: String
    /// The secret access key.
    public var secretAccessKey: String
    /// The session token of temporary credentials (`AWS_SESSION_TOKEN`).
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String {
        "S3Credentials(accessKeyID: \(accessKeyID), secret: <redacted>"
            + (sessionToken == nil ? ")" : ", sessionToken: <redacted>)")
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["accessKeyID": accessKeyID, "secretAccessKey": "<redacted>"])
    }
}
