import RawJSON

/// RFC 7386 JSON merge patch over bytes: merges a patch (valid JSON) into a target in stored form and writes
/// the result in stored form, without building either tree. Stored form is canonical form (``CanonicalJSON``)
/// except for deferred values (``DeferredValue``); ``CanonicalJSON/appendStored(_:to:members:)`` of it gives,
/// byte for byte, what `JSONValue.mergePatch(target:patch:).serialize()` gives.
///
/// Only objects that the patch merges into are descended into: the target's other members are copied as they
/// are, and arrays and scalars of the patch replace as bytes (arrays and strings with escapes that the
/// canonical form writes differently are deferred, to be canonicalized once when the row is written).
///
/// Keep one and reuse it: its scratch room then serves every event without allocating.
struct RawMergePatch {
    /// The result of the last ``merge(target:patch:)``.
    private(set) var output: [UInt8] = []
    private var members = MemberScratch()

    init() {}

    /// Validates `patch` (as ``RawJSON/validate(_:maxDepth:)`` does, with its errors) and indexes the ends of its
    /// strings and containers in the same pass, for the ``merge(target:patch:)`` of it that follows.
    mutating func validate(_ patch: UnsafeRawBufferPointer) throws {
        try members.ends.validateAndIndex(patch)
    }

    /// Sets ``output`` to the merge of `patch` into `target` (nil: no target yet).
    /// - Parameters:
    ///   - target: one JSON value in stored form.
    ///   - patch: one valid JSON value (whitespace and escapes allowed), indexed by ``validate(_:)`` or not.
    mutating func merge(target: UnsafeRawBufferPointer?, patch: UnsafeRawBufferPointer) {
        // The patch's bytes may be other bytes by the next call.
        defer { members.ends.clear() }
        output.removeAll(keepingCapacity: true)
        let start = ValidJSON.skipSpace(patch, from: 0)
        // Valid JSON: one value, then only whitespace.
        let end = ValidJSON.trimmedEnd(patch)
        // Values are found by the index of ``validate(_:)``: the bytes of a nested value are not scanned again
        // at each level a merge descends through.
        mergeValue(target: target, patch: UnsafeRawBufferPointer(rebasing: patch[start..<end]))
    }

    /// Sets ``output`` to the canonical form of `value` (one valid JSON value, whitespace allowed around it), with
    /// no deferred value.
    mutating func canonicalize(_ value: UnsafeRawBufferPointer) {
        output.removeAll(keepingCapacity: true)
        let start = ValidJSON.skipSpace(value, from: 0)
        let end = ValidJSON.trimmedEnd(value)
        members.ends.index(value)
        defer { members.ends.clear() }
        CanonicalJSON.append(UnsafeRawBufferPointer(rebasing: value[start..<end]), to: &output, members: &members)
    }

    private mutating func mergeValue(target: UnsafeRawBufferPointer?, patch: UnsafeRawBufferPointer) {
        guard patch[0] == UInt8(ascii: "{") else {
            appendReplacement(patch)
            return
        }
        // A target that is not an object merges as {} (RFC 7386).
        _ = mergeObject(into: target.flatMap { $0[0] == UInt8(ascii: "{") ? StoredMembers($0) : nil }, patch: patch)
    }

    /// Appends the merge of the object `patch` into the object whose members `target` walks (nil: `{}`), and
    /// returns the offset after the target object (0 without one). The target is walked once: its members are
    /// compared with the patch's sorted members as they come, and a member both sides hold as objects is merged
    /// by the nested call, which finds its end on the way.
    private mutating func mergeObject(into target: StoredMembers?, patch: UnsafeRawBufferPointer) -> Int {
        let patchList = members.collect(patch)
        var target = target
        output.append(UInt8(ascii: "{"))
        var next = patchList.start
        var wroteOne = false
        while next < patchList.end || target?.isFinished == false {
            let order =
                next == patchList.end
                ? 1 : target.map { $0.isFinished ? -1 : $0.compare(members, next, of: patch) } ?? -1
            if order > 0 {
                // Untouched by the patch: the canonical member is copied, key, colon and value.
                let kept = target!
                let valueEnd = kept.valueEnd()
                if wroteOne { output.append(UInt8(ascii: ",")) }
                output.append(contentsOf: UnsafeRawBufferPointer(rebasing: kept.object[kept.at..<valueEnd]))
                wroteOne = true
                target!.advance(pastValueEndingAt: valueEnd)
                continue
            }
            let patchValue = members.value(next, of: patch)
            next += 1
            let isDeletion = patchValue[0] == UInt8(ascii: "n")  // null removes the member
            if !isDeletion {
                if wroteOne { output.append(UInt8(ascii: ",")) }
                members.appendKey(next - 1, of: patch, to: &output)
                output.append(UInt8(ascii: ":"))
                wroteOne = true
            }
            guard order == 0, let kept = target else {
                if !isDeletion { mergeValue(target: nil, patch: patchValue) }
                continue
            }
            let start = kept.valueStart
            if !isDeletion, patchValue[0] == UInt8(ascii: "{"), kept.object[start] == UInt8(ascii: "{") {
                let nested = StoredMembers(UnsafeRawBufferPointer(rebasing: kept.object[start...]))
                target!.advance(pastValueEndingAt: start + mergeObject(into: nested, patch: patchValue))
            } else {
                if !isDeletion { mergeValue(target: nil, patch: patchValue) }
                target!.advance(pastValueEndingAt: kept.valueEnd())
            }
        }
        output.append(UInt8(ascii: "}"))
        members.release(patchList)
        return target?.end ?? 0
    }

    /// A patch value that is not an object replaces the target whole: an array, or a string whose escapes the
    /// canonical form writes differently, is deferred (``DeferredValue``); the other values are canonical as
    /// written.
    private mutating func appendReplacement(_ value: UnsafeRawBufferPointer) {
        let isCanonical =
            switch value[0] {
            case UInt8(ascii: "["): false
            case UInt8(ascii: "\""): CanonicalJSON.isCanonicalString(value)
            default: true  // numbers keep their literal text; true, false, null
            }
        if isCanonical {
            output.append(contentsOf: value)
        } else if value.count <= DeferredValue.maximumLength {
            DeferredValue.append(value, to: &output)
        } else {
            CanonicalJSON.append(value, to: &output, members: &members)
        }
    }
}
