import Foundation

/// Fault injection for the crash tests: when `ARCHIVER_CRASH_POINT` names a point, the process kills
/// itself with SIGKILL the `ARCHIVER_CRASH_SKIP`+1-th time it reaches it (default: the first time).
///
/// This is how the kill-9 harness places a crash exactly between two steps of the commit protocol;
/// with the variable unset it costs one dictionary lookup per flush step.
public enum CrashPoints {
    public enum Point: String, Sendable, CaseIterable {
        /// The flush intent is recorded; nothing is uploaded yet.
        case afterIntent = "after-intent"
        /// One data object is published.
        case afterSegment = "after-segment"
        /// All data objects are published; the manifest is not written.
        case beforeManifest = "before-manifest"
        /// The canonical manifest is written; its hive partition copies are not.
        case afterCanonicalManifest = "after-canonical-manifest"
        /// The manifest is written; the cursor has not moved.
        case afterManifest = "after-manifest"
        /// Half of a staged segment file is written.
        case midSegment = "mid-segment"
        /// A catalog checkpoint's part is published; its catalog manifest is not written.
        case catalogBeforeManifest = "catalog-before-manifest"
        /// `compact`: one data object of the new generation is published (the copy is under way).
        case compactMidCopy = "compact-mid-copy"
        /// `compact`: the new generation is written and verified; the activation is not.
        case compactBeforeActivate = "compact-before-activate"
    }

    nonisolated(unsafe) private static var remaining: Int? = {
        guard let name = ProcessInfo.processInfo.environment["ARCHIVER_CRASH_POINT"], !name.isEmpty else {
            return nil
        }
        return Int(ProcessInfo.processInfo.environment["ARCHIVER_CRASH_SKIP"] ?? "0") ?? 0
    }()
    private static let armed: Point? = ProcessInfo.processInfo.environment["ARCHIVER_CRASH_POINT"].flatMap(
        Point.init(rawValue:))
    private static let lock = NSLock()

    /// Kills the process if `point` is the armed crash point and its skip count is used up.
    @inline(__always)
    public static func hit(_ point: Point) {
        guard let armed, armed == point else { return }
        lock.lock()
        defer { lock.unlock() }
        if let left = remaining, left > 0 {
            remaining = left - 1
            return
        }
        kill(getpid(), SIGKILL)
    }
}
