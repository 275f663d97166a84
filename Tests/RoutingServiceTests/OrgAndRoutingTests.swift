import Foundation
import GridLoopDomain
import RoutingService
import Testing

@Suite("Org file and first assignment")
struct OrgAndRoutingTests {
    static let demoPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../deploy/demo-org.yaml")
        .standardized.path

    @Test func theDemoOrgIsValidAndDrawnFromTheSeed() throws {
        let org = try OrgFile.parse(String(contentsOfFile: Self.demoPath, encoding: .utf8))
        #expect(org.validate() == [])
        #expect(org.district.name == "沾益区")
        #expect(Set(org.streets.map(\.name)) == ["西平街道", "龙华街道", "菱角乡", "德泽乡"])
        let guanghua = try #require(org.grids.first { $0.id == "guanghua-3" })
        #expect(guanghua.households == 20)
        #expect(org.households?.filter { $0.grid == "guanghua-3" }.count == 20)
        #expect(org.departments.first { $0.id == "power-supply" }?.categories.contains("power") == true)
        #expect(org.units.contains(try UnitRef(parsing: "district:power-supply")))
        #expect(org.units.contains(RoutingRules.triage))
    }

    @Test func validationNamesEachProblem() throws {
        let yaml = """
            district: { id: zhanyi, name: 沾益区 }
            streets: [ { id: xiping, name: 西平街道, kind: city } ]
            grids:
              - { id: g1, name: a, street: nowhere, kind: palace, households: 20, population: 50 }
              - { id: g1, name: b, street: xiping, kind: residents, households: 20, population: 50 }
            households: [ { id: h1, grid: g9, address: "1号" } ]
            departments:
              - { id: power-supply, name: 供电, categories: [power] }
              - { id: water, name: 水务, categories: [power] }
            staff: [ { id: s1, name: x, role: mayor, unit: "grid:g7" } ]
            """
        let problems = try OrgFile.parse(yaml).validate()
        let expected = [
            "grids[1].id: 'g1' appears twice",
            "streets[0].kind: 'city' is not one of street, township",
            "grids[0].street: unknown street 'nowhere'",
            "grids[0].kind: 'palace' is not one of compound, enterprises, institutions, merchants, residents",
            "households[0].grid: unknown grid 'g9'",
            "departments[1].categories: 'power' is already handled by 'power-supply'",
            "staff[0].role: 'mayor' is not one of department-officer, grid-leader, grid-worker, street-officer, supervisor",
            "staff[0].unit: unknown unit 'grid:g7'",
        ]
        #expect(problems == expected)
    }

    @Test func aMissingFieldIsNamed() {
        let yaml =
            "district: { id: zhanyi, name: 沾益区 }\nstreets: []\ngrids: [ { id: g1, name: a, street: s, households: 1, population: 1 } ]\ndepartments: []\n"
        #expect {
            try OrgFile.parse(yaml)
        } throws: { error in
            "\(error)".contains("grids[0].kind: is required")
        }
    }

    @Test func householdBeatsGridBeatsAddressAndTheRestGoesToTriage() {
        let location = Location(gridId: "hongxing-3", householdId: "guanghua-3-01", address: "西平街道光华社区三组1号")
        var facts = PlacementFacts(knownGrid: "hongxing-3", householdGrid: "guanghua-3", addressGrid: "guanghua-3")
        #expect(RoutingRules.firstUnit(for: location, facts: facts).unit.description == "grid:guanghua-3")
        facts.householdGrid = nil
        #expect(RoutingRules.firstUnit(for: location, facts: facts).unit.description == "grid:hongxing-3")
        facts.knownGrid = nil
        #expect(RoutingRules.firstUnit(for: location, facts: facts).reason == "grid of the household at the address")
        facts.directDepartment = "power-supply"
        #expect(
            RoutingRules.firstUnit(for: location, facts: facts).unit.description == "district:power-supply",
            "a direct category skips grid and street"
        )
        facts.directDepartment = nil
        facts.addressGrid = nil
        let triage = RoutingRules.firstUnit(for: location, facts: facts)
        #expect(triage.unit == RoutingRules.triage)
        #expect(triage.unit.tier == .street)
    }
}

