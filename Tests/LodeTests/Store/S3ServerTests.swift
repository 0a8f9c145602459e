import Lode
import Testing

/// The S3 cases of the store-kind suites run only with a server; this suite makes their absence visible as a
/// skip instead of a silently shorter argument list.
@Suite(.enabled(if: StoreKind.s3IsAvailable, "needs ARCHIVER_TEST_S3_ENDPOINT: run via scripts/with-services.sh"))
struct S3ServerTests {
    @Test func theStoreKindsIncludeS3AndItsBucketRoundTrips() async throws {
        #expect(StoreKind.allCases.contains(.s3))
        try await StoreKind.s3.withStore { store in
            try await store.put("probe/object", bytes("round trip"))
            #expect(try await store.get("probe/object") == bytes("round trip"))
        }
    }
}
