/// A projection that reads of each event only its stream, version, position and the JSON value of its `data`:
/// not how the data is written (member order, whitespace, escapes; the last of duplicate keys wins), because
/// it canonicalises what it is given, and not its id, type or metadata.
///
/// Upcasting hands such a projection the members no rule touched as they were archived (``PartialData``'s
/// as-archived form) instead of canonicalising them first, which the projection would do a second time, and
/// the archived record line with only the data replaced: the upcast id, type and metadata, which it does not
/// read, are not written.
///
/// It must validate the data it is given: upcasting checks only the members the rules name, and hands the
/// others on unchecked.
protocol DataValueProjection: Projection {}

/// The merge patch validates and canonicalises the patch it merges (``RawMergePatch``): keys sorted and
/// deduplicated, the last kept, strings requoted, numbers as written. Its rows hold the stream, version, position and state only.
/// A change that makes the fold read the type or metadata must drop this conformance.
extension MergePatchFold: DataValueProjection {}
