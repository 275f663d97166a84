import NotificationService

try await NotificationApp.main()
