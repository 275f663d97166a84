import GridLoopServiceSupport
import IntakeService

ConcurrencyExecutor.adoptEventLoops()
try await IntakeApp.main()
