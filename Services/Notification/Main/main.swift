import NotificationService
import GridLoopServiceSupport

ConcurrencyExecutor.adoptEventLoops()
try await NotificationApp.main()
