/// The result of ``LodeDataset/check()``: every problem found, each naming its object.
public struct LodeCheckReport: Sendable, Hashable {
    /// One integrity problem.
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        public var code: LodeError.Code
        /// The object the problem is about, when there is one.
        public var key: String?
        public var message: String
        public var description: String { message }
    }

    public var datasetID: String
    public var layout: LodeLayout
    /// The head the chain was checked from (pointer, or scan fallback).
    public var head: String?
    /// Snapshots whose manifest decoded and validated.
    public var snapshotsChecked: Int = 0
    /// Data objects whose size (and MD5 when recorded) matched.
    public var filesChecked: Int = 0
    /// Damage and inconsistencies: corrupt or invalid manifests, forks, broken chains, missing objects,
    /// size or MD5 mismatches, pointer anomalies, hive copies missing or different.
    public var problems: [Problem] = []
    /// Objects under the dataset that no manifest references (crash leftovers; never deleted automatically).
    /// The pointer, its `.lock` side file and temporary files are not orphans.
    public var orphans: [String] = []

    /// True when there is no problem (orphans alone do not make a dataset unhealthy).
    public var isHealthy: Bool { problems.isEmpty }

    mutating func add(_ code: LodeError.Code, _ key: String?, _ message: String) {
        problems.append(Problem(code: code, key: key, message: message))
    }
}

extension LodeDataset {
    /// Audits the dataset (for the inspector and `verify`): every manifest decodes and validates, the chain from
    /// the head is linear and complete, every listed object exists with its recorded size and MD5, hive copies
    /// match their canonical manifest, and objects no manifest references are listed as orphans. Reads
    /// everything; writes nothing.
    ///
    /// ```swift
    /// let report = try await dataset.check()
    /// for problem in report.problems { print(problem) }
    /// ```
    /// - Throws: only store failures (listing, reading); damage is reported in the result.
    public func check() async throws -> LodeCheckReport {
        var report = LodeCheckReport(datasetID: id, layout: layout)
        let objects = try await store.list(prefix: layout.datasetPrefix(dataset: id))
        var objectSizes: [String: Int64] = [:]
        for object in objects { objectSizes[object.key] = object.size }
        var manifestKeysBySnapshot: [String: [LodeLayout.ManifestKey]] = [:]
        for object in objects {
            guard let parsed = layout.parseManifestKey(object.key), parsed.dataset == id else { continue }
            manifestKeysBySnapshot[parsed.snapshot, default: []].append(parsed)
        }
        var manifests: [Manifest] = []
        var referenced = Set<String>()
        for snapshot in manifestKeysBySnapshot.keys.sorted(by: ObjectKey.byteOrder) {
            let keys = manifestKeysBySnapshot[snapshot]!.sorted { ObjectKey.byteOrder($0.key, $1.key) }
            referenced.formUnion(keys.map(\.key))
            if let manifest = try await checkManifests(of: snapshot, keys: keys, into: &report) {
                manifests.append(manifest)
            }
        }
        let head = try await checkPointer(
            manifests: manifests, snapshotsWithManifests: Set(manifestKeysBySnapshot.keys), into: &report)
        report.head = head
        if let head { checkChain(manifests, head: head, into: &report) }
        try await checkObjects(of: manifests, sizes: objectSizes, referenced: &referenced, into: &report)
        let pointerKey = latestPointerKey
        for object in objects where !referenced.contains(object.key) {
            if object.key == pointerKey || object.key == pointerKey + ".lock" { continue }
            if ObjectKey.isTemporaryName(ObjectKey.lastSegment(object.key)) { continue }
            report.orphans.append(object.key)
        }
        return report
    }

    /// Decodes the manifests of one snapshot (the canonical one and, on a hive layout, its partition copies);
    /// returns the one to check the chain with, nil when none decodes.
    private func checkManifests(
        of snapshot: String, keys: [LodeLayout.ManifestKey], into report: inout LodeCheckReport
    ) async throws -> Manifest? {
        var decoded: [(key: LodeLayout.ManifestKey, bytes: [UInt8], manifest: Manifest)] = []
        for key in keys {
            let bytes = try await store.get(key.key)
            do {
                decoded.append((key, bytes, try decodeManifest(bytes, snapshotID: snapshot, key: key.key)))
            } catch {
                report.add(error.code, key.key, error.message)
            }
        }
        // The canonical manifest where present, else the first partition copy (pre-v0.7.3 hive data).
        guard let chosenIndex = decoded.firstIndex(where: { $0.key.partition.isEmpty }) ?? decoded.indices.first
        else { return nil }
        let chosen = decoded[chosenIndex]
        report.snapshotsChecked += 1
        if layout.isHive {
            let copies = decoded.enumerated().filter { $0.offset != chosenIndex }.map {
                (key: $0.element.key.key, bytes: $0.element.bytes)
            }
            checkHiveCopies(
                of: snapshot, chosen: (chosen.key.key, chosen.bytes, chosen.manifest), copies: copies,
                present: Set(keys.map(\.key)), into: &report)
        }
        return chosen.manifest
    }

