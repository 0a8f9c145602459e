/// A projection whose state depends only on the JSON value of each event's `data`, never on how it is written
/// (member order, whitespace, escapes; the last of duplicate keys wins), because it canonicalises what it is
/// given.
///
/// Upcasting hands such a projection the members no rule touched as they were archived (``PartialData``'s
/// `asArchived` form) instead of canonicalising them first: the projection's own canonicalisation would do
/// the same work a second time.
protocol ValueOnlyProjection: Projection {}

/// The merge patch canonicalises the patch it merges (``RawMergePatch``): keys sorted and deduplicated, the
/// last kept, strings requoted, numbers as written.
extension MergePatchFold: ValueOnlyProjection {}
