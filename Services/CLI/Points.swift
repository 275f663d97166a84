import ArgumentParser
import Foundation

// STUB — to be replaced by the part's implementation.
struct Points: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "points", abstract: "(not yet)")
}
