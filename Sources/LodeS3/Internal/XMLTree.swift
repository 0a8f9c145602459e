import Foundation
import FoundationXML

/// A parsed XML element: name, text and children. S3 answers are small, flat documents, so a tree is simpler
/// and safer than streaming callbacks.
///
/// Parsing is Foundation's `XMLParser` (libxml2): entities, character references and CDATA are resolved there,
/// external entities are never loaded, and a truncated or malformed document is an error, never a partial tree.
/// Documents that are not valid UTF-8 are rejected before parsing.
struct XMLTree: Sendable, Equatable {
    var name: String
    /// The element's own character data (CDATA included), concatenated; children's text is not part of it.
    var text: String
    var children: [XMLTree]

    /// The first child named `name`.
    func child(_ name: String) -> XMLTree? { children.first { $0.name == name } }

    /// All children named `name`.
    func children(_ name: String) -> [XMLTree] { children.filter { $0.name == name } }

    /// The text of the first child named `name`.
    func text(_ name: String) -> String? { child(name)?.text }

    /// Parses `bytes`; the namespace prefix of names is dropped (S3 uses one default namespace).
    /// - Throws: ``S3Error/Code/invalidResponse`` naming the parser's complaint.
    static func parse(_ bytes: [UInt8], what: String) throws(S3Error) -> XMLTree {
        // S3 sends UTF-8. Foundation's XMLParser traps on some invalid UTF-8 in names that libxml2 lets through
        // (found by XMLTests.fuzzedDocumentsNeverCrash), so invalid documents never reach it.
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw S3Error(.invalidResponse, "the S3 server sent XML that is not valid UTF-8 for \(what)")
        }
        let builder = Builder()
        let parser = XMLParser(data: Data(bytes))
        parser.shouldResolveExternalEntities = false
        parser.shouldProcessNamespaces = false
        parser.delegate = builder
        let ok = parser.parse()
        // XMLParser can report success on a truncated document and leave the error in `parserError`.
        if !ok || parser.parserError != nil || builder.failed || builder.stack.count != 0 {
            let reason = parser.parserError.map { "\(($0 as NSError).code)" } ?? "unbalanced elements"
            throw S3Error(.invalidResponse, "the S3 server sent malformed XML for \(what) (parser error \(reason))")
        }
        guard let root = builder.root else {
            throw S3Error(.invalidResponse, "the S3 server sent an empty XML document for \(what)")
        }
        return root
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var stack: [XMLTree] = []
        var root: XMLTree?
        var failed = false

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
            qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]
        ) {
            if root != nil { failed = true }  // a second root element
            let local = elementName.split(separator: ":").last.map(String.init) ?? elementName
            stack.append(XMLTree(name: local, text: "", children: []))
        }

        func parser(
            _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?
        ) {
            guard let element = stack.popLast() else {
                failed = true
                return
            }
            if stack.isEmpty {
                root = element
            } else {
                stack[stack.count - 1].children.append(element)
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += string
        }

        func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += String(decoding: CDATABlock, as: UTF8.self)
        }

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
            failed = true
        }
    }
}
