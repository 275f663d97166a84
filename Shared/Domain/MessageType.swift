/// The message types GridLoop publishes, one constant each (the envelope's `type`).
///
/// Events are facts, named `request.<what happened>`, and travel on the events exchange with
/// their type as routing key. Commands ask the owner of some state to change it.
public enum MessageType {
    /// Command to intake: a submission from the CLI or another system (``SubmissionPayload``).
    public static let submissionCreate = "submission.create"
    /// Intake stored a new request (``RequestReceived``).
    public static let requestReceived = "request.received"
    /// Routing gave the request to a unit (``RequestAssigned``); also the assignment message
    /// on the assignments exchange.
    public static let requestAssigned = "request.assigned"
    /// A staff member took the request (``RequestClaimed``).
    public static let requestClaimed = "request.claimed"
    /// Staff sent the request up to the next tier (``RequestMoved``); an assignment
    /// message for the new unit goes out with it.
    public static let requestEscalated = "request.escalated"
    /// A district assignment missed its deadline: supervisors are alerted (督办); the request
    /// stays open until solved (``RequestOverdue``).
    public static let requestOverdue = "request.overdue"
    /// A street officer summoned departments (吹哨报到), each with its own assignment (``RequestSummoned``).
    public static let requestSummoned = "request.summoned"
    /// A summoned department acknowledged (``SummonsProgress``).
    public static let summonsAcknowledged = "request.summons.acknowledged"
    /// A summoned department reported its part done (``SummonsProgress``); when the last one
    /// does, `request.resolved` follows instead.
    public static let summonsDone = "request.summons.done"
    /// A leader moved the request to another unit of the same tier (``RequestMoved``).
    public static let requestReassigned = "request.reassigned"
    /// Invalid: closed with a reason (``RequestEnded``).
    public static let requestRejected = "request.rejected"
    /// A duplicate: closed into another request (``RequestEnded``).
    public static let requestMerged = "request.merged"
    /// A street officer took a report out of the incident it was linked into (``RequestMoved``):
    /// it is worked on its own again, at `to` (its grid) under a new assignment.
    public static let requestUnlinked = "request.unlinked"
    /// The unit holding a request corrected its category (``RequestRecategorized``), perhaps
    /// following the classifier's suggestion.
    public static let requestRecategorized = "request.recategorized"
    /// "Not ours": sent to the street centre for arbitration (``RequestMoved``).
    public static let requestReturned = "request.returned"
    /// Negative feedback: back to the unit that resolved it, or one tier up on the second
    /// failure (``RequestMoved``).
    public static let requestReopened = "request.reopened"
    /// Positive feedback: the loop is closed (``RequestClosed``).
    public static let requestClosed = "request.closed"
    /// 80% of a deadline has passed: the unit is warned before the breach (``RequestOverdue``,
    /// `dueAt` = the warning time).
    public static let deadlineWarning = "request.deadline.warning"
    /// A `direct` category went straight to its department: its street centre is told (``StreetInformed``).
    public static let streetInformed = "request.street.informed"
    /// The unit reported the request done (``RequestResolved``).
    public static let requestResolved = "request.resolved"
    /// A grid worker logged a household visit (``VisitLogged``), published by `gridloop visit log`.
    public static let visitLogged = "visit.logged"
    /// A street or the district opened a proactive task (未诉先办) for grids (``TaskOpened``).
    public static let taskOpened = "task.opened"
    /// A grid's staff checked a household for a task (``TaskChecked``); a hazard found is a request linked to it.
    public static let taskChecked = "task.checked"
    /// A street or the district published a policy notice to grids (``NoticePublished``).
    public static let noticePublished = "notice.published"
    /// A household was informed of a notice (``NoticeInformed``).
    public static let noticeInformed = "notice.informed"
    /// Send a household a notice by SMS with a confirm link (``NoticeSMS``).
    public static let noticeSMS = "notice.sms"
    /// A grid's notice coverage lags near or after the due day (``NoticeLagging``).
    public static let noticeLagging = "notice.lagging"
    /// A consultation was opened (``ConsultationOpened``).
    public static let consultationOpened = "consultation.opened"
    /// A household's position was recorded (``ConsultationPosition``).
    public static let consultationPosition = "consultation.position"
    /// The residents' representatives' meeting outcome of a consultation was recorded (``ConsultationMeeting``).
    public static let consultationMeeting = "consultation.meeting"
    /// A consultation was closed with its result (``ConsultationClosed``).
    public static let consultationClosed = "consultation.closed"
    /// A micro-wish was collected, adopted, fulfilled or confirmed (``WishChanged``).
    public static let wishChanged = "wish.changed"
    /// A household's month was scored and points earned (``PointsScored``).
    public static let pointsScored = "points.scored"
    /// A household redeemed points for goods (``PointsRedeemed``).
    public static let pointsRedeemed = "points.redeemed"
    /// Goods were donated to a street's love supermarket (``GoodsDonated``).
    public static let goodsDonated = "goods.donated"
    /// Command to routing from staff (``StaffCommand``).
    public static let staffCommand = "staff.command"
    /// The answer to a command that carried reply-to (``CommandReply``).
    public static let commandReply = "command.reply"
}
