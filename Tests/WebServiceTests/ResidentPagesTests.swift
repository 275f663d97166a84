import GridLoopDomain
import Testing
import WebService

/// What a resident reads on the status page: the loop's steps, the state in a sentence, the
/// trail's events in words.
@Suite("Resident pages: progress in words")
struct ResidentPagesTests {
    /// The step each state stands at (0 received … 3 closed).
    static let expectedStep: [RequestState: Int] = [
        .received: 0, .assigned: 1, .claimed: 1, .resolved: 2, .closed: 3, .rejected: 3, .merged: 1,
    ]

    func flags(_ state: RequestState, _ key: String, language: String = "zh") -> [Bool] {
        ResidentProgress.steps(state, language: language).map { $0[key] as? Bool ?? false }
    }

    @Test("every state has exactly one current step, the steps before it done and none after", arguments: RequestState.allCases)
    func oneCurrentStep(state: RequestState) throws {
        for language in ["zh", "en"] {
            let steps = ResidentProgress.steps(state, language: language)
            #expect(steps.count == 4)
            let current = flags(state, "current", language: language)
            let done = flags(state, "done", language: language)
            #expect(current.filter { $0 }.count == 1)
            let index = try #require(current.firstIndex(of: true))
            #expect(index == Self.expectedStep[state])
            #expect(done == (0..<4).map { $0 < index }, "done before the current step, not at or after it")
        }
    }

    @Test("received, being handled and resolved are the first three steps")
    func openStates() {
        #expect(flags(.received, "current") == [true, false, false, false])
        #expect(flags(.assigned, "current") == [false, true, false, false])
        #expect(flags(.claimed, "current") == [false, true, false, false])
        #expect(flags(.resolved, "current") == [false, false, true, false])
        #expect(flags(.resolved, "done") == [true, true, false, false])
    }

    @Test(
        "closed and rejected stand at the last step (a merged report is handled with the one it joined)",
        arguments: [RequestState.closed, .rejected]
    )
    func endStates(state: RequestState) {
        #expect(flags(state, "current") == [false, false, false, true])
        #expect(flags(state, "done") == [true, true, true, false])
    }

    @Test("the steps are named in the page's language")
    func stepNames() {
        let zh = ResidentProgress.steps(.claimed, language: "zh").compactMap { $0["name"] as? String }
        let en = ResidentProgress.steps(.claimed, language: "en").compactMap { $0["name"] as? String }
        #expect(zh == ["已受理", "办理中", "已办结，待您评价", "已结案"])
        #expect(en == ["Received", "Being handled", "Solved, awaiting your verdict", "Closed"])
    }

    @Test("every state has a zh and an en sentence, not empty and not the same", arguments: RequestState.allCases)
    func sentences(state: RequestState) {
        let zh = ResidentProgress.sentence(state, language: "zh")
        let en = ResidentProgress.sentence(state, language: "en")
        #expect(!zh.isEmpty && !en.isEmpty)
        #expect(zh != en)
    }

    @Test("each state's sentence is its own, in each language")
    func sentencesDistinct() {
        for language in ["zh", "en"] {
            let all = RequestState.allCases.map { ResidentProgress.sentence($0, language: language) }
            #expect(Set(all).count == RequestState.allCases.count)
        }
        #expect(ResidentProgress.sentence(.resolved, language: "en") == "Solved. Please tell us whether you are satisfied.")
        #expect(ResidentProgress.sentence(.closed, language: "zh") == "已结案。")
    }

    @Test("known trail events are put in words in both languages")
    func eventSentences() {
        #expect(ResidentProgress.eventSentence("request.resolved", language: "en") == "Solved")
        #expect(ResidentProgress.eventSentence("request.resolved", language: "zh") == "已办结")
        #expect(ResidentProgress.eventSentence("request.received", language: "zh") == "您的反映已受理")
        #expect(ResidentProgress.eventSentence("request.reopened", language: "en") == "Reopened to be handled again")
    }

    @Test("an unknown event type comes back as itself, in either language")
    func unknownEvent() {
        #expect(ResidentProgress.eventSentence("request.teleported", language: "en") == "request.teleported")
        #expect(ResidentProgress.eventSentence("request.teleported", language: "zh") == "request.teleported")
        #expect(ResidentProgress.eventSentence("", language: "en") == "")
    }
}
