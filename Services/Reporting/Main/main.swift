import ReportingService

try await ReportingApp.main()
