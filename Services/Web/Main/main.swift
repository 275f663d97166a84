import GridLoopServiceSupport
import WebService

ConcurrencyExecutor.adoptEventLoops()
try await WebApp.main()
