import Foundation
import GridLoopDomain
import GridLoopServiceSupport
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore

/// The door plates (门牌) of one grid, ready to print on A4: one plate per household with its
/// address, the grid's staff and their work phones, what they do, and a QR code that opens
/// the resident's report form for that household. Drawn from routing's grid sheet
/// (`GET /v1/org/grids/{grid}`) with the signed-in person's token, so routing decides who may
/// print which grid (its own staff, its street, supervisors).
///
/// The template and its words live here, in their own Mustache library; the page is drawn
/// inside the same layout (`Pages.library`'s "layout") as every other page.
extension WebController {
    /// `GET /plates/:grid`.
    func doorPlates(_ request: Request, context: GridLoopRequestContext) async throws -> Response {
        var visit = visit(request)
        guard let session = await session(&visit) else { return Self.redirect("/signin", cookies: visit.setCookies) }
        let language = visit.language
        let en = language == "en"
        let words = Self.wordsForPlates(language)
        let grid = context.parameters.get("grid") ?? ""
        guard UnitRef.isValidID(grid) else {
            return platePage(visit, [:], title: words["platesTitle"]!, error: en ? "There is no such grid." : "没有这个网格。", status: .notFound)
        }
        let answer: Backend.Answer
        do { answer = try await backend.call(.GET, "routing", "/v1/org/grids/\(grid)", token: session.token) } catch {
            context.logger.warning("door plates: routing unreachable", metadata: ["grid": "\(grid)", "error": "\(error)"])
            return platePage(
                visit,
                [:],
                title: words["platesTitle"]!,
                error: en ? "The grid's sheet cannot be read right now." : "暂时无法读取网格信息。",
                status: .serviceUnavailable
            )
        }
        if answer.status == 401 { return Self.redirect("/signin", cookies: visit.setCookies) }
        guard answer.ok else {
            let status: HTTPResponse.Status = answer.status == 404 ? .notFound : answer.status == 403 ? .forbidden : .badGateway
            return platePage(visit, [:], title: words["platesTitle"]!, error: answer.problem ?? "\(answer.status)", status: status)
        }
        guard let sheet = try? answer.decode(OrgSheets.Grid.self) else {
            context.logger.error("door plates: routing's grid sheet does not decode", metadata: ["grid": "\(grid)"])
            return platePage(
                visit,
                [:],
                title: words["platesTitle"]!,
                error: en ? "The grid's sheet could not be read." : "网格信息无法读取。",
                status: .badGateway
            )
        }

        let staff: [[String: Any]] = sheet.staff.map { person -> [String: Any] in
            let phone = (person.phone ?? "").trimmingCharacters(in: .whitespaces)
            return ["name": person.name, "role": Self.roleName(person.role, language: language), "phone": phone.isEmpty ? "—" : phone]
        }
        var base = publicURL
        while base.hasSuffix("/") { base.removeLast() }
        var plates: [[String: Any]] = []
        plates.reserveCapacity(sheet.households.count)
        for household in sheet.households {
            let link = "\(base)/report?household=\(Self.queryValue(household.id))"
            var plate: [String: Any] = [
                "householdId": household.id, "address": household.address, "gridName": sheet.name, "streetName": sheet.streetName,
                "staff": staff, "link": link, "hasQR": false,
            ]
            do {
                // Server-made SVG of numbers only: the template writes it unescaped.
                plate["qr"] = try QRCode(link, level: .medium).svg()
                plate["hasQR"] = true
            } catch {
                context.logger.error("door plates: no QR code", metadata: ["household": "\(household.id)", "error": "\(error)"])
            }
            plates.append(plate)
        }
        let summary =
            en
            ? "\(plates.count) plates · the org file counts \(sheet.householdCount) households"
            : "共 \(plates.count) 张门牌 · 登记户数 \(sheet.householdCount)"
        let sheetContext: [String: Any] = [
            "gridId": sheet.id, "gridName": sheet.name, "streetName": sheet.streetName, "summary": summary, "plates": plates,
        ]
        return platePage(visit, sheetContext, title: "\(words["platesTitle"]!) · \(sheet.name)")
    }

