import GridLoopServiceSupport
import RoutingService

ConcurrencyExecutor.adoptEventLoops()
try await RoutingApp.main()
