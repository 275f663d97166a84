import GridLoopDomain

extension IntakeDirectory {
    /// Intake's part of `gridloop org import`, what its Open311 API needs: one service per
    /// category (grouped by department), unit names for `agency_responsible`, the district id as
    /// jurisdiction. Stored with `replace(on:logger:)`.
    package init(org: OrgFile) {
        let services = org.departments.flatMap { department in
            department.categories.map { category in
                Service(
                    code: category,
                    name: "\(CategoryNames.label(category, language: "zh")) \(CategoryNames.label(category, language: "en"))",
                    description: "\(CategoryNames.label(category, language: "zh"))（\(department.name)）",
                    group: department.name,
                    keywords: [category, department.id].joined(separator: ",")
                )
            }
        }.sorted { $0.code < $1.code }
        var names = org.unitNames
        names["\(OrgFile.triageDesk)"] = OrgFile.triageDeskName
        self.init(jurisdiction: org.district.id, services: services, unitNames: names)
    }
}
