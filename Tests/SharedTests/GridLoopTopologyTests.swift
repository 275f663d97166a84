import GridLoopAMQP
import GridLoopDomain
import GridLoopServiceSupport
import Testing

@Suite("The broker topology")
struct GridLoopTopologyTests {
    @Test("intake's events queue is bound to every request event but request.received, and drops the old request.# binding")
    func intakeEventsBindings() {
        let topology = GridLoopTopology.intakeEvents
        let keys = Set(topology.bindings.filter { $0.queue == GridLoopQueue.intakeEvents }.map(\.routingKey))
        let expected = Set(RequestEvent.types.filter { $0.hasPrefix("request.") && $0 != MessageType.requestReceived })
        #expect(keys == expected)
        #expect(!keys.contains(MessageType.requestReceived))
        #expect(topology.unbindings == [.init(queue: GridLoopQueue.intakeEvents, exchange: GridLoopExchange.events, routingKey: "request.#")])
        #expect(GridLoopTopology.services.unbindings == topology.unbindings, "declared with the rest of the services' topology")
    }
}
