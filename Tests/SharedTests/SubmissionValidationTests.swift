import Foundation
import GridLoopDomain
import Testing

@Suite("Submission validation")
struct SubmissionValidationTests {
    let valid = SubmissionDraft(
        category: "power",
        description: "电磁炉炒不了菜，电饭煲煮不了饭",
        location: Location(householdId: "guanghua-3-01"),
        reporter: .init(name: "崔春花", phone: "+86 138-0000-1234"),
        channel: "grid-worker",
        submittedBy: "cui-chunhua"
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

    @Test func aBodyThatDoesNotDecodeNamesTheField() {
        for (body, expected) in [
            (#"{"category":"power","location":{"latitude":"north"}}"#, "location.latitude: expected Double"),
            (#"{"category":7}"#, "category: expected String"),
            (#"{"category":"power","reporter":[]}"#, "reporter: expected Dictionary<String, Any>"),
        ] {
            do {
                _ = try JSONDecoder().decode(SubmissionDraft.self, from: Data(body.utf8))
                Issue.record("\(body) decoded")
            } catch let error as DecodingError {
                #expect(error.fieldDescription == expected, "\(body)")
            } catch {
                Issue.record("\(error)")
            }
        }
        do {
            _ = try JSONDecoder().decode(SubmissionDraft.self, from: Data("{".utf8))
        } catch let error as DecodingError {
            #expect(error.fieldDescription.hasPrefix("the document is not well-formed"))
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func controlCharactersAreRefusedWhereverTheyAre() {
        var draft = SubmissionDraft(
            category: "water",
            description: "停水\n三天\t了",
            location: .init(gridId: "hanjiaxu-1"),
            reporter: .init(name: "t\u{0}x", phone: "13800001234"),
            channel: "hotline"
        )
        guard case .failure(let invalid) = draft.validate() else {
            Issue.record("a NUL in the name passed")
            return
        }
        #expect(invalid.errors == [FieldError(field: "reporter.name", code: "invalid", message: "must not contain control characters")])
        draft.reporter?.name = "李四"
        guard case .success = draft.validate() else {
            Issue.record("tabs and line breaks in a description are fine")
            return
        }
        let command = StaffCommand(action: .resolve, requestId: "x", staff: "wu-xiaoli", note: "done\u{7}")
        #expect(command.fieldWithControlCharacters == "note")
    }
}
