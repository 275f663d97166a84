import GridLoopServiceSupport
import ReportingService

ConcurrencyExecutor.adoptEventLoops()
try await ReportingApp.main()
