import GridLoopDomain

extension ReportingDirectory {
    /// Reporting's part of `gridloop org import`: unit names, each grid's street, households and
    /// population (duties and subsidies), staff roles and units, the time zone. Stored with
    /// `replace(on:logger:)`.
    package init(org: OrgFile) {
        var units = [
            Unit(ref: "\(OrgFile.triageDesk)", name: OrgFile.triageDeskName, street: nil, households: 0, population: 0),
            Unit(ref: "oversight:\(org.district.id)", name: org.district.name, street: nil, households: 0, population: 0),
        ]
        units += org.streets.map { Unit(ref: "street:\($0.id)", name: $0.name, street: $0.id, households: 0, population: 0) }
        units += org.grids.map { Unit(ref: "grid:\($0.id)", name: $0.name, street: $0.street, households: $0.households, population: $0.population) }
        units += org.departments.map { Unit(ref: "district:\($0.id)", name: $0.name, street: nil, households: 0, population: 0) }
        self.init(
            units: units,
            staff: (org.staff ?? []).map { Staff(id: $0.id, name: $0.name, role: $0.role, unit: $0.unit) },
            utcOffset: org.utcOffset
        )
    }
}
