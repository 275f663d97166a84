/// What staff pages read of the organisation from routing (which owns it): `GET /v1/org` for
/// pickers (streets, grids, categories) and `GET /v1/org/grids/{grid}` for one grid's sheet
/// (its staff with their work phones and its households: the submit form's household picker,
/// the door plates).
public enum OrgSheets {
    /// `GET /v1/org`.
    public struct Summary: Codable, Sendable, Equatable {
        public struct Street: Codable, Sendable, Equatable {
            public var id: String
            public var name: String
            public var kind: String

            public init(id: String, name: String, kind: String) {
                self.id = id
                self.name = name
                self.kind = kind
            }
        }

        public struct Grid: Codable, Sendable, Equatable {
            public var id: String
            public var name: String
            public var street: String
            public var kind: String

            public init(id: String, name: String, street: String, kind: String) {
                self.id = id
                self.name = name
                self.street = street
                self.kind = kind
            }
        }

        public struct Category: Codable, Sendable, Equatable {
            public var id: String
            /// The department that settles it.
            public var department: String
            public var departmentName: String

            public init(id: String, department: String, departmentName: String) {
                self.id = id
                self.department = department
                self.departmentName = departmentName
            }
        }

        public var district: String
        public var streets: [Street]
        public var grids: [Grid]
        public var categories: [Category]

        public init(district: String, streets: [Street], grids: [Grid], categories: [Category]) {
            self.district = district
            self.streets = streets
            self.grids = grids
            self.categories = categories
        }
    }

    /// `GET /v1/org/grids/{grid}`.
    public struct Grid: Codable, Sendable, Equatable {
        public struct Person: Codable, Sendable, Equatable {
            public var id: String
            public var name: String
            public var role: String
            /// The work phone from the org file (printed on the door plates), if any.
            public var phone: String?

            public init(id: String, name: String, role: String, phone: String? = nil) {
                self.id = id
                self.name = name
                self.role = role
                self.phone = phone
            }
        }

        public struct Household: Codable, Sendable, Equatable {
            public var id: String
            public var address: String

            public init(id: String, address: String) {
                self.id = id
                self.address = address
            }
        }

        public var id: String
        public var name: String
        public var street: String
        public var streetName: String
        public var kind: String
        /// Households and people as the org file counts them (the listed households may be fewer).
        public var householdCount: Int
        public var population: Int
        /// The grid's staff: grid workers and leaders.
        public var staff: [Person]
        public var households: [Household]

        public init(
            id: String,
            name: String,
            street: String,
            streetName: String,
            kind: String,
            householdCount: Int,
            population: Int,
            staff: [Person],
            households: [Household]
        ) {
            self.id = id
            self.name = name
            self.street = street
            self.streetName = streetName
            self.kind = kind
            self.householdCount = householdCount
            self.population = population
            self.staff = staff
            self.households = households
        }
    }
}
