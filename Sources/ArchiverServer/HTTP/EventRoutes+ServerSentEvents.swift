import ArchiverCore
import Coordination
import Hummingbird

extension EventRoutes {
    /// `text/event-stream`: one `id:`/`event:`/`data:` block per event, a keep-alive comment every 15 s without
    /// events; ends after `limit` events (when given), on graceful shutdown, or when the client goes away.
    /// Reconnecting clients resume with `Last-Event-ID` (the last position they saw). A consumer's checkpoint
    /// moves after each batch is written. Pruned positions stream from the archive, then the store's
    /// (``TieredEventReader``); an integrity error ends the stream rather than skip events.
    /// With an upcaster (`?upcast=true`), each event is sent as the events it becomes.
    func serverSentEvents(from cursor: Cursor, limit: Int?, upcaster: Upcaster? = nil) -> Response {
        let store = api.store
        let reader = api.reader
        let shutdown = api.shutdown
        let body = ResponseBody { writer in
            var position = cursor.after
            var sent = 0
            while !Task.isCancelled && !shutdown.isFired {
                let page = try await reader.readAll(after: position, limit: min(500, limit.map { $0 - sent } ?? 500))
                    .events
                guard let last = page.last else {
                    try await waitForEvents(after: position, timeout: 15)
                    if try await store.safeHighWaterMark() <= position && !shutdown.isFired {
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    }
                    continue
                }
                var out: [UInt8] = []
                for event in page { try ServerSentEvent.append(event, upcaster: upcaster, to: &out) }
                try await writer.write(ByteBuffer(bytes: out))
                if let consumer = cursor.consumer { try await store.setCheckpoint(consumer, position: last.position) }
                position = last.position
                sent += page.count
                if let limit, sent >= limit { break }
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}
