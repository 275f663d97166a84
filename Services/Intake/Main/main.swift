import IntakeService
import GridLoopServiceSupport

ConcurrencyExecutor.adoptEventLoops()
try await IntakeApp.main()
