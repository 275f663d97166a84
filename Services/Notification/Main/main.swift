import GridLoopServiceSupport
import NotificationService

ConcurrencyExecutor.adoptEventLoops()
try await NotificationApp.main()
