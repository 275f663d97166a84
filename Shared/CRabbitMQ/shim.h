#ifndef GRIDLOOP_CRABBITMQ_SHIM_H
#define GRIDLOOP_CRABBITMQ_SHIM_H

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <amqp_ssl_socket.h>
#include <stdlib.h>
#include <string.h>

/// `amqp_login_with_properties` is variadic, which Swift cannot call: a fixed PLAIN login.
static inline amqp_rpc_reply_t gridloop_amqp_login_plain(
    amqp_connection_state_t state, const char *vhost, int channel_max, int frame_max,
    int heartbeat, const amqp_table_t *properties, const char *user, const char *password) {
    return amqp_login_with_properties(state, vhost, channel_max, frame_max, heartbeat,
                                      properties, AMQP_SASL_METHOD_PLAIN, user, password);
}

/// Copies `len` bytes into library-owned memory (free with `amqp_bytes_free`).
static inline amqp_bytes_t gridloop_amqp_bytes_copy(const void *data, size_t len) {
    amqp_bytes_t out;
    out.len = len;
    out.bytes = len == 0 ? NULL : malloc(len);
    if (len != 0 && out.bytes == NULL) { out.len = 0; return out; }
    if (len != 0) memcpy(out.bytes, data, len);
    return out;
}

/// Method ids and property flags as typed constants (the headers' cast macros do not import).
static const amqp_method_number_t GL_BASIC_ACK = AMQP_BASIC_ACK_METHOD;
static const amqp_method_number_t GL_BASIC_NACK = AMQP_BASIC_NACK_METHOD;
static const amqp_method_number_t GL_BASIC_RETURN = AMQP_BASIC_RETURN_METHOD;
static const amqp_method_number_t GL_BASIC_DELIVER = AMQP_BASIC_DELIVER_METHOD;
static const amqp_method_number_t GL_BASIC_CANCEL = AMQP_BASIC_CANCEL_METHOD;
static const amqp_method_number_t GL_BASIC_GET_OK = AMQP_BASIC_GET_OK_METHOD;
static const amqp_method_number_t GL_BASIC_GET_EMPTY = AMQP_BASIC_GET_EMPTY_METHOD;
static const amqp_method_number_t GL_CHANNEL_CLOSE = AMQP_CHANNEL_CLOSE_METHOD;
static const amqp_method_number_t GL_CONNECTION_CLOSE = AMQP_CONNECTION_CLOSE_METHOD;
static const amqp_method_number_t GL_CONNECTION_BLOCKED = AMQP_CONNECTION_BLOCKED_METHOD;
static const amqp_method_number_t GL_CONNECTION_UNBLOCKED = AMQP_CONNECTION_UNBLOCKED_METHOD;
static const amqp_method_number_t GL_CHANNEL_CLOSE_OK = AMQP_CHANNEL_CLOSE_OK_METHOD;
static const amqp_method_number_t GL_CONNECTION_CLOSE_OK = AMQP_CONNECTION_CLOSE_OK_METHOD;

static const amqp_flags_t GL_FLAG_CONTENT_TYPE = AMQP_BASIC_CONTENT_TYPE_FLAG;
static const amqp_flags_t GL_FLAG_HEADERS = AMQP_BASIC_HEADERS_FLAG;
static const amqp_flags_t GL_FLAG_DELIVERY_MODE = AMQP_BASIC_DELIVERY_MODE_FLAG;
static const amqp_flags_t GL_FLAG_CORRELATION_ID = AMQP_BASIC_CORRELATION_ID_FLAG;
static const amqp_flags_t GL_FLAG_REPLY_TO = AMQP_BASIC_REPLY_TO_FLAG;
static const amqp_flags_t GL_FLAG_MESSAGE_ID = AMQP_BASIC_MESSAGE_ID_FLAG;
static const amqp_flags_t GL_FLAG_TIMESTAMP = AMQP_BASIC_TIMESTAMP_FLAG;
static const amqp_flags_t GL_FLAG_TYPE = AMQP_BASIC_TYPE_FLAG;
static const amqp_flags_t GL_FLAG_APP_ID = AMQP_BASIC_APP_ID_FLAG;

/// Answers a server's channel.close / connection.close so the peer sees a clean close.
static inline int gridloop_amqp_send_channel_close_ok(amqp_connection_state_t state, amqp_channel_t channel) {
    amqp_channel_close_ok_t ok = {0};
    return amqp_send_method(state, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
}
static inline int gridloop_amqp_send_connection_close_ok(amqp_connection_state_t state) {
    amqp_connection_close_ok_t ok = {0};
    return amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
}

#endif