    /// Draws the "plates" template inside the shared layout (what `page` does for `Pages`'
    /// templates), with the pages' words and the plates' words as `t`.
    func platePage(_ visit: Visit, _ context: [String: Any], title: String, error: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        var context = context
        context["t"] = Self.wordsForPlates(visit.language)
        context["csrf"] = visit.csrf
        let content = Self.plateLibrary.render(context, withTemplate: "plates") ?? ""
        var outer = layout(visit, title: title, error: error)
        outer["content"] = content
        let html = Pages.library.render(outer, withTemplate: "layout") ?? content
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        for cookie in visit.setCookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// A staff role in words.
    static func roleName(_ role: String, language: String) -> String {
        let en = language == "en"
        switch role {
        case "grid-worker": return en ? "Grid worker" : "网格员"
        case "grid-leader": return en ? "Grid leader" : "网格长"
        case "street-officer": return en ? "Street officer" : "街道干部"
        default: return role
        }
    }

    /// `text` percent-encoded for a query value (unreserved ASCII kept).
    static func queryValue(_ text: String) -> String {
        let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    /// The pages' words and the plates' words together (the layout reads `t.signOut`).
    static func wordsForPlates(_ language: String) -> [String: String] {
        let own = plateWords[language == "en" ? "en" : "zh"] ?? [:]
        return Pages.words(language).merging(own) { _, plate in plate }
    }

    /// The plates' template registered on its own (Pages' library holds the layout).
    static let plateLibrary: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in plateTemplates { try! library.register(text, named: name) }
        return library
    }()

    /// `{{x}}` is escaped; only `{{{qr}}}`, the server's own SVG of numbers, is not.
    package static let plateTemplates: [String: String] = [
        "plates": """
        <div class="noprint">
          <h1>{{t.platesTitle}}{{#gridName}} <small>{{streetName}} · {{gridName}}</small>{{/gridName}}</h1>
          {{#summary}}<p class="summary">{{summary}}</p>{{/summary}}
          <p class="hint">{{t.platesPrintHint}}</p>
        </div>
        <div class="plates">
        {{#plates}}
        <article class="plate">
          <header class="plate-head"><span class="plate-grid">{{streetName}} · {{gridName}}</span><span class="plate-id">{{t.plateHousehold}} {{householdId}}</span></header>
          <p class="plate-address">{{address}}</p>
          <h2 class="plate-title">{{t.plateTitle}}</h2>
          <ul class="plate-staff">
            {{#staff}}<li><span class="plate-role">{{role}}</span> <b class="plate-name">{{name}}</b> <span class="plate-phone">{{phone}}</span></li>{{/staff}}
            {{^staff}}<li>{{t.plateNoStaff}}</li>{{/staff}}
          </ul>
          <p class="plate-duties">{{t.plateDuties}}</p>
          <div class="plate-qr">
            {{#hasQR}}<div class="plate-code" role="img" aria-label="{{t.plateQRLabel}}">{{{qr}}}</div>{{/hasQR}}
            {{^hasQR}}<p class="plate-link">{{link}}</p>{{/hasQR}}
            <p class="plate-scan">{{t.plateScan}}</p>
          </div>
        </article>
        {{/plates}}
        </div>
        {{^plates}}{{#gridName}}<p class="empty">{{t.platesNone}}</p>{{/gridName}}{{/plates}}
        """
    ]

    /// The plates' words. The scan line is printed in both languages on every plate (the
    /// plate is for residents, whatever language the staff member reads the page in).
    package static let plateWords: [String: [String: String]] = [
        "zh": [
            "platesTitle": "门牌", "platesPrintHint": "用浏览器的打印功能打印（A4）", "plateHousehold": "户号",
            "plateTitle": "网格服务 · 有事找我们", "plateNoStaff": "暂未配备网格员",
            "plateDuties": "政策宣传 · 民情收集 · 矛盾调解 · 代办服务 · 安全巡查",
            "plateScan": "扫码反映问题 / Scan to report a problem", "plateQRLabel": "扫码反映问题的二维码",
            "platesNone": "这个网格还没有登记住户。",
        ],
        "en": [
            "platesTitle": "Door plates", "platesPrintHint": "Print with the browser (A4)", "plateHousehold": "Household",
            "plateTitle": "Your grid team", "plateNoStaff": "No grid staff listed yet",
            "plateDuties": "Policy to every door · hearing residents · settling disputes · services on your behalf · safety rounds",
            "plateScan": "扫码反映问题 / Scan to report a problem", "plateQRLabel": "QR code to report a problem",
            "platesNone": "No households are listed for this grid.",
        ],
    ]

    /// The plates' rules, for the end of `Assets.css`: cards on screen (one per row on a
    /// phone); on A4 two plates of 85 × 120 mm per row, never split, without the header bar
    /// and the page's hints.
    static let plateCSS = """
        .plates{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,300px),1fr));gap:12px;margin:12px 0}
        .plate{display:flex;flex-direction:column;gap:6px;background:#fff;border:2px solid #0b5cad;border-radius:10px;padding:12px 14px;overflow-wrap:anywhere;break-inside:avoid}
        .plate>*{flex-shrink:0}
        .plate-head{display:flex;flex-wrap:wrap;justify-content:space-between;gap:2px 8px;font-size:.85em;color:#35495e;border-bottom:1px solid #c9d2db;padding-bottom:4px}
        .plate-grid{font-weight:600}.plate-id{font-variant-numeric:tabular-nums}
        .plate-address{font-size:1.35em;font-weight:700;margin:0;line-height:1.25}
        .plate-title{font-size:1em;margin:0;color:#0b5cad}
        .plate-staff{list-style:none;margin:0;padding:0;flex-shrink:1;min-height:0;overflow:hidden}
        .plate-staff li{display:flex;flex-wrap:wrap;gap:0 8px;align-items:baseline;padding:1px 0}
        .plate-role{color:#556;font-size:.88em}.plate-phone{margin-left:auto;font-weight:600;font-variant-numeric:tabular-nums;white-space:nowrap}
        .plate-duties{margin:0;font-size:.85em;color:#35495e}
        .plate-qr{display:flex;flex-direction:column;align-items:center;gap:2px;margin-top:auto}
        .plate-code svg{display:block;width:160px;max-width:100%;height:auto}
        .plate-scan{margin:0;font-weight:700;text-align:center}.plate-link{margin:0;font-size:.8em}
        @media print{
          @page{size:A4;margin:12mm}
          .bar,.noprint{display:none!important}
          body{background:#fff;color:#000;font-size:10pt}
          main{max-width:none;margin:0;padding:0}
          .plates{display:block;margin:0;font-size:0;line-height:0}
          .plate{display:inline-flex;vertical-align:top;width:85mm;height:120mm;margin:0 4mm 6mm 0;padding:4mm 5mm;gap:2mm;
            border:.4mm solid #000;border-radius:2mm;box-shadow:none;overflow:hidden;font-size:10pt;line-height:1.35;
            break-inside:avoid;page-break-inside:avoid}
          .plate-head{border-bottom-color:#000;color:#000;font-size:8.5pt}
          .plate-address{font-size:14pt}
          .plate-title{font-size:10.5pt}
          .plate-role,.plate-duties{color:#000}
          .plate-duties{font-size:8.5pt}
          .plate-code svg{width:35mm;height:35mm}
          .plate-scan{font-size:9.5pt}
        }
        """
}
