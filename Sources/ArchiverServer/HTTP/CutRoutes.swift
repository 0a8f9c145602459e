import ArchiverCore
import HTTPTypes
import Hummingbird

/// `GET /cuts` (the cut points), `POST /flush` (a flush pass now) and `POST /cuts/{name}` (a pass whose snapshot
/// gets a name).
struct CutRoutes: Sendable {
    static let list = ArchiverAPI.Route(method: "GET", path: "/cuts", scope: .read)
    static let flush = ArchiverAPI.Route(method: "POST", path: "/flush", scope: .admin)
    static let name = ArchiverAPI.Route(method: "POST", path: "/cuts/{name}", scope: .admin)
    static let all = [list, flush, name]

    let api: ArchiverAPI

    func register(with registrar: inout RouteRegistrar) {
        registrar.on(Self.list) { request, _ in try await list(request) }
        registrar.on(Self.flush) { _, _ in try await flush(cutName: nil) }
        registrar.on(Self.name) { _, context in
            try await flush(cutName: try validName(try PathParameter.value("name", in: context)))
        }
    }

    /// Named cut points, oldest first; every snapshot with `all=true`.
    func list(_ request: Request) async throws -> Response {
        let all = request.uri.queryParameters["all"].map { $0 == "true" || $0 == "1" } ?? false
        let cuts: [CutPoint]
        do {
            cuts = try await api.archive.cutPoints()
        } catch let error as ArchiverError where error.code == .emptyArchive {
            cuts = []
        }
        return try JSONResponse.make(.ok, CutList(cuts: cuts.filter { all || $0.name != nil }.map(CutList.Cut.init)))
    }

    /// `name` when it can name a cut; a name `--to` would read as something else is a 422, before any flush.
    func validName(_ name: String) throws -> String {
        do {
            try CutName.validate(name)
        } catch let error as ArchiverError {
            throw APIError(.unprocessableContent, "invalid-input", error.message)
        }
        return name
    }

    /// One flush pass; `201` when it names a cut.
    func flush(cutName: String?) async throws -> Response {
        let summary: FlushSummary
        do {
            summary = try await api.coordinator.flush(cutName: cutName)
        } catch {
            throw StoreErrors.apiError(flush: error)
        }
        return try JSONResponse.make(cutName == nil ? .ok : .created, FlushResult(summary))
    }
}
