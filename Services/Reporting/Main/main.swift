import ReportingService
import GridLoopServiceSupport

ConcurrencyExecutor.adoptEventLoops()
try await ReportingApp.main()
