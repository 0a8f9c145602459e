internal import CLibPQ
import Coordination
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension PostgresConnection {
    /// Blocks until a notification arrives on this connection (after `LISTEN`), `interrupt` becomes
    /// readable, or `timeoutMilliseconds` pass (`poll` on the connection's socket, then `PQconsumeInput` and
    /// `PQnotifies`).
    /// - Returns: the payloads of the notifications received (empty on a timeout or an interrupt).
    /// - Throws: `.connectionFailed` when the connection is gone.
    func awaitNotifications(timeoutMilliseconds: Int32, interrupt: Int32) throws -> [String] {
        var received = takeNotifications()
        guard received.isEmpty else { return received }
        let socket = PQsocket(handle)
        guard socket >= 0 else {
            throw CoordinationError(.connectionFailed, "lost the connection to PostgreSQL at \(endpoint)")
        }
        var descriptors = [
            pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
            pollfd(fd: interrupt, events: Int16(POLLIN), revents: 0),
        ]
        let ready = poll(&descriptors, 2, timeoutMilliseconds)
        if ready > 0, descriptors[0].revents != 0 {
            guard PQconsumeInput(handle) == 1 else {
                throw CoordinationError(
                    .connectionFailed,
                    "lost the connection to PostgreSQL at \(endpoint): "
                        + Self.scrub(String(cString: PQerrorMessage(handle)), url: ""))
            }
            received = takeNotifications()
        }
        return received
    }

    /// The notifications libpq has already read (`PQnotifies`), in arrival order.
    private func takeNotifications() -> [String] {
        var payloads: [String] = []
        while let notify = PQnotifies(handle) {
            payloads.append(notify.pointee.extra.map { String(cString: $0) } ?? "")
            PQfreemem(notify)
        }
        return payloads
    }
}
