import Foundation
import GridLoopDomain
import Logging
import PostgresNIO

/// What intake needs of the org for Open311: the services (one per category), unit names
/// (`agency_responsible`) and the jurisdiction id. Written by `gridloop org import`.
package struct IntakeDirectory: Sendable {
    package struct Service: Sendable, Equatable {
        package var code: String
        package var name: String
        package var description: String
        package var group: String
        package var keywords: String

        package init(code: String, name: String, description: String, group: String, keywords: String) {
            self.code = code
            self.name = name
            self.description = description
            self.group = group
            self.keywords = keywords
        }
    }

    package var jurisdiction: String
    package var services: [Service]
    package var unitNames: [String: String]

    package init(jurisdiction: String, services: [Service], unitNames: [String: String]) {
        self.jurisdiction = jurisdiction
        self.services = services
        self.unitNames = unitNames
    }

    /// Replaces intake's copy in one transaction.
    package func replace(on client: PostgresClient, logger: Logger) async throws {
        try await client.transaction(logger: logger) { [self] connection in
            try await connection.query("DELETE FROM intake.services", logger: logger)
            try await connection.query("DELETE FROM intake.units", logger: logger)
            try await connection.query("DELETE FROM intake.settings", logger: logger)
            for service in services {
                try await connection.query(
                    """
                    INSERT INTO intake.services (code, name, description, grp, keywords)
                    VALUES (\(service.code), \(service.name), \(service.description), \(service.group), \(service.keywords))
                    """,
                    logger: logger
                )
            }
            for (ref, name) in unitNames {
                try await connection.query("INSERT INTO intake.units (ref, name) VALUES (\(ref), \(name))", logger: logger)
            }
            try await connection.query("INSERT INTO intake.settings (id, jurisdiction) VALUES (1, \(jurisdiction))", logger: logger)
        }
    }

    static func load(from postgres: PostgresClient, logger: Logger) async throws -> IntakeDirectory {
        let services = try await postgres.query("SELECT code, name, description, grp, keywords FROM intake.services ORDER BY code", logger: logger)
            .collect()
            .map { try $0.decode((String, String, String, String, String).self) }.map {
                Service(code: $0.0, name: $0.1, description: $0.2, group: $0.3, keywords: $0.4)
            }
        var names: [String: String] = [:]
        for try await (ref, name) in try await postgres.query("SELECT ref, name FROM intake.units", logger: logger).decode((String, String).self) {
            names[ref] = name
        }
        let jurisdiction =
            try await postgres.query("SELECT jurisdiction FROM intake.settings WHERE id = 1", logger: logger).collect().first?.decode(String.self)
            ?? ""
        return IntakeDirectory(jurisdiction: jurisdiction, services: services, unitNames: names)
    }
}

/// Intake client API keys, stored hashed.
package struct APIKeys: Sendable {
    package let postgres: PostgresClient

    package init(postgres: PostgresClient) {
        self.postgres = postgres
    }

    /// Creates a key for `name`; returns its id and the key (shown once).
    package func create(name: String, logger: Logger) async throws -> (id: String, key: String) {
        let (id, key) = APIKey.generate()
        try await postgres.query("INSERT INTO intake.api_keys (id, name, key_hash) VALUES (\(id), \(name), \(APIKey.hash(key)))", logger: logger)
        return (id, key)
    }

    /// Revokes a key; `false` if there is no such live key.
    package func revoke(id: String, logger: Logger) async throws -> Bool {
        try await postgres.query("UPDATE intake.api_keys SET revoked_at = now() WHERE id = \(id) AND revoked_at IS NULL RETURNING id", logger: logger)
            .collect().count == 1
    }

    /// Every key: id, name, created, revoked.
    package func list(logger: Logger) async throws -> [(String, String, Date, Date?)] {
        try await postgres.query("SELECT id, name, created_at, revoked_at FROM intake.api_keys ORDER BY created_at", logger: logger).collect()
            .map { try $0.decode((String, String, Date, Date?).self) }
    }

    /// The id of a live key, or `nil`.
    func verify(_ key: String, logger: Logger) async throws -> String? {
        try await postgres.query("SELECT id FROM intake.api_keys WHERE key_hash = \(APIKey.hash(key)) AND revoked_at IS NULL", logger: logger)
            .collect().first?.decode(String.self)
    }
}