@Suite("Escalation rules")
struct EscalationRulesTests {
    @Test func gridGoesToItsStreetAndStreetToTheCategorysDepartment() throws {
        let grid = try UnitRef(parsing: "grid:guanghua-3")
        #expect(
            try EscalationRules.nextUnit(from: grid, category: "power", streetOfGrid: "xiping", departmentOfCategory: nil).get().description
                == "street:xiping"
        )
        let street = try UnitRef(parsing: "street:xiping")
        #expect(
            try EscalationRules.nextUnit(from: street, category: "power", streetOfGrid: nil, departmentOfCategory: "power-supply").get().description
                == "district:power-supply"
        )
        #expect(
            try EscalationRules.nextUnit(from: RoutingRules.triage, category: "water", streetOfGrid: nil, departmentOfCategory: "water").get()
                .description == "district:water"
        )
    }

    @Test func aGridNobodyKnowsGoesToTriage() throws {
        let grid = try UnitRef(parsing: "grid:gone")
        #expect(
            try EscalationRules.nextUnit(from: grid, category: "power", streetOfGrid: nil, departmentOfCategory: nil).get() == RoutingRules.triage
        )
    }

    @Test func theDistrictAndUnhandledCategoriesAreRefusedWithACode() throws {
        let department = try UnitRef(parsing: "district:power-supply")
        #expect(throws: EscalationRefused.self) {
            try EscalationRules.nextUnit(from: department, category: "power", streetOfGrid: nil, departmentOfCategory: "power-supply").get()
        }
        let street = try UnitRef(parsing: "street:xiping")
        switch EscalationRules.nextUnit(from: street, category: "noise", streetOfGrid: nil, departmentOfCategory: nil) {
        case .success(let unit): Issue.record("expected a refusal, got \(unit)")
        case .failure(let refused): #expect(refused.code == .noRoute)
        }
    }
}

@Suite("SLA policy")
struct SLAPolicyTests {
    @Test func parsesDurations() {
        #expect(SLAPolicy.parseDuration("90s") == .seconds(90))
        #expect(SLAPolicy.parseDuration("30m") == .seconds(1800))
        #expect(SLAPolicy.parseDuration("24h") == .seconds(86400))
        #expect(SLAPolicy.parseDuration("7d") == .seconds(604_800))
        for bad in ["", "h", "0s", "-3m", "5w", "1.5h", "soon"] { #expect(SLAPolicy.parseDuration(bad) == nil, "\(bad)") }
    }

    @Test func practiceDefaultsAndOverrides() throws {
        let policy = SLAPolicy()
        #expect(policy.durations(for: "emergency").resolve == .seconds(2 * 3600))
        #expect(policy.durations(for: "power").resolve == .seconds(24 * 3600))
        #expect(policy.durations(for: "housing").resolve == .seconds(7 * 86400))
        #expect(policy.durations(for: "complex").resolve == .seconds(15 * 86400))
        #expect(policy.durations(for: "summons").claim == .seconds(30 * 60), "a summoned department acknowledges within 30 minutes")

        let yaml = """
            district: { id: zhanyi, name: 沾益区 }
            streets: [ { id: xiping, name: 西平街道 } ]
            grids: [ { id: g1, name: a, street: xiping, kind: residents, households: 20, population: 50 } ]
            departments: [ { id: market-regulation, name: 市场监管, categories: [market] } ]
            sla:
              default: { claim: 4h, resolve: 3d }
              market: { claim: 2s, resolve: 3s }
              noise: { claim: 1h, resolve: 2h }
              water: { claim: 2d, resolve: 1d }
              power: { claim: soon, resolve: 1d }
            """
        let org = try OrgFile.parse(yaml)
        #expect(
            org.validate() == [
                "sla.noise: no department handles category 'noise'",
                "sla.power.claim: 'soon' is not a duration like 90s, 30m, 24h or 7d",
                "sla.water: claim (2d) is longer than resolve (1d)",
            ]
        )
        let tiered = try OrgFile.parse(
            yaml.replacingOccurrences(
                of: "  noise: { claim: 1h, resolve: 2h }\n",
                with:
                    "  district/market: { claim: 1h, resolve: 2h }\n  street/default: { claim: 8h, resolve: 2d }\n  city/market: { claim: 1h, resolve: 2h }\n"
            )
        )
        #expect(tiered.validate().contains("sla.city/market: 'city' is not a tier (grid, street, district)"))
        let byTier = tiered.slaPolicy
        #expect(byTier.durations(for: "market", at: .district) == SLADurations(claim: .seconds(3600), resolve: .seconds(7200)))
        #expect(byTier.durations(for: "market", at: .grid) == SLADurations(claim: .seconds(2), resolve: .seconds(3)))
        #expect(byTier.durations(for: "housing", at: .street) == SLADurations(claim: .seconds(8 * 3600), resolve: .seconds(2 * 86400)))
        #expect(byTier.durations(for: "housing", at: .grid) == SLADurations(claim: .seconds(4 * 3600), resolve: .seconds(3 * 86400)))
        let imported = org.slaPolicy
        #expect(imported.durations(for: "market") == SLADurations(claim: .seconds(2), resolve: .seconds(3)))
        #expect(imported.durations(for: "housing") == SLADurations(claim: .seconds(4 * 3600), resolve: .seconds(3 * 86400)))
    }
}

