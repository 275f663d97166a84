import CRabbitMQ

/// A value in an AMQP field table (queue arguments, headers, client properties).
enum AMQPFieldValue {
    case string(String)
    case bool(Bool)
    case int(Int64)
    case table([(String, AMQPFieldValue)])
}

/// Owns the C memory behind tables and byte strings handed to librabbitmq for one call.
///
/// librabbitmq keeps no reference after a call returns, so everything is freed by ``release()``.
final class AMQPArena {
    private var blocks: [UnsafeMutableRawPointer] = []
    private var tables: [UnsafeMutablePointer<amqp_table_entry_t>] = []

    /// A library-owned copy of `text`.
    func bytes(_ text: String) -> amqp_bytes_t {
        var text = text
        let copy = text.withUTF8 { buffer in gridloop_amqp_bytes_copy(buffer.baseAddress, buffer.count) }
        if let pointer = copy.bytes { blocks.append(pointer) }
        return copy
    }

    /// A library-owned copy of `data`.
    func bytes(_ data: [UInt8]) -> amqp_bytes_t {
        let copy = data.withUnsafeBytes { buffer in gridloop_amqp_bytes_copy(buffer.baseAddress, buffer.count) }
        if let pointer = copy.bytes { blocks.append(pointer) }
        return copy
    }

    /// A table whose memory lives until ``release()``.
    func table(_ entries: [(String, AMQPFieldValue)]) -> amqp_table_t {
        guard !entries.isEmpty else { return amqp_empty_table }
        let storage = UnsafeMutablePointer<amqp_table_entry_t>.allocate(capacity: entries.count)
        tables.append(storage)
        for (index, (key, value)) in entries.enumerated() {
            var entry = amqp_table_entry_t()
            entry.key = bytes(key)
            entry.value = field(value)
            (storage + index).initialize(to: entry)
        }
        return amqp_table_t(num_entries: Int32(entries.count), entries: storage)
    }

    private func field(_ value: AMQPFieldValue) -> amqp_field_value_t {
        var field = amqp_field_value_t()
        switch value {
        case .string(let text):
            field.kind = UInt8(AMQP_FIELD_KIND_UTF8.rawValue)
            field.value.bytes = bytes(text)
        case .bool(let flag):
            field.kind = UInt8(AMQP_FIELD_KIND_BOOLEAN.rawValue)
            field.value.boolean = flag ? 1 : 0
        case .int(let number):
            field.kind = UInt8(AMQP_FIELD_KIND_I64.rawValue)
            field.value.i64 = number
        case .table(let entries):
            field.kind = UInt8(AMQP_FIELD_KIND_TABLE.rawValue)
            field.value.table = table(entries)
        }
        return field
    }

    /// Frees everything this arena handed out.
    func release() {
        for block in blocks { free(block) }
        for table in tables { table.deallocate() }
        blocks.removeAll()
        tables.removeAll()
    }

    deinit { release() }
}

extension amqp_bytes_t {
    /// The bytes as a Swift string (lossy UTF-8), or `""` when empty.
    var string: String {
        guard len > 0, let bytes else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: len), as: UTF8.self)
    }

    /// The bytes copied into an array.
    var array: [UInt8] {
        guard len > 0, let bytes else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: len))
    }
}

extension amqp_table_t {
    /// Entries rendered as strings (numbers and booleans spelled out; nested tables skipped).
    var stringValues: [String: String] {
        var result: [String: String] = [:]
        guard num_entries > 0, let entries else { return result }
        for index in 0..<Int(num_entries) {
            let entry = entries[index]
            let value = entry.value
            let text: String? =
                switch Int32(value.kind) {
                case Int32(AMQP_FIELD_KIND_UTF8.rawValue), Int32(AMQP_FIELD_KIND_BYTES.rawValue): value.value.bytes.string
                case Int32(AMQP_FIELD_KIND_BOOLEAN.rawValue): value.value.boolean != 0 ? "true" : "false"
                case Int32(AMQP_FIELD_KIND_I8.rawValue): String(value.value.i8)
                case Int32(AMQP_FIELD_KIND_U8.rawValue): String(value.value.u8)
                case Int32(AMQP_FIELD_KIND_I16.rawValue): String(value.value.i16)
                case Int32(AMQP_FIELD_KIND_U16.rawValue): String(value.value.u16)
                case Int32(AMQP_FIELD_KIND_I32.rawValue): String(value.value.i32)
                case Int32(AMQP_FIELD_KIND_U32.rawValue): String(value.value.u32)
                case Int32(AMQP_FIELD_KIND_I64.rawValue): String(value.value.i64)
                case Int32(AMQP_FIELD_KIND_U64.rawValue): String(value.value.u64)
                default: nil
                }
            if let text { result[entry.key.string] = text }
        }
        return result
    }
}
