import Foundation
import Glibc
import Testing

@testable import Lode

/// The CLI prints only an error's message line: it must name the errno's meaning, the path and the fix.
@Suite struct FileStoreErrorTests {
    @Test func noSpaceAndPermissionErrorsNameTheCauseAndTheFix() {
        let full = LodeError(POSIX.Failure(call: "write", path: "/arch/x/.lode-put-1", errno: ENOSPC), key: "x")
        #expect(full.message.hasPrefix("no space left on device (ENOSPC) writing '/arch/x/.lode-put-1'"))
        #expect(full.message.contains("free space and retry"))
        let denied = LodeError(POSIX.Failure(call: "mkdir", path: "/arch/d", errno: EACCES), key: "d/x")
        #expect(denied.message.contains("permission denied (EACCES)") && denied.message.contains("'/arch/d'"))
        #expect(denied.message.contains("write access"))
        let other = LodeError(POSIX.Failure(call: "fsync", path: "/arch/f", errno: EIO), key: nil)
        #expect(other.message.contains("fsync of '/arch/f' failed") && other.message.contains("errno \(EIO)"))
    }

    @Test func aFIFOAtAnObjectKeyIsRefusedWithoutBlocking() async throws {
        let root = NSTemporaryDirectory() + "lode-fifo-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root + "/d", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(mkfifo(root + "/d/pipe", 0o644) == 0)
        let store = FileStore(root: root)
        // Opening a FIFO for read would block until a writer appears: each call must return at once.
        for attempt in 0..<3 {
            do {
                switch attempt {
                case 0: _ = try await store.get("d/pipe")
                case 1: _ = try await store.openReader("d/pipe")
                default: _ = try await store.getRange("d/pipe", offset: 0, length: 10)
                }
                Issue.record("a FIFO was read as an object")
            } catch let error as LodeError {
                #expect(error.code == .corruptData)
                #expect(error.message.contains("FIFO") && error.message.contains("d/pipe"))
            }
        }
        #expect(try await store.head("d/pipe") == nil)
    }
}