@Suite("Who may do what")
struct AuthorizationTests {
    let grid = try! UnitRef(parsing: "grid:guanghua-3")
    let street = try! UnitRef(parsing: "street:xiping")
    let power = try! UnitRef(parsing: "district:power-supply")
    var cui: Actor { Actor(id: "cui-chunhua", role: "grid-worker", unit: grid) }
    var xu: Actor { Actor(id: "xu-chunfeng", role: "street-officer", unit: street) }
    var officer: Actor { Actor(id: "power-officer-1", role: "department-officer", unit: power) }
    var supervisor: Actor { Actor(id: "wang-xu", role: "supervisor", unit: try! UnitRef(parsing: "oversight:zhanyi")) }

    func allowed(_ action: StaffCommand.Action, _ actor: Actor?, at unit: UnitRef, actingFor: UnitRef? = nil, summoned: Set<UnitRef> = []) -> Bool {
        StaffAuthorization.refusal(
            action,
            actor: actor,
            staffId: actor?.id ?? "nobody",
            actingFor: actingFor,
            requestUnit: unit,
            homeGrid: "guanghua-3",
            summoned: summoned
        ) == nil
    }

    @Test func staffActOnlyForTheirOwnUnit() {
        for action in [StaffCommand.Action.claim, .resolve, .escalate, .return] {
            #expect(allowed(action, cui, at: grid))
            #expect(!allowed(action, cui, at: street))
            #expect(!allowed(action, xu, at: grid))
        }
        #expect(!allowed(.claim, cui, at: grid, actingFor: street), "a message naming another unit is refused")
        #expect(!allowed(.claim, nil, at: grid), "unknown staff are refused")
    }

    @Test func summonedDepartmentsClaimAndResolveButDoNotEscalate() {
        #expect(allowed(.claim, officer, at: street, summoned: [power]))
        #expect(allowed(.resolve, officer, at: street, summoned: [power]))
        #expect(!allowed(.escalate, officer, at: street, summoned: [power]))
        #expect(!allowed(.claim, officer, at: street))
    }

    @Test func onlyStreetOfficersSummonAndOnlyHomeGridOrSupervisorsGiveFeedback() {
        #expect(allowed(.summon, xu, at: street))
        #expect(!allowed(.summon, Actor(id: "leader", role: "grid-leader", unit: street), at: street))
        #expect(allowed(.feedback, cui, at: power))
        #expect(allowed(.feedback, supervisor, at: power))
        #expect(!allowed(.feedback, xu, at: power))
        #expect(!allowed(.feedback, Actor(id: "zhao-hongmei", role: "grid-worker", unit: try! UnitRef(parsing: "grid:hongxing-3")), at: power))
        #expect(!allowed(.claim, supervisor, at: power), "supervisors do not work queues")
    }
}
