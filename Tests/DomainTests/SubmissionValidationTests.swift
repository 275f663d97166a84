import GridLoopDomain
import Testing

@Suite("Submission validation")
struct SubmissionValidationTests {
    let valid = SubmissionDraft(
        category: "power", description: "电磁炉炒不了菜，电饭煲煮不了饭", location: Location(householdId: "guanghua-3-01"),
        reporter: .init(name: "崔春花", phone: "+86 138-0000-1234"), channel: "grid-worker", submittedBy: "cui-chunhua"
    )

    @Test func acceptsACompleteSubmissionAndTrims() throws {
        var draft = valid
        draft.description = "  停电  "
        let submission = try draft.validate().get()
        #expect(submission.description == "停电")
        #expect(submission.channel == .gridWorker)
        #expect(submission.location.householdId == "guanghua-3-01")
    }

    @Test func namesEveryMissingField() {
        let errors = fieldErrors(SubmissionDraft())
        #expect(Set(errors.map(\.field)) == ["category", "description", "location", "reporter.name", "reporter.phone", "channel"])
        #expect(errors.allSatisfy { $0.code == "required" })
    }

    @Test func refusesBadValues() {
        var draft = valid
        draft.category = "Power Supply"
        draft.channel = "fax"
        draft.reporter?.phone = "call me"
        draft.location = Location(gridId: "Grid 3")
        let fields = Set(fieldErrors(draft).map(\.field))
        #expect(fields == ["category", "channel", "reporter.phone", "location.gridId"])
    }

    @Test func limitsLengths() {
        var draft = valid
        draft.description = String(repeating: "电", count: SubmissionDraft.Limits.description + 1)
        #expect(fieldErrors(draft).map(\.code) == ["too_long"])
        draft.description = String(repeating: "电", count: SubmissionDraft.Limits.description)
        #expect(fieldErrors(draft).isEmpty)
    }

    @Test func anEmptyLocationIsMissing() {
        var draft = valid
        draft.location = Location(gridId: " ", householdId: nil, address: "")
        #expect(fieldErrors(draft).map(\.field) == ["location"])
    }

    private func fieldErrors(_ draft: SubmissionDraft) -> [FieldError] {
        switch draft.validate() {
        case .success: []
        case .failure(let invalid): invalid.errors
        }
    }
}
