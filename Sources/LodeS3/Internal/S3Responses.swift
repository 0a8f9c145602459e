/// The S3 XML documents the store reads, decoded from an ``XMLTree``.
enum S3Responses {
    /// `<Error>`: S3's error body.
    struct ErrorBody: Sendable, Equatable {
        var code: String
        var message: String
        var requestID: String?
        /// `AuthorizationHeaderMalformed` names the bucket's region here.
        var region: String?
        /// `PermanentRedirect` names the right endpoint here.
        var endpoint: String?
        var serverTime: String?

        init(
            code: String, message: String, requestID: String? = nil, region: String? = nil,
            endpoint: String? = nil, serverTime: String? = nil
        ) {
            self.code = code
            self.message = message
            self.requestID = requestID
            self.region = region
            self.endpoint = endpoint
            self.serverTime = serverTime
        }

        /// `nil` when `bytes` is not an `<Error>` document (an empty HEAD answer, an HTML proxy page).
        static func parse(_ bytes: [UInt8]) -> ErrorBody? {
            guard !bytes.isEmpty, let tree = try? XMLTree.parse(bytes, what: "an error"), tree.name == "Error",
                let code = tree.text("Code")
            else { return nil }
            return ErrorBody(
                code: code, message: tree.text("Message") ?? "", requestID: tree.text("RequestId"),
                region: tree.text("Region"), endpoint: tree.text("Endpoint"), serverTime: tree.text("ServerTime"))
        }
    }

    /// `<ListBucketResult>` of ListObjectsV2.
    struct ListPage: Sendable, Equatable {
        struct Object: Sendable, Equatable {
            var key: String
            var size: Int64
            var etag: String?
        }
        var objects: [Object]
        var commonPrefixes: [String]
        var isTruncated: Bool
        var nextContinuationToken: String?

        /// Decodes a page; with `encoding-type=url` keys and prefixes are percent-decoded (`+` is a space).
        static func parse(_ bytes: [UInt8]) throws(S3Error) -> ListPage {
            let tree = try XMLTree.parse(bytes, what: "ListObjectsV2")
            guard tree.name == "ListBucketResult" else {
                throw S3Error(.invalidResponse, "ListObjectsV2 answered <\(tree.name)>, not <ListBucketResult>")
            }
            let urlEncoded = tree.text("EncodingType") == "url"
            func decode(_ text: String) throws(S3Error) -> String {
                guard urlEncoded else { return text }
                guard let decoded = SigV4Encoding.decode(text, plusIsSpace: true) else {
                    throw S3Error(.invalidResponse, "ListObjectsV2 returned a malformed URL-encoded key")
                }
                return decoded
            }
            var objects: [Object] = []
            for content in tree.children("Contents") {
                guard let key = content.text("Key"), let sizeText = content.text("Size"), let size = Int64(sizeText),
                    size >= 0
                else {
                    throw S3Error(.invalidResponse, "ListObjectsV2 returned an entry without a valid Key and Size")
                }
                objects.append(Object(key: try decode(key), size: size, etag: content.text("ETag")))
            }
            var prefixes: [String] = []
            for common in tree.children("CommonPrefixes") {
                if let prefix = common.text("Prefix") { prefixes.append(try decode(prefix)) }
            }
            let truncated = tree.text("IsTruncated") == "true"
            let token = tree.text("NextContinuationToken")
            if truncated, token?.isEmpty ?? true {
                throw S3Error(.invalidResponse, "ListObjectsV2 said the listing is truncated but gave no token")
            }
            return ListPage(
                objects: objects, commonPrefixes: prefixes, isTruncated: truncated, nextContinuationToken: token)
        }
    }

    /// The `UploadId` of `<InitiateMultipartUploadResult>`.
    static func uploadID(_ bytes: [UInt8]) throws(S3Error) -> String {
        let tree = try XMLTree.parse(bytes, what: "CreateMultipartUpload")
        guard tree.name == "InitiateMultipartUploadResult", let id = tree.text("UploadId"), !id.isEmpty else {
            throw S3Error(.invalidResponse, "CreateMultipartUpload answered without an UploadId")
        }
        return id
    }

    /// `<CompleteMultipartUploadResult>`, or the `<Error>` S3 may send with status 200 after a long completion.
    static func completion(_ bytes: [UInt8]) throws(S3Error) -> ErrorBody? {
        let tree = try XMLTree.parse(bytes, what: "CompleteMultipartUpload")
        // AWS answers <CompleteMultipartUploadResult>, moto <CompleteMultipartUploadResponse>: anything but an
        // <Error> is a completion.
        guard tree.name == "Error" else { return nil }
        return ErrorBody(code: tree.text("Code") ?? "InternalError", message: tree.text("Message") ?? "")
    }

    /// Upload IDs and keys of `<ListMultipartUploadsResult>`.
    static func multipartUploads(_ bytes: [UInt8]) throws(S3Error) -> [(key: String, uploadID: String)] {
        let tree = try XMLTree.parse(bytes, what: "ListMultipartUploads")
        guard tree.name == "ListMultipartUploadsResult" else {
            throw S3Error(.invalidResponse, "ListMultipartUploads answered <\(tree.name)>")
        }
        return tree.children("Upload").compactMap { upload in
            guard let key = upload.text("Key"), let id = upload.text("UploadId") else { return nil }
            return (key, id)
        }
    }

    /// The body of CompleteMultipartUpload.
    static func completeBody(etags: [String]) -> [UInt8] {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for (index, etag) in etags.enumerated() {
            xml += "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(escape(etag))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        return Array(xml.utf8)
    }

    /// Escapes text content.
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}
