import RoutingService
import GridLoopServiceSupport

ConcurrencyExecutor.adoptEventLoops()
try await RoutingApp.main()
