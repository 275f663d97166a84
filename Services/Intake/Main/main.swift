import IntakeService

try await IntakeApp.main()
