import RoutingService

try await RoutingApp.main()
