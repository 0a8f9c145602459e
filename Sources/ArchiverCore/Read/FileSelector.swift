import ArchiveFormat
import Foundation
import Lode

/// Decides which data files of a snapshot can hold the events a replay asks for, from what the manifest
/// (or the catalog) records: the hive partition values in each file's path (`category=…`) and the per-file
/// stream Bloom filters (`archiver.stream_filters`). It only ever rules files out that certainly hold no
/// selected event; a file without a filter or without a category partition is always read.
///
/// ```swift
/// var reader = ArchiveReader(archive: archive)
/// reader.selector = FileSelector(streams: ["account-42"])
/// ```
public struct FileSelector: Sendable, Hashable {
    /// Read only files that may hold one of these streams (empty: any stream).
    public var streams: Set<String>
    /// Read only files whose category partition is one of these (empty: any category).
    public var categories: Set<String>

    public init(streams: Set<String> = [], categories: Set<String> = []) {
        self.streams = streams
        self.categories = categories
    }

    /// The selector for a replay filter, or nil when the filter cannot rule out any file.
    public init?(_ filter: ReplayFilter) {
        guard !filter.streams.isEmpty || !filter.categories.isEmpty else { return nil }
        self.init(streams: filter.streams, categories: filter.categories)
    }

    /// Indices into `cut.manifest.files` of the files to read.
    public func files(of cut: CutPoint) -> [Int] {
        let files = cut.manifest.files
        let filters = cut.facts.parsedStreamFilters(fileCount: files.count)
        return files.indices.filter { index in
            let category = Self.category(inPath: files[index].path)
            if let category, !categories.isEmpty,
                !categories.contains(where: { ArchivePartitioning.partitionValue(category, names: $0) })
            {
                return false
            }
            guard !streams.isEmpty else { return true }
            return streams.contains { stream in
                if let category,
                    !ArchivePartitioning.partitionValue(category, names: ArchivePartitioning.category(of: stream))
                {
                    return false
                }
                guard let filter = filters?[index] else { return true }
                return filter.mayContain(stream)
            }
        }
    }

    /// The `category=` hive value in a data file's key (percent-decoded), or nil. A long category is stored
    /// bounded (``ArchivePartitioning/boundedValue(_:)``): compare with ``ArchivePartitioning/partitionValue(_:names:)``.
    static func category(inPath path: String) -> String? {
        guard let range = path.range(of: "/category=") else { return nil }
        let rest = path[range.upperBound...]
        let value = rest[..<(rest.firstIndex(of: "/") ?? rest.endIndex)]
        return String(value).removingPercentEncoding
    }
}
