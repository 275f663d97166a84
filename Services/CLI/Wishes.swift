import ArgumentParser
import Foundation

// STUB — to be replaced by the part's implementation.
struct Wishes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "wishes", abstract: "(not yet)")
}
