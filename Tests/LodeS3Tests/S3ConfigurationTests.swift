import Foundation
import NIOHTTP1
import Testing

@testable import LodeS3

@Suite struct S3ConfigurationTests {
    let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSECRETKEY"
    let token = "FwoGZXIvYXdzEJr//////////SESSIONTOKEN"

    @Test func urlsSplitIntoBucketAndPrefix() throws {
        #expect(try S3Configuration.parse(url: "s3://archive") == ("archive", ""))
        #expect(try S3Configuration.parse(url: "s3://archive/") == ("archive", ""))
        #expect(try S3Configuration.parse(url: "s3://archive/orders") == ("archive", "orders/"))
        #expect(try S3Configuration.parse(url: "s3://archive/a/b/") == ("archive", "a/b/"))
        for bad in ["archive", "s3://", "s3://ab", "s3://bad bucket/x", "s3://b-ok/a//b", "s3://b-ok/../x", "file://x"]
        {
            #expect(throws: S3Error.self, "\(bad)") { try S3Configuration.parse(url: bad) }
        }
    }

    @Test func endpointsAndAddressing() throws {
        var configuration = try S3Configuration(
            url: "s3://archive/p", region: "eu-west-3", credentials: testCredentials)
        #expect(configuration.endpoint.description == "https://s3.eu-west-3.amazonaws.com")
        #expect(!configuration.usesPathStyle)
        let client = S3Client(configuration: configuration)
        #expect(
            client.address(of: S3Request(.GET, key: "p/a b")).url
                == "https://archive.s3.eu-west-3.amazonaws.com/p/a%20b")
        configuration.bucket = "dotted.bucket"
        #expect(configuration.usesPathStyle)
        configuration = try S3Configuration(
            url: "s3://archive", endpoint: "http://127.0.0.1:9000/", region: "us-east-1", credentials: testCredentials)
        #expect(configuration.usesPathStyle)
        #expect(
            S3Client(configuration: configuration).address(of: S3Request(.GET, key: "k+%")).url
                == "http://127.0.0.1:9000/archive/k%2B%25")
        #expect(try S3Configuration.Endpoint("https://minio.local:443").description == "https://minio.local")
        for bad in ["ftp://x", "http://", "http://h/path", "http://u:p@h", "not a url"] {
            #expect(throws: S3Error.self, "\(bad)") { try S3Configuration.Endpoint(bad) }
        }
    }

    @Test func environmentPrecedence() async throws {
        let env = [
            "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": token,
            "AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "us-west-2",
            "AWS_ENDPOINT_URL": "http://aws-endpoint:1",
            "ARCHIVER_S3_ENDPOINT": "http://archiver-endpoint:2", "ARCHIVER_S3_PATH_STYLE": "false",
            "HOME": "/nonexistent",
        ]
        let configuration = try S3Configuration.resolve(url: "s3://archive/x", environment: env)
        #expect(
            configuration.credentials
                == S3Credentials(accessKeyID: "AKIDENV", secretAccessKey: secret, sessionToken: token))
        #expect(configuration.region == "eu-central-1")
        #expect(configuration.endpoint.description == "http://archiver-endpoint:2")
        #expect(configuration.addressing == .virtualHosted)

        var options = S3Options()
        options.region = "ap-south-1"
        options.endpoint = "http://option:3"
        options.pathStyle = true
        let overridden = try S3Configuration.resolve(url: "s3://archive/x", options: options, environment: env)
        #expect(overridden.region == "ap-south-1")
        #expect(overridden.endpoint.description == "http://option:3")
        #expect(overridden.addressing == .pathStyle)

        let defaults = try S3Configuration.resolve(
            url: "s3://archive", environment: ["AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "HOME": "/x"])
        #expect(defaults.region == "us-east-1")
        #expect(defaults.endpoint.description == "https://s3.us-east-1.amazonaws.com")
        #expect(defaults.credentials.sessionToken == nil)

        let half = await expectS3Error(.missingCredentials) {
            try S3Configuration.resolve(url: "s3://archive", environment: ["AWS_ACCESS_KEY_ID": "k", "HOME": "/x"])
        }
        #expect(half?.message.contains("AWS_SECRET_ACCESS_KEY") == true)
        await expectS3Error(.missingCredentials) {
            try S3Configuration.resolve(url: "s3://archive", environment: ["HOME": "/nonexistent"])
        }
    }

    @Test func transferTuningReachesTheConfiguration() async throws {
        let env = ["AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "HOME": "/nonexistent"]
        let defaults = try S3Configuration.resolve(url: "s3://archive", environment: env)
        #expect(defaults.partSize == 8 << 20 && defaults.multipartThreshold == 16 << 20)
        #expect(defaults.uploadConcurrency == 4)

        var options = S3Options()
        options.partSize = 6 << 20
        options.multipartThreshold = 5 << 20
        options.uploadConcurrency = 9
        let tuned = try S3Configuration.resolve(url: "s3://archive", options: options, environment: env)
        #expect(tuned.partSize == 6 << 20 && tuned.multipartThreshold == 5 << 20 && tuned.uploadConcurrency == 9)

        for (part, threshold, concurrency, message) in [
            (4 << 20, nil, nil, "part size must be 5 MiB to 5 GiB"),
            ((5 << 30) + 1, nil, nil, "part size must be 5 MiB to 5 GiB"),
            (nil, 1 << 20, nil, "multipart threshold must be 5 MiB to 5 GiB"),
            (nil, nil, 0, "upload concurrency must be at least 1"),
        ] as [(Int?, Int?, Int?, String)] {
            var bad = S3Options()
            bad.partSize = part
            bad.multipartThreshold = threshold
            bad.uploadConcurrency = concurrency
            let error = await expectS3Error(.invalidConfiguration) {
                try S3Configuration.resolve(url: "s3://archive", options: bad, environment: env)
            }
            #expect(error?.message.contains(message) == true, "\(String(describing: error))")
        }
    }

    @Test func sharedFilesAndProfiles() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("s3cfg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/.aws", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        # comment
        [default]
        aws_access_key_id = AKIDDEFAULT
        aws_secret_access_key = \(secret)

        [archiver]
        aws_access_key_id=AKIDPROFILE
        aws_secret_access_key = secret#with-hash ; comment
        aws_session_token = \(token)
        """.write(toFile: dir + "/.aws/credentials", atomically: true, encoding: .utf8)
        try """
        [default]
        region = eu-west-1
        [profile archiver]
        region = sa-east-1
        endpoint_url = http://profile-endpoint:9
        s3 =
          addressing_style = path
        [profile config-only]
        aws_access_key_id = AKIDCONFIG
        aws_secret_access_key = config-secret
        """.write(toFile: dir + "/.aws/config", atomically: true, encoding: .utf8)

        let home = ["HOME": dir]
        let fromDefault = try S3Configuration.resolve(url: "s3://archive", environment: home)
        #expect(fromDefault.credentials.accessKeyID == "AKIDDEFAULT")
        #expect(fromDefault.credentials.secretAccessKey == secret)
        #expect(fromDefault.region == "eu-west-1")

        let fromProfile = try S3Configuration.resolve(
            url: "s3://archive", environment: home.merging(["AWS_PROFILE": "archiver"]) { $1 })
        #expect(fromProfile.credentials.accessKeyID == "AKIDPROFILE")
        #expect(fromProfile.credentials.secretAccessKey == "secret#with-hash")
        #expect(fromProfile.credentials.sessionToken == token)
        #expect(fromProfile.region == "sa-east-1")
        #expect(fromProfile.endpoint.description == "http://profile-endpoint:9")

        // An explicit profile wins over the environment's keys; AWS_PROFILE does not.
        var options = S3Options()
        options.profile = "config-only"
        let envKeys = home.merging(["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env"]) { $1 }
        #expect(
            try S3Configuration.resolve(url: "s3://archive", options: options, environment: envKeys)
                .credentials.accessKeyID == "AKIDCONFIG")
        #expect(
            try S3Configuration.resolve(
                url: "s3://archive", environment: envKeys.merging(["AWS_PROFILE": "archiver"]) { $1 }
            )
            .credentials.accessKeyID == "AKIDENV")

        // Files named by the environment.
        try FileManager.default.moveItem(atPath: dir + "/.aws/credentials", toPath: dir + "/creds")
        let moved = try S3Configuration.resolve(
            url: "s3://archive",
            environment: [
                "HOME": dir, "AWS_SHARED_CREDENTIALS_FILE": dir + "/creds",
                "AWS_CONFIG_FILE": dir + "/.aws/config",
            ])
        #expect(moved.credentials.accessKeyID == "AKIDDEFAULT")

        options.profile = "missing"
        let error = await expectS3Error(.missingCredentials) {
            try S3Configuration.resolve(url: "s3://archive", options: options, environment: home)
        }
        #expect(error?.message.contains("'missing'") == true)
    }

    @Test func secretsNeverShowInDescriptions() throws {
        let credentials = S3Credentials(accessKeyID: "AKIDVISIBLE", secretAccessKey: secret, sessionToken: token)
        var configuration = try S3Configuration(url: "s3://archive", region: "us-east-1", credentials: credentials)
        configuration.objectLock = .init(mode: .compliance, days: 3)
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in [
            "\(credentials)", String(reflecting: credentials), "\(configuration)", String(reflecting: configuration),
            dumped,
        ] {
            #expect(!text.contains(secret))
            #expect(!text.contains(token))
        }
        #expect("\(credentials)".contains("AKIDVISIBLE"))
    }

    @Test func backoffIsBoundedAndJittered() {
        let policy = S3RetryPolicy(maxAttempts: 6, baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        var generator = SeededGenerator(seed: 1)
        for attempt in 1...10 {
            let cap = min(Duration.seconds(1), .milliseconds(100) * (1 << (attempt - 1)))
            let delays = (0..<50).map { _ in policy.delay(afterAttempt: attempt, using: &generator) }
            #expect(delays.allSatisfy { $0 >= .zero && $0 <= cap })
            #expect(Set(delays).count > 40, "jittered")
        }
    }
}
