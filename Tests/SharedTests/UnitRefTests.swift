import GridLoopDomain
import Testing

@Suite("Units")
struct UnitRefTests {
    @Test func parsesAndNamesQueues() throws {
        let unit = try UnitRef(parsing: "grid:guanghua-3")
        #expect(unit.tier == .grid)
        #expect(unit.id == "guanghua-3")
        #expect(unit.routingKey == "grid.guanghua-3")
        #expect(unit.queueName == "unit.grid.guanghua-3")
        #expect(unit.description == "grid:guanghua-3")
    }

    @Test(
        "refuses malformed units",
        arguments: ["grid", "grid:", "city:x", "grid:Guanghua", "grid:a.b", "grid:a b", ":x", "grid:" + String(repeating: "a", count: 65)]
    )
    func refuses(text: String) {
        #expect(throws: DomainError.self) { try UnitRef(parsing: text) }
    }

    @Test func codesAsItsText() throws {
        let unit = try UnitRef(parsing: "district:power-supply")
        let bytes = try WireJSON.encode([unit])
        #expect(String(decoding: bytes, as: UTF8.self) == #"["district:power-supply"]"#)
        #expect(try WireJSON.decode([UnitRef].self, from: bytes) == [unit])
        #expect(throws: DecodingError.self) { try WireJSON.decode([UnitRef].self, from: Array(#"["nowhere:x"]"#.utf8)) }
    }
}
