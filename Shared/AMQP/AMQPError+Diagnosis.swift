import CRabbitMQ
import GridLoopDomain

extension AMQPError {
    /// librabbitmq's TLS statuses: the handshake or the certificate check failed.
    private static let tlsStatuses: Set<Int32> = [
        AMQP_STATUS_SSL_ERROR.rawValue, AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED.rawValue,
        AMQP_STATUS_SSL_PEER_VERIFY_FAILED.rawValue, AMQP_STATUS_SSL_CONNECTION_FAILED.rawValue,
    ]

    /// Whether waiting and trying again can help: `false` for a login or vhost the broker
    /// refuses, a certificate it will not accept, a vhost without GridLoop's topology.
    package var isPermanent: Bool {
        switch kind {
        case .invalidURL, .topologyMissing: return true
        case .connectionFailed:
            return code == Int32(AMQP_ACCESS_REFUSED) || code == Int32(AMQP_NOT_ALLOWED) || code == Int32(AMQP_NOT_FOUND)
                || Self.tlsStatuses.contains(code)
        default: return false
        }
    }

    /// What this failure means for someone running GridLoop against `options`' broker, and
    /// what to change.
    package func diagnosis(options: AMQPOptions) -> DependencyFailure {
        let url = options.url
        let target = "\(url)"
        func failure(_ reason: String, fix: String) -> DependencyFailure {
            DependencyFailure(dependency: "broker", target: target, reason: reason, permanent: isPermanent, fix: fix)
        }
        switch kind {
        case .invalidURL:
            return failure(reason, fix: "set AMQP_URL to amqp://user:password@host:5672/vhost")
        case .topologyMissing:
            return failure(reason, fix: "point AMQP_URL at the vhost GridLoop's services use (they declare it when they start), or start them")
        case .connectionFailed where code == Int32(AMQP_ACCESS_REFUSED):
            return failure(
                "the broker refused the login of '\(url.user)' (ACCESS_REFUSED): \(serverText)",
                fix: "check the user and password in AMQP_URL"
            )
        case .connectionFailed where code == Int32(AMQP_NOT_ALLOWED):
            return failure(
                "the broker does not let '\(url.user)' open vhost '\(url.vhost)' (NOT_ALLOWED): \(serverText)",
                fix: "check the vhost in AMQP_URL (it must exist and '\(url.user)' must have permissions on it)"
            )
        case .connectionFailed where Self.tlsStatuses.contains(code):
            return failure(
                "the TLS handshake failed: \(serverText)",
                fix: options.tlsVerify
                    ? "AMQP_TLS_CA_FILE must name the CA that signed the broker's certificate, and the host in AMQP_URL must be the one the certificate names"
                    : "check that the broker speaks TLS on this port"
            )
        case .connectionFailed where code == AMQP_STATUS_HOSTNAME_RESOLUTION_FAILED.rawValue:
            return failure("cannot resolve the broker's host name '\(url.host)'", fix: "check the host in AMQP_URL")
        case .connectionFailed, .connectionClosed, .notConnected, .timeout:
            return failure(
                "cannot connect (\(serverText)); is RabbitMQ running and listening there?",
                fix: "start the broker, or check the host and port in AMQP_URL"
            )
        case .serverRefused, .library, .consumerCancelled, .shutdown:
            return failure(serverText, fix: "see the broker's log")
        }
    }

    /// The reason without the wrapper's own context prefix (`login to vhost …: `).
    private var serverText: String {
        guard let colon = reason.range(of: ": ") else { return reason }
        return String(reason[colon.upperBound...])
    }
}
