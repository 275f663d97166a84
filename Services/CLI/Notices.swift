import ArgumentParser
import Foundation

// STUB — to be replaced by the part's implementation.
struct Notices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "notices", abstract: "(not yet)")
}
