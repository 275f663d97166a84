import Foundation
import GridLoopDomain
import IntakeService
import Testing

@Suite("Intake channels")
struct IntakeChannelUnitTests {
    @Test func csvQuotesCommasAndLineBreaks() {
        let rows = CSVReader.rows("\u{FEFF}a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\"two\nlines\",z\n\n")
        #expect(rows.map(\.fields) == [["a", "b"], ["x, y", "say \"hi\""], ["two\nlines", "z"]])
        #expect(rows.map(\.line) == [1, 2, 3])
    }

    @Test func importRowsAreValidatedAndKeyed() throws {
        let parsed = try ImportRow.parse(
            """
            category,description,grid_id,reporter_name,reporter_phone,external_id
            water,没水,hongxing-3,张三,13800001111,H-1
            water,没水,hongxing-3,张三,13800001111,
            water,没水,hongxing-3,张三,13800001111,
            Water,没水,,张三,,
            """
        )
        #expect(parsed.count == 4)
        let keys = parsed.compactMap { try? $0.get().key }
        #expect(keys.count == 3 && keys[0] == "import:H-1" && keys[1] != keys[2] && keys[1].hasSuffix(":0") && keys[2].hasSuffix(":1"), "\(keys)")
        guard case .failure(let rejected) = parsed[3] else {
            Issue.record("the bad row is rejected")
            return
        }
        #expect(rejected.line == 5)
        #expect(
            rejected.reasons.contains { $0.hasPrefix("category:") } && rejected.reasons.contains { $0.hasPrefix("reporter.phone:") }
                && rejected.reasons.contains { $0.hasPrefix("location:") }
        )
        #expect(throws: ImportFileInvalid.self) { try ImportRow.parse("description,reporter_name\nx,y") }
    }

    @Test func gridAreasAndCoordinates() {
        let square = GeoArea(points: [[103.80, 25.60], [103.81, 25.60], [103.81, 25.61], [103.80, 25.61]])
        #expect(square.problem == nil)
        #expect(square.contains(latitude: 25.605, longitude: 103.805))
        #expect(!square.contains(latitude: 25.615, longitude: 103.805))
        #expect(GeoArea(points: [[1, 2], [3, 4]]).problem != nil)
        #expect(GeoArea(points: [[1, 2], [3, 4], [500, 1]]).problem != nil)
        let draft = SubmissionDraft(
            category: "water",
            description: "x",
            location: Location(latitude: 91, longitude: 1),
            reporter: .init(name: "n", phone: "13800001111"),
            channel: "open311"
        )
        guard case .failure(let invalid) = draft.validate() else {
            Issue.record("latitude 91 refused")
            return
        }
        #expect(invalid.errors.map(\.field) == ["location.latitude"])
        let onlyCoordinates = SubmissionDraft(
            category: "water",
            description: "x",
            location: Location(latitude: 25.6, longitude: 103.8),
            reporter: .init(name: "n", phone: "13800001111"),
            channel: "open311"
        )
        #expect((try? onlyCoordinates.validate().get()) != nil)
    }
}
