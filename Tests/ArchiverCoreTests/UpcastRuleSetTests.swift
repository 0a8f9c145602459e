import ArchiverCore
import Foundation
import RawJSON
import Testing

/// The worked example of docs/REPLAY.md "Upcasting" (shared with ArchiverCLITests).
let workedExampleYAML = sharedFixture("upcasters-worked-example.yaml")

@Suite struct UpcastRuleSetTests {
    @Test func readsTheWorkedExample() throws {
        let rules = try UpcastRuleSet(yaml: workedExampleYAML, source: "archiver.yaml")
        #expect(rules.versionKey == "schema_version")
        #expect(rules.targets == ["AccountOpened": 2])
        #expect(rules.rules.map(\.name) == ["account-opened-v2", "split-address-changed"])
        #expect(rules.rules.map(\.line) == [6, 13])
        #expect(rules.rules[0].version == 1 && rules.rules[1].version == nil)
        #expect(rules.rules[0].steps.last == .setVersion(2))
        #expect(rules.hash.count == 64)
        #expect(rules.identity == rules.hash)
    }

    /// The hash is of the canonical form: layout, comments, key order and flow style do not change it;
    /// any change to what the rules do does.
    @Test func theHashIsOfTheCanonicalForm() throws {
        let a = try UpcastRuleSet(yaml: workedExampleYAML, source: "a")
        let reformatted = """
            # the same rules, written differently
            rules:
            - steps:
              - move:
                  to: /owner
                  from: /holder
              - default: {value: EUR, at: /currency}
              - {set-version: 2}
              version: 1
              type: AccountOpened
              name: account-opened-v2
            - name: split-address-changed
              type: AddressChanged
              steps:
              - split:
                - {type: StreetChanged, copy: {/street: /address/street}}
                - {type: CityChanged, copy: {/postcode: /address/postcode, /city: /address/city}}
            """
        #expect(try UpcastRuleSet(yaml: reformatted, source: "b").hash == a.hash)
        let changed = workedExampleYAML.replacingOccurrences(of: "value: EUR", with: "value: USD")
        #expect(try UpcastRuleSet(yaml: changed, source: "c").hash != a.hash)
        #expect(
            a.canonicalJSON.hasPrefix(#"{"rules":[{"name":"account-opened-v2","steps":[{"from":"/holder","op":"move""#))
        #expect(UpcastRuleSet().identity == nil)
        var withExec = a
        withExec.exec = "python3 up.py"
        #expect(withExec.hash != a.hash)
    }

    /// Hostile rule sets are refused with one line naming the file, the rule's line and the rule.
    @Test(arguments: [
        (
            "rules:\n  - name: r\n    type: T\n    steps:\n      - remove: field\n",
            "f.yaml line 5, rule 'r': remove: 'field' is not a JSON pointer: it must start with '/'"
        ),
        (
            "rules:\n  - name: r\n    type: T\n    steps:\n      - remove: /a~2b\n",
            "f.yaml line 5, rule 'r': remove: '/a~2b' is not a JSON pointer: '~' must be followed by 0 or 1"
        ),
        (
            "rules:\n  - name: r\n    type: T\n    steps:\n      - default: {at: /a, value: 1}\n      - remove: /a/b\n",
            "f.yaml line 2, rule 'r': type clash: step 1 makes /a a non-object, step 2 addresses /a/b inside it"
        ),
        (
            "rules:\n  - name: r\n    type: T\n    steps:\n      - to-string: /n\n      - to-number: /n\n",
            "f.yaml line 2, rule 'r': type clash: step 1 is to-string and step 2 is to-number of /n"
        ),
        (
            "rules:\n  - name: r\n    type: T\n    steps:\n      - remove: /a\n",
            "f.yaml line 2, rule 'r': the rule matches its own output, so it would apply forever"
        ),
        (
            "rules:\n  - name: r\n    type: T\n    version: 2\n    steps:\n      - set-version: 2\n",
            "f.yaml line 2, rule 'r': the rule matches its own output"
        ),
        (
            "rules:\n  - name: a\n    type: A\n    steps:\n      - rename-type: B\n"
                + "  - name: b\n    type: B\n    steps:\n      - rename-type: A\n",
            "f.yaml line 2, rule 'a': rules form a cycle ('a' -> 'b' -> 'a')"
        ),
        (
            "rules:\n  - name: r\n    type: T\n    steps:\n      - drop: true\n      - rename-type: U\n",
            "f.yaml line 2, rule 'r': step 1 (split or drop) ends the rule: move it last"
        ),
        (
            "rules:\n  - name: r\n    type: T\n    steps:\n      - rename: {from: /a, to: /b}\n",
            "f.yaml line 5, rule 'r': unknown operation 'rename'"
        ),
        (
            "rules:\n  - name: r\n    type: T\n    version: one\n    steps:\n      - rename-type: U\n",
            "f.yaml line 4, rule 'r': version must be a whole number of 0 or more"
        ),
        (
            "rules:\n  - name: r\n    type: T\n    steps:\n      - rename-type: U\n"
                + "  - name: r\n    type: V\n    steps:\n      - rename-type: W\n",
            "f.yaml line 6, rule 'r': a rule of this name is already defined at line 2"
        ),
        (
            "rules:\n  - name: r\n    type: T\n    steps:\n      - move: {from: /a, to: /a/b}\n      - rename-type: U\n",
            "f.yaml line 2, rule 'r': step 1 moves /a into itself (/a/b)"
        ),
    ])
    func refusesHostileRules(yaml: String, expected: String) {
        let error = #expect(throws: ArchiverError.self) { try UpcastRuleSet(yaml: yaml, source: "f.yaml") }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.hasPrefix(expected) == true, "\(error?.message ?? "")")
    }

    /// Split ids: the value the Python reference computes (hashlib, docs/REPLAY.md), so any machine gets it.
    @Test func splitIDsAreStable() {
        let id = SplitID.derive(from: "3f2a9c1e-0000-4000-8000-000000000001", index: 0)
        #expect(id == "1c6e55d4-4032-8c4f-86cd-6a4a2058751a")
        #expect(SplitID.derive(from: "3f2a9c1e-0000-4000-8000-000000000001", index: 1) != id)
    }
}
