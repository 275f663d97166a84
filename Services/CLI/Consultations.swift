import ArgumentParser
import Foundation

// STUB — to be replaced by the part's implementation.
struct Consultations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "consultations", abstract: "(not yet)")
}
