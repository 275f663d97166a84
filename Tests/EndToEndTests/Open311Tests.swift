import Foundation
import GridLoopDomain
import GridLoopTestSupport
import Testing

extension EndToEndTests {
    @Test(
        "Open311 GeoReport v2: the PyPI georeport client lists services and reads a posted request back (JSON and XML); plain HTTP with XML too; coordinates and addresses place requests; the spec's errors; no personal data in public reads"
    )
    func open311() async throws {
        try await GridLoopSystem.with { system, _ in
            let root = system.url("intake", "/open311/v2")
            let created = try await system.cli("apikey", "create", "hotline-test")
            let parts = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\t").map(String.init)
            try #require(created.status == 0 && parts.count == 2, "\(created.stdout) \(created.stderr)")
            let (keyId, key) = (parts[0], parts[1])

            // The georeport client: services and a definition in both formats, the request read back.
            let client = try await runCommand(
                [GridLoopSystem.repositoryPath("Tests/Support/python/open311_client.py"), root, key, "property", "25.605", "103.805"],
                executable: "/usr/bin/python3",
                environment: ["PYTHONPATH": ProcessInfo.processInfo.environment["GRIDLOOP_TEST_PYTHONPATH"] ?? ""]
            )
            try #require(client.status == 0, "georeport client: \(client.stderr)")
            let answers = try #require(try JSONSerialization.jsonObject(with: Data(client.stdout.utf8)) as? [String: Any])
            let servicesJSON = try #require(answers["services_json"] as? [[String: Any]])
            let servicesXML = try #require(answers["services_xml"] as? [[String: Any]])
            #expect(servicesJSON.count == servicesXML.count && servicesJSON.count >= 10)
            let property = try #require(servicesJSON.first { $0["service_code"] as? String == "property" })
            #expect(property["group"] as? String == "区住房和城乡建设局" && property["metadata"] as? Bool == true && property["type"] as? String == "realtime")
            #expect(servicesXML.contains { $0["service_code"] as? String == "property" && $0["metadata"] as? String == "true" })
            let definition = try #require(answers["definition_json"] as? [String: Any])
            #expect((definition["attributes"] as? [[String: Any]])?.map { $0["code"] as? String } == ["household_id", "language"])
            #expect((answers["definition_xml"] as? [String: Any])?["service_code"] as? String == "property")
            #expect(answers["post_status"] as? Int == 201)
            let id = try #require(((answers["post"] as? [[String: Any]])?.first)?["service_request_id"] as? String)
            let readJSON = try #require(answers["request_json"] as? [String: Any])
            let readXML = try #require(answers["request_xml"] as? [String: Any])
            #expect(readJSON["service_request_id"] as? String == id && readXML["service_request_id"] as? String == id)
            #expect(readJSON["status"] as? String == "open" && readJSON["service_code"] as? String == "property")
            #expect(readJSON["lat"] as? Double == 25.605 && readJSON["media_url"] as? String == "https://example.org/light.jpg")
            #expect(((answers["list"] as? [[String: Any]]) ?? []).map { $0["service_request_id"] as? String } == [id])
            #expect(((answers["open"] as? [[String: Any]]) ?? []).contains { $0["service_request_id"] as? String == id })
            #expect(!client.stdout.contains("13900003333") && !client.stdout.contains("lisi@example.org"), "no personal data in public reads")

            // The coordinates lie in 大麦地's area: routing places it there, and Open311 names the agency.
            #expect(
                await eventually {
                    let answer = try? await http(.GET, "\(root)/requests/\(id).json")
                    return answer?.body.contains("\"agency_responsible\":\"小卡郎村委会大麦地村民小组\"") == true
                },
                "agency_responsible is the grid whose area holds the coordinates"
            )
            let status = try await http(.GET, system.url("intake", "/v1/requests/\(id)"))
            #expect(status.json["unit"] as? String == "grid:damaidi")

            // Plain HTTP with XML: an address that matches a household places the request in its grid.
            let form =
                "api_key=\(key)&service_code=water&address_string=\("西平街道红星社区三组2号".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)&description=%E5%81%9C%E6%B0%B4&phone=13900004444&first_name=Wang"
            let posted = try await http(.POST, "\(root)/requests.xml", body: form, headers: ["content-type": "application/x-www-form-urlencoded"])
            #expect(posted.status == 201 && posted.contentType?.hasPrefix("text/xml") == true, "\(posted.body)")
            let xmlId = try #require(posted.body.firstMatch(of: /<service_request_id>([0-9a-f-]{36})<\/service_request_id>/)?.1).description
            #expect(
                await eventually {
                    let answer = try? await http(.GET, "\(root)/requests/\(xmlId).xml")
                    return answer?.body.contains("<agency_responsible>红星社区第三居民小组</agency_responsible>") == true
                },
                "address → household → grid"
            )
            let read = try await http(.GET, "\(root)/requests/\(xmlId).xml")
            #expect(read.body.hasPrefix("<?xml") && read.body.contains("<service_requests><request>") && read.body.contains("<status>open</status>"))
            #expect(!read.body.contains("13900004444"))

            // Errors, as the spec's list.
            let noKey = try await http(
                .POST,
                "\(root)/requests.xml",
                body: "service_code=water&lat=1&long=1",
                headers: ["content-type": "application/x-www-form-urlencoded"]
            )
            #expect(noKey.status == 403 && noKey.body.contains("<errors><error><code>403</code>"), "\(noKey.body)")
            let unknownService = try await http(
                .POST,
                "\(root)/requests.json",
                body: "api_key=\(key)&service_code=ufo&lat=1&long=1",
                headers: ["content-type": "application/x-www-form-urlencoded"]
            )
            #expect(unknownService.status == 404 && unknownService.body.contains("\"code\":404"))
            let badPlace = try await http(
                .POST,
                "\(root)/requests.json",
                body: "api_key=\(key)&service_code=water&lat=91&long=1&description=x&phone=13900005555",
                headers: ["content-type": "application/x-www-form-urlencoded"]
            )
            #expect(badPlace.status == 400 && badPlace.body.contains("lat: must be between -90 and 90"), "\(badPlace.body)")
            let noPhone = try await http(
                .POST,
                "\(root)/requests.json",
                body: "api_key=\(key)&service_code=water&address_string=x&description=x",
                headers: ["content-type": "application/x-www-form-urlencoded"]
            )
            #expect(noPhone.status == 400 && noPhone.body.contains("phone: is required"), "\(noPhone.body)")
            let missing = try await http(.GET, "\(root)/requests/\(UUID().uuidString.lowercased()).json")
            #expect(missing.status == 404 && missing.body.hasPrefix("[{\"code\":404"))
            let tooLong = try await http(.GET, "\(root)/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z")
            #expect(tooLong.status == 400 && tooLong.body.contains("90 days"))
            let wrongJurisdiction = try await http(.GET, "\(root)/services.json?jurisdiction_id=elsewhere")
            #expect(wrongJurisdiction.status == 404)
            let discovery = try await http(.GET, "\(root)/discovery.xml")
            #expect(discovery.status == 200 && discovery.body.contains("<specification>http://wiki.open311.org/GeoReport_v2</specification>"))

            // A revoked key stops working at once.
            #expect(try await system.cli("apikey", "revoke", keyId).status == 0)
            let revoked = try await http(
                .POST,
                "\(root)/requests.json",
                body: "api_key=\(key)&service_code=water&lat=25.605&long=103.805&description=x&phone=13900006666",
                headers: ["content-type": "application/x-www-form-urlencoded"]
            )
            #expect(revoked.status == 403 && revoked.body.contains("not valid"))
        }
    }
}