    /// On a hive layout: the canonical manifest exists, every partition copy is identical to it, and every
    /// partition the snapshot writes to has its copy.
    private func checkHiveCopies(
        of snapshot: String, chosen: (key: String, bytes: [UInt8], manifest: Manifest),
        copies: [(key: String, bytes: [UInt8])], present: Set<String>, into report: inout LodeCheckReport
    ) {
        let canonicalKey = manifestKey(snapshotID: snapshot)
        if chosen.key != canonicalKey {
            report.add(
                .notFound, canonicalKey,
                "snapshot '\(snapshot)' has no canonical manifest '\(canonicalKey)' (only partition copies; "
                    + "written by Go before v0.7.3, or a crash)")
        }
        for copy in copies where copy.bytes != chosen.bytes {
            report.add(
                .manifestInvalid, copy.key,
                "hive manifest copy '\(copy.key)' differs from '\(chosen.key)'; all copies must be identical")
        }
        for file in chosen.manifest.files {
            let partition = LodeLayout.partitionPath(ofKey: file.path)
            guard !partition.isEmpty else { continue }
            let copyKey = layout.manifestKey(dataset: id, snapshot: snapshot, partition: partition)
            if !present.contains(copyKey) {
                report.add(
                    .notFound, copyKey,
                    "hive manifest copy '\(copyKey)' is missing (a crash during the commit); Go's partition "
                        + "listings will not see snapshot '\(snapshot)'")
            }
        }
    }

    /// The head to check the chain from: the pointer's snapshot when it has a valid manifest, else the newest
    /// snapshot. Reports a pointer with whitespace around it or naming a snapshot without a manifest.
    private func checkPointer(
        manifests: [Manifest], snapshotsWithManifests: Set<String>, into report: inout LodeCheckReport
    ) async throws -> String? {
        let raw = try await rawLatestPointer()
        let pointer = Self.trimSpace(raw ?? "")
        if let raw, raw != pointer {
            report.add(
                .corruptData, latestPointerKey,
                "the latest pointer '\(latestPointerKey)' has surrounding whitespace; Go's CAS will then conflict "
                    + "forever: rewrite it as the bare snapshot ID")
        }
        if !pointer.isEmpty {
            if manifests.contains(where: { $0.snapshotID == pointer }) { return pointer }
            if !snapshotsWithManifests.contains(pointer) {
                report.add(
                    .notFound, latestPointerKey,
                    "the latest pointer names snapshot '\(pointer)', which has no manifest (a crashed or in-flight "
                        + "commit); readers fall back to a scan")
            }
        }
        return manifests.map(\.snapshotID).max(by: ObjectKey.byteOrder)
    }

    /// Forks, a broken chain, and snapshots off the chain to `head`.
    private func checkChain(_ manifests: [Manifest], head: String, into report: inout LodeCheckReport) {
        let analysis = ChainAnalysis(manifests: manifests, head: head)
        for fork in analysis.forks {
            report.add(
                .forkDetected, manifestKey(snapshotID: fork.parent),
                "fork: snapshots \(fork.children.joined(separator: ", ")) all name parent '\(fork.parent)'")
        }
        if case .failure(let error) = analysis.chainResult { report.add(error.code, error.key, error.message) }
        for snapshot in analysis.offChain {
            report.add(
                .brokenChain, manifestKey(snapshotID: snapshot),
                "snapshot '\(snapshot)' is not on the chain to the head '\(head)' (a stale pointer or a side "
                    + "branch)")
        }
    }

    /// Every listed data object exists with its recorded size and (when recorded) MD5; adds the keys found to
    /// `referenced`.
    private func checkObjects(
        of manifests: [Manifest], sizes objectSizes: [String: Int64], referenced: inout Set<String>,
        into report: inout LodeCheckReport
    ) async throws {
        for manifest in manifests {
            for file in manifest.files {
                guard let (key, size) = await locate(file, of: manifest, sizes: objectSizes) else {
                    referenced.insert(file.path)
                    report.add(
                        .notFound, file.path,
                        "object '\(file.path)' listed by snapshot '\(manifest.snapshotID)' is missing")
                    continue
                }
                referenced.insert(key)
                if size != file.sizeBytes {
                    report.add(
                        .sizeMismatch, key,
                        LodeError.sizeMismatch(key: key, expected: file.sizeBytes, actual: size).message)
                    continue
                }
                if manifest.checksumAlgorithm == "md5", let expected = file.checksum {
                    let (_, actual) = try await objectDigest(key)
                    if actual != expected {
                        report.add(
                            .checksumMismatch, key,
                            LodeError.checksumMismatch(key: key, expected: expected, actual: actual).message)
                        continue
                    }
                }
                report.filesChecked += 1
            }
        }
    }

    /// The key and size of a listed object: its path, or (§8 A2) the path relative to the snapshot directory.
    private func locate(_ file: FileRef, of manifest: Manifest, sizes: [String: Int64]) async -> (String, Int64)? {
        var candidates = [file.path]
        if !file.path.hasPrefix(layout.datasetPrefix(dataset: id)) {
            candidates.append(
                layout.snapshotDirectory(dataset: id, snapshot: manifest.snapshotID) + "/" + file.path)
        }
        for key in candidates {
            if let size = sizes[key] { return (key, size) }
            if let info = try? await store.head(key) { return (key, info.size) }
        }
        return nil
    }
}
