import Hummingbird
import NIOCore

/// The request context of every GridLoop HTTP API: Hummingbird's basics plus the peer's
/// address (the client a rate limit counts when it shows no key).
package struct GridLoopRequestContext: RequestContext, RemoteAddressRequestContext {
    package var coreContext: CoreRequestContextStorage
    package let remoteAddress: SocketAddress?

    package init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The peer's IP address, or `unknown`.
    package var clientAddress: String { remoteAddress?.ipAddress ?? "unknown" }
}
