import Configuration
import GridLoopDomain

extension DataProtector {
    /// Reads `GRIDLOOP_DATA_KEY` (required: 32 bytes, 64 hex digits or base64) and
    /// `GRIDLOOP_DATA_PREVIOUS_KEY` (optional, while `gridloop data rekey` rotates).
    package static func fromConfiguration(_ reader: ConfigReader) throws -> DataProtector {
        guard let key = reader.string(forKey: "gridloop.data.key", isSecret: true), !key.isEmpty else {
            throw DataKeyError("GRIDLOOP_DATA_KEY is not set: residents' phones are sealed with it (generate one with `openssl rand -hex 32`)")
        }
        return try DataProtector(key: key, previousKey: reader.string(forKey: "gridloop.data.previous.key", isSecret: true))
    }
}
