import Foundation
import Mustache

/// A rendered notification: the first line of a template is the subject (and the whole SMS),
/// the rest the body.
package struct RenderedMessage: Sendable, Equatable, Codable {
    package var subject: String
    package var body: String
}

/// The message templates, rendered with Mustache as plain text (no HTML escaping). Files are
/// `<template>.<language>.mustache`; the built-in set ships in `Templates/` and any file in
/// the override directory (`NOTIFICATION_TEMPLATES_DIR`) replaces the built-in one of that name.
package struct NotificationTemplates: Sendable {
    package static let languages = ["zh", "en"]
    package static let defaultLanguage = "zh"

    private let library: MustacheLibrary
    private let names: Set<String>

    package init(files: [String: String]) throws {
        var library = MustacheLibrary()
        for (name, text) in files {
            do {
                try library.register("{{% CONTENT_TYPE: TEXT}}" + text, named: name)
            } catch {
                throw TemplatesInvalid(reason: "\(name).mustache: \(error)")
            }
        }
        self.library = library
        self.names = Set(files.keys)
    }

    /// The built-in templates with the files of `overrideDirectory` on top.
    package static func load(overrideDirectory: String?) throws -> NotificationTemplates {
        var files: [String: String] = [:]
        for directory in [builtInDirectory, overrideDirectory].compactMap({ $0 }) {
            for (name, text) in try readTemplates(in: directory) { files[name] = text }
        }
        return try NotificationTemplates(files: files)
    }

    /// The built-in rules (`Templates/rules.yaml`).
    package static func builtInRules() throws -> String {
        guard let directory = builtInDirectory else { throw TemplatesInvalid(reason: "the built-in templates are missing from the installation") }
        return try String(contentsOfFile: directory + "/rules.yaml", encoding: .utf8)
    }

    /// The built-in rules of the community events (`Templates/community-rules.yaml`).
    package static func builtInCommunityRules() throws -> String {
        guard let directory = builtInDirectory else { throw TemplatesInvalid(reason: "the built-in templates are missing from the installation") }
        return try String(contentsOfFile: directory + "/community-rules.yaml", encoding: .utf8)
    }

    static var builtInDirectory: String? {
        Bundle.module.resourceURL.map { $0.appendingPathComponent("Templates").path }
    }

    private static func readTemplates(in directory: String) throws -> [String: String] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw TemplatesInvalid(reason: "cannot read the template directory \(directory): \(error.localizedDescription)")
        }
        var files: [String: String] = [:]
        for name in names where name.hasSuffix(".mustache") {
            files[String(name.dropLast(".mustache".count))] = try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
        }
        return files
    }

    /// Checks that every template the rules name exists in the default language (others fall
    /// back to it), plus the digest template.
    package func check(_ rules: NotificationRules) throws {
        let missing = (rules.templates.union(["digest"])).filter { !names.contains("\($0).\(Self.defaultLanguage)") }.sorted()
        guard missing.isEmpty else {
            throw TemplatesInvalid(
                reason:
                    "no \(Self.defaultLanguage) template for \(missing.joined(separator: ", ")) (expected files like \(missing[0]).\(Self.defaultLanguage).mustache)"
            )
        }
    }

    /// Renders `template` in `language` (falling back to the default language).
    package func render(_ template: String, language: String, context: [String: Any]) -> RenderedMessage? {
        let name = names.contains("\(template).\(language)") ? "\(template).\(language)" : "\(template).\(Self.defaultLanguage)"
        guard let text = library.render(context, withTemplate: name) else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let lines = trimmed.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        let subject = String(lines.first ?? "").trimmingCharacters(in: .whitespaces)
        let rest = lines.count > 1 ? String(lines[1]).trimmingCharacters(in: .whitespacesAndNewlines) : ""
        return RenderedMessage(subject: subject, body: rest.isEmpty ? subject : rest)
    }
}

/// Templates that cannot be used.
package struct TemplatesInvalid: Error, CustomStringConvertible {
    package var reason: String
    package var description: String { "notification templates: \(reason)" }
}
