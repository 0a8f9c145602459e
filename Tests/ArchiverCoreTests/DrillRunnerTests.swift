import ArchiveFormat
import ArchiverCore
import Coordination
import CoordinationSQLite
import Foundation
import Testing

@Suite struct DrillRunnerTests {
    static let scratch: ScratchStoreFactory = { directory in
        var options = SQLiteCoordinationStore.Options()
        options.synchronous = .normal
        return try await SQLiteCoordinationStore(path: directory + "/scratch.db", options: options)
    }

    func runner(_ t: TestArchive, archive: Archive, live: (any CoordinationStore)? = nil) -> DrillRunner {
        DrillRunner(
            archive: archive, live: live ?? t.coordination, producer: "lode-archiver test", scratchStore: Self.scratch)
    }

    @Test func healthyArchivePassesAndIsRecorded() async throws {
        try await TestArchive.with(bytesPerSnapshot: 4_000) { t in
            try await t.append(700)
            try await t.flush(checkpointEvery: 0)
            try await t.append(300, from: 700)
            try await t.flush(checkpointEvery: 0, cutName: "second")
            let archive = try t.archive()
            let head = try #require(try await archive.cutPoints().last)
            let a = try await runner(t, archive: archive).run(.cut(.latest))
            #expect(a.passed, "\(a.differences)")
            #expect(a.restoredEvents == 1_000 && a.liveEventsCompared == 1_000 && a.restoredStreams == 50)
            #expect(a.lastPosition == 1_000 && a.cutName == "second" && a.cutSnapshotID == head.snapshotID)
            #expect(a.chainHead == head.facts.chainHead.hex)
            #expect(a.replayDigest == a.refoldDigest && a.replayDigest.count == 64)
            #expect(a.restoredEventsDigest == a.liveEventsDigest && a.liveEventsDigest.count == 64)
            #expect(a.signature == nil && a.keyID == nil && a.binaryVersion == "lode-archiver test")
            #expect(try await DrillLog(archive: archive).attestations() == [a])
        }
    }

    @Test func aStoreThatDidNotWriteTheArchiveFails() async throws {
        try await TestArchive.with(bytesPerSnapshot: 4_000) { t in
            try await t.append(200)
            try await t.flush(checkpointEvery: 0)
            try FileManager.default.createDirectory(atPath: t.directory + "/other", withIntermediateDirectories: true)
            let other = try await Self.scratch(t.directory + "/other")
            _ = try await other.migrate()
            _ = try await other.append(
                AppendRequest(stream: "account-1", events: [ProposedEvent(type: "T", data: #"{"a":1}"#)]))
            let a = try await runner(t, archive: try t.archive(), live: other).run(.random)
            await other.close()
            #expect(!a.passed)
            #expect(a.differences.contains { $0.contains("did not write this archive") }, "\(a.differences)")
            #expect(a.differences.contains { $0.contains("is in the archive but not in the live store") })
            #expect(try await DrillLog(archive: try t.archive()).attestations().map(\.result) == [.fail])
        }
    }

    /// A key pair made by `KeyFiles` (as `archiver keys generate` does) and loaded back.
    static func keyPair(in directory: String) throws -> (signer: ManifestSigner, trusted: TrustedKeys, keyID: String) {
        let (privateText, publicText, keyID) = KeyFiles.generate()
        try privateText.write(toFile: directory + "/k.key", atomically: true, encoding: .utf8)
        try publicText.write(toFile: directory + "/k.pub", atomically: true, encoding: .utf8)
        return (
            try KeyFiles.loadPrivate(path: directory + "/k.key"),
            TrustedKeys([try KeyFiles.loadPublic(path: directory + "/k.pub")]), keyID
        )
    }

    @Test func attestationSignatureCoversEveryField() async throws {
        try await TestArchive.with { t in
            let (signer, trusted, keyID) = try Self.keyPair(in: t.directory)
            let json = [
                #"{"binary_version":"v","chain_head":"00","cut_snapshot_id":"1","differences":[],"duration_ms":5,"#,
                #""format":"1","heads_compared":2,"last_position":9,"live_events_compared":9,"#,
                #""live_events_sha256":"a","pruned_through":0,"refold_sha256":"b","replay_sha256":"b","#,
                #""restored_events":9,"restored_events_sha256":"a","restored_streams":2,"result":"pass","#,
                #""started_at":"2026-12-01T00:00:00Z"}"#,
            ].joined()
            var a = try DrillAttestation.decode(Array(json.utf8))
            #expect(a.startedAtNanos == ArchiveTime.parseRFC3339("2026-12-01T00:00:00Z"))
            #expect(a.check(trusted) == .unsigned)
            try a.sign(with: signer)
            #expect(a.check(trusted) == .valid(keyID: keyID))
            #expect(a.check(TrustedKeys()) == .unknownKey(keyID))
            #expect(try DrillAttestation.decode(try a.encoded()) == a)
            var edited = a
            edited.lastPosition = 10
            #expect(edited.check(trusted) == .invalid(keyID: keyID))
            edited = a
            edited.result = .fail
            #expect(edited.check(trusted) == .invalid(keyID: keyID))
        }
    }

    @Test func pruneGuardWantsAFreshCoveringPassingDrill() async throws {
        try await TestArchive.with(bytesPerSnapshot: 4_000) { t in
            try await t.append(300)
            try await t.flush(checkpointEvery: 0)
            var archive = try t.archive()
            let guardNow = PruneGuard(maxAgeSeconds: 3_600)
            await #expect(throws: ArchiverError.self) { try await guardNow.check(archive: archive, target: 1) }
            let a = try await runner(t, archive: archive).run(.cut(.latest))
            #expect(try await guardNow.check(archive: archive, target: 300) == a)
            do {
                try await guardNow.check(archive: archive, target: 301)
                Issue.record("a drill through 300 allowed a prune through 301")
            } catch let error as ArchiverError {
                #expect(error.code == .pruneRefused && error.message.contains("covers position 300 only"))
            }
            let later = PruneGuard(maxAgeSeconds: 3_600, now: Date().timeIntervalSince1970 + 7_200)
            await #expect(throws: ArchiverError.self) { try await later.check(archive: archive, target: 300) }
            // With trusted keys, the unsigned attestation no longer counts.
            archive.trustedKeys = try Self.keyPair(in: t.directory).trusted
            await #expect(throws: ArchiverError.self) { try await guardNow.check(archive: archive, target: 300) }
        }
    }
}
