import GridLoopAuth

/// A refusal's stable code, on the wire as its text (``CommandReply/code``, problem JSON's
/// `code`). A struct with static members in the style of postgres-nio's `PSQLError.Code`: the
/// set can grow without breaking callers, and a misspelt code does not compile.
package struct RefusalCode: Hashable, Sendable, CustomStringConvertible {
    private enum Base: String, Sendable {
        case conflict
        case validationFailed = "validation_failed"
        case notFound = "not_found"
        case forbidden
        case unauthenticated
        case noRoute = "no_route"
    }

    private let base: Base

    private init(_ base: Base) { self.base = base }

    /// The request is not in a state where the command makes sense (or changed meanwhile).
    package static let conflict = RefusalCode(.conflict)
    /// The command lacks something it needs (a reason, a target, a department).
    package static let validationFailed = RefusalCode(.validationFailed)
    /// No such request.
    package static let notFound = RefusalCode(.notFound)
    /// The actor may not do this to this request.
    package static let forbidden = RefusalCode(.forbidden)
    /// No token, or one that proves nobody.
    package static let unauthenticated = RefusalCode(.unauthenticated)
    /// The org data names no unit to send the request to.
    package static let noRoute = RefusalCode(.noRoute)

    /// The code for an authentication failure of `kind`.
    package init(authFailure kind: AuthFailure.Kind) {
        switch kind {
        case .unauthenticated: self = .unauthenticated
        case .forbidden: self = .forbidden
        }
    }

    /// The code as sent (`validation_failed`, …).
    package var description: String { base.rawValue }
}

/// A staff command that is valid but not allowed now: it changes nothing, and its sender is
/// answered with the code and the reason.
package struct CommandRefused: Error, Equatable {
    package var code: RefusalCode
    package var message: String

    package init(_ code: RefusalCode, _ message: String) {
        self.code = code
        self.message = message
    }
}
