import Foundation
import GridLoopDomain
import NIOCore
import PostgresNIO

/// A request id is bound and read as PostgreSQL's `uuid`, as its UUID is.
extension RequestID: PostgresNonThrowingEncodable, PostgresDecodable {
    public static var psqlType: PostgresDataType { UUID.psqlType }
    public static var psqlFormat: PostgresFormat { UUID.psqlFormat }

    public func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        uuid.encode(into: &byteBuffer, context: context)
    }

    public init<JSONDecoder: PostgresJSONDecoder>(
        from buffer: inout ByteBuffer,
        type: PostgresDataType,
        format: PostgresFormat,
        context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        self.init(try UUID(from: &buffer, type: type, format: format, context: context))
    }
}
