import GridLoopDomain

extension DirectorySnapshot {
    /// Notification's part of `gridloop org import`: staff and how to reach them, unit names,
    /// which grid each household is in, urgent categories, the district's time zone. Stored with
    /// `Directory().replace(with:on:logger:)`.
    package init(org: OrgFile) {
        var households: [String: String] = [:]
        for household in org.households ?? [] { households[household.id] = household.grid }
        let staff = (org.staff ?? []).map { member in
            Staff(
                id: member.id,
                name: member.name,
                role: member.role,
                unit: member.unit,
                language: member.language,
                email: member.email,
                phone: member.phone,
                webhook: member.webhook,
                quietHours: member.quietHours,
                digestSeconds: member.digest.flatMap(SLAPolicy.parseDuration).map { Int($0.wholeSeconds) }
            )
        }
        self.init(staff: staff, unitNames: org.unitNames, households: households, urgentCategories: org.urgentCategories, utcOffset: org.utcOffset)
    }
}
