import Foundation
import Mustache

/// The dashboard's templates (Mustache, as the staff web app's ``Pages``: `{{x}}` is
/// HTML-escaped; only `{{{content}}}`, itself a rendered template, and the server-drawn SVG
/// charts are not), their style sheet, and the render function. The words are ``Texts``'s,
/// under `t`.
package enum DashboardPages {
    package static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in templates { try! library.register(text, named: name) }
        return library
    }()

    /// Renders template `name` with `context`, then the layout around it.
    package static func render(_ name: String, _ context: [String: Any], layout: [String: Any]) -> String {
        let content = library.render(context, withTemplate: name) ?? ""
        var outer = layout
        outer["content"] = content
        return library.render(outer, withTemplate: "layout") ?? content
    }

    /// Where the layout links the style sheet (reporting serves it).
    package static let stylesheetPath = "/dashboard/static/dashboard.css"

    /// Every dashboard page's Content-Security-Policy: no script, no inline style, nothing
    /// from elsewhere (the charts are inline SVG with presentation attributes).
    package static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    static let templates: [String: String] = [
        "layout": """
        <!doctype html><html lang="{{htmlLang}}"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1"><title>GridLoop · {{title}}</title>
        <link rel="stylesheet" href="\(stylesheetPath)">
        </head><body>{{{content}}}<footer><small>GridLoop · {{generated}}</small></footer></body></html>
        """,
        // A figures table (streets, departments, a worker's grid): `rows`, `hasRows` and `ranked`
        // (a rank column: units compared by the 12345 composite) in scope.
        "figures": """
        {{#hasRows}}<div class="scroll"><table><thead><tr>{{#ranked}}<th>#</th>{{/ranked}}<th>{{t.name}}</th><th>{{t.compositeColumn}}</th><th>{{t.assigned}}</th><th>{{t.response}}</th><th>{{t.resolution}}</th><th>{{t.satisfaction}}</th><th>{{t.onTime}}</th><th>{{t.reopen}}</th><th>{{t.escalation}}</th><th>{{t.medianClaim}}</th></tr></thead><tbody>
        {{#rows}}<tr>{{#ranked}}<td>{{rank}}</td>{{/ranked}}<td>{{name}}</td><td>{{composite}}</td><td>{{assigned}}</td><td>{{response}}</td><td>{{resolution}}</td><td>{{satisfaction}}</td><td>{{onTime}}</td><td>{{reopen}}</td><td>{{escalation}}</td><td>{{medianClaim}}</td></tr>{{/rows}}
        </tbody></table></div>{{/hasRows}}{{^rows}}<p class="empty">{{t.none}}</p>{{/rows}}
        """,
        // 分析研判: heat table, recurring problems, the problem of the month (an `analysis` model in scope).
        "analysis": """
        {{#flash}}<p class="ok">{{flash}}</p>{{/flash}}{{#flashError}}<p class="flag">{{flashError}}</p>{{/flashError}}
        <section id="focus"><h2>{{t.focusTitle}}</h2>
        {{#focus}}<div class="focus"><p><strong>{{title}}</strong>{{#done}} <span class="ok">✓ {{t.focusDone}}</span>{{/done}}</p>
        <p>{{gridName}} · {{category}} · {{t.owner}} {{owner}} · {{t.due}} {{dueOn}}</p>
        <p><progress max="100" value="{{progress}}">{{progress}}%</progress> {{progress}}%</p>
        {{#notes}}<p class="note"><small>{{at}} · {{staff}} · {{progress}}%</small><br>{{note}}</p>{{/notes}}
        {{#noteForm}}<form method="post" action="/dashboard/focus/{{id}}/notes"><input type="hidden" name="csrf" value="{{csrf}}">
        <label>{{t.note}}<textarea name="note" required maxlength="2000" rows="2"></textarea></label>
        <label>{{t.progress}} <input name="progress" type="number" min="0" max="100" required value="{{progress}}"> %</label>
        <label><input type="checkbox" name="done" value="1"> {{t.focusDone}}</label> <button type="submit">{{t.addNote}}</button></form>{{/noteForm}}
        </div>{{/focus}}
        {{^focus}}<p class="empty">{{t.focusNone}}</p>{{#hasShortlist}}<p>{{t.shortlist}}</p><ol class="shortlist">{{#shortlist}}<li><strong>{{gridName}} · {{category}}</strong> — {{reports}} {{t.reports}}, {{recurring}} {{t.recurringShort}}
        {{#markForm}}<form method="post" action="/dashboard/focus"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="month" value="{{month}}"><input type="hidden" name="grid" value="{{grid}}"><input type="hidden" name="category" value="{{category}}">
        <label>{{t.focusName}}<input name="title" required maxlength="200" value="{{title}}"></label>
        <label>{{t.owner}}<select name="owner" required>{{#owners}}<option value="{{id}}">{{name}}</option>{{/owners}}</select></label>
        <label>{{t.due}}<input name="dueOn" type="date" required value="{{dueOn}}"></label> <button type="submit">{{t.markFocus}}</button></form>{{/markForm}}</li>{{/shortlist}}</ol>{{/hasShortlist}}{{/focus}}
        </section>
        <section><h2>{{t.heatTitle}}</h2><p class="hint">{{t.heatHint}} <a href="{{csvHref}}">CSV</a></p>
        {{#heat}}{{#hasRows}}<div class="scroll"><table class="heat"><thead><tr><th>{{t.grid}}</th>{{#columns}}<th>{{.}}</th>{{/columns}}<th>{{t.total}}</th></tr></thead><tbody>
        {{#rows}}<tr><th>{{name}}</th>{{#cells}}<td class="h{{level}}">{{count}}{{#repeatMark}} <small>{{repeatMark}}</small>{{/repeatMark}}</td>{{/cells}}<td>{{total}}</td></tr>{{/rows}}
        </tbody></table></div>{{/hasRows}}{{^hasRows}}<p class="empty">{{t.none}}</p>{{/hasRows}}{{/heat}}</section>
        <section><h2>{{t.recurringTitle}}</h2><p class="hint">{{t.recurringHint}}</p>
        {{#hasRecurring}}<div class="scroll"><table><thead><tr><th>{{t.grid}}</th><th>{{t.category}}</th><th>{{t.reports}}</th><th>{{t.repeats}}</th><th>{{t.reopened}}</th><th>{{t.recurringRate}}</th></tr></thead><tbody>
        {{#recurring}}<tr><td>{{gridName}}</td><td>{{category}}</td><td>{{reports}}</td><td>{{repeats}}</td><td>{{reopened}}</td><td>{{rate}}</td></tr>{{/recurring}}
        </tbody></table></div>{{/hasRecurring}}{{^hasRecurring}}<p class="empty">{{t.none}}</p>{{/hasRecurring}}</section>
        """,
        "community": communityTemplate,
        "hotspots": """
        <h1>{{t.hotspots}} <small>{{place}} · {{period}}</small></h1>
        <nav><a href="/dashboard?lang={{lang}}&period={{period}}">{{t.overview}}</a> · <a href="/dashboard/community?lang={{lang}}&period={{period}}{{streetQuery}}">{{t.community}}</a> · <a href="?lang={{otherLang}}&period={{period}}{{streetQuery}}">{{t.switch}}</a></nav>
        {{>analysis}}
        """,
        "overview": """
        <h1>{{t.title}} <small>{{period}}</small></h1>
        <nav><a href="?lang={{lang}}&period={{period}}">{{t.overview}}</a> · <a href="/dashboard/community?lang={{lang}}&period={{period}}">{{t.community}}</a> · <a href="/v1/reports/figures.csv?by=street&period={{period}}">CSV</a> · <a href="?lang={{otherLang}}&period={{period}}">{{t.switch}}</a></nav>
        <section class="rates">{{#rates}}<div class="rate{{#wide}} wide{{/wide}}"><div class="label">{{label}}</div><div class="value">{{value}}</div><div class="detail">{{detail}}</div>{{{gauge}}}{{#formula}}<div class="formula">{{formula}}</div>{{/formula}}</div>{{/rates}}</section>
        {{#analysis}}{{>analysis}}<p><a href="/dashboard/hotspots?lang={{lang}}&period={{period}}">{{t.fullAnalysis}}</a></p>{{/analysis}}
        <section><h2>{{t.backlog}}</h2>{{{backlogChart}}}</section>
        <section><h2>{{t.trend}}</h2>{{{trendChart}}}</section>
        <section><h2>{{t.overdue}} ({{overdueCount}})</h2>
        {{#hasOverdue}}<div class="scroll"><table><thead><tr><th>{{t.request}}</th><th>{{t.unit}}</th><th>{{t.category}}</th><th>{{t.since}}</th></tr></thead><tbody>
        {{#overdue}}<tr><td><a href="/dashboard/requests/{{requestId}}?lang={{lang}}">{{shortId}}</a>{{#actHref}} · <a href="{{actHref}}">{{t.act}}</a>{{/actHref}}</td><td>{{unit}}</td><td>{{category}}</td><td>{{since}}</td></tr>{{/overdue}}
        </tbody></table></div>{{/hasOverdue}}{{^overdue}}<p class="empty">{{t.none}}</p>{{/overdue}}
        </section>
        {{#figureSections}}<section><h2>{{title}}</h2>{{>figures}}</section>
        {{/figureSections}}
        <section><h2>{{t.ranking}}</h2>
        {{#hasWorkers}}<div class="scroll"><table><thead><tr><th>#</th><th>{{t.worker}}</th><th>{{t.grid}}</th><th>{{t.score}}</th><th>{{t.visits}}</th><th>{{t.award}}</th></tr></thead><tbody>
        {{#workers}}<tr><td>{{rank}}</td><td><a href="/dashboard/workers/{{staff}}?lang={{lang}}&period={{period}}">{{name}}</a></td><td>{{gridName}}</td><td>{{score}}</td><td>{{visits}}</td><td>{{award}}{{#notEligible}} <span class="flag">{{.}}</span>{{/notEligible}}</td></tr>{{/workers}}
        </tbody></table></div>{{/hasWorkers}}{{^workers}}<p class="empty">{{t.none}}</p>{{/workers}}
        </section>
        """,
        "worker": """
        <h1>{{name}} <small>{{gridName}} · {{period}}</small></h1>
        <nav><a href="/dashboard?lang={{lang}}&period={{period}}">{{t.overview}}</a></nav>
        <section class="rates"><div class="rate"><div class="label">{{t.score}}</div><div class="value">{{score}}</div><div class="detail">#{{rank}} {{award}}</div></div></section>
        <section><h2>{{t.breakdown}}</h2>
        <div class="scroll"><table><thead><tr><th>{{t.part}}</th><th>{{t.score}}</th><th>{{t.weight}}</th><th>{{t.why}}</th></tr></thead><tbody>
        {{#parts}}<tr><td>{{name}}</td><td>{{score}}</td><td>{{weight}}</td><td>{{why}}</td></tr>{{/parts}}
        </tbody></table></div>{{{partsChart}}}</section>
        {{#hasNotEligible}}<p class="flag">{{notEligible}}</p>{{/hasNotEligible}}
        <section><h2>{{t.figures}}</h2>{{#figures}}{{>figures}}{{/figures}}</section>
        """,
        "request": """
        <h1>{{t.request}} {{shortId}} <small>{{state}}</small></h1>
        <nav><a href="/dashboard?lang={{lang}}">{{t.overview}}</a>{{#actHref}} · <a href="{{actHref}}">{{t.act}}</a>{{/actHref}}</nav>
        <div class="scroll"><table><thead><tr><th>{{t.field}}</th><th></th></tr></thead><tbody>
        {{#facts}}<tr><td>{{label}}</td><td>{{value}}</td></tr>{{/facts}}
        </tbody></table></div>
        {{#verified}}<section><h2>{{t.trail}}</h2>{{#intact}}<p class="ok">✓ {{t.verified}} ({{count}}, {{head}}…)</p>{{/intact}}{{^intact}}<p class="flag">✗ {{t.broken}}</p>{{/intact}}
        {{#hasEntries}}<div class="scroll"><table><thead><tr><th>{{t.since}}</th><th>{{t.event}}</th><th>{{t.unit}}</th><th>{{t.actor}}</th><th></th></tr></thead><tbody>
        {{#entries}}<tr><td>{{at}}</td><td>{{event}}</td><td>{{unit}}</td><td>{{actor}}</td><td>{{detail}}</td></tr>{{/entries}}
        </tbody></table></div>{{/hasEntries}}{{^entries}}<p class="empty">{{t.none}}</p>{{/entries}}</section>{{/verified}}
        {{^verified}}<section><h2>{{t.trail}}</h2><p class="flag">{{t.unverified}}</p>
        {{#hasEvents}}<div class="scroll"><table><thead><tr><th>{{t.since}}</th><th>{{t.event}}</th><th></th></tr></thead><tbody>
        {{#events}}<tr><td>{{at}}</td><td>{{event}}</td><td>{{summary}}</td></tr>{{/events}}
        </tbody></table></div>{{/hasEvents}}{{^events}}<p class="empty">{{t.none}}</p>{{/events}}</section>{{/verified}}
        """,
    ]

    /// The dashboard's style sheet (`GET /dashboard/static/dashboard.css`).
    package static let stylesheet = """
        body{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;margin:0 auto;max-width:1100px;padding:12px;color:#1d2733;background:#f6f8fa}
        h1{font-size:1.4em}h1 small{color:#667;font-weight:normal;font-size:.7em}h2{font-size:1.1em;margin-top:1.4em}
        nav a{color:#0b5cad}section{background:#fff;border-radius:8px;padding:10px 14px;margin:10px 0;box-shadow:0 1px 2px #0001}
        .rates{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:10px;background:none;box-shadow:none;padding:0}
        .rate{background:#fff;border-radius:8px;padding:10px;box-shadow:0 1px 2px #0001}.rate .value{font-size:2em;font-weight:600}
        .rate .label,.rate .detail{color:#556}.rate.wide{grid-column:span 2}.rate .formula{color:#556;font-size:.8em;margin-top:6px}.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:.9em}
        th,td{padding:4px 8px;border-bottom:1px solid #e3e6ea;text-align:left;white-space:nowrap}.flag{color:#b3261e}.ok{color:#2e7d32}.empty{color:#889}
        svg{max-width:100%;height:auto}
        .heat td{text-align:center}.heat td small{color:inherit;opacity:.85}.h0{color:#bbb}.h1{background:#fde7d9}.h2{background:#f9b98f}
        .h3{background:#f08a4b;color:#fff}.h4{background:#c4431b;color:#fff}.hint{color:#556;font-size:.85em}
        form label{display:block;margin:6px 0}input,select,textarea,button{font:inherit;max-width:100%}textarea{width:100%;box-sizing:border-box}
        button{background:#0b5cad;color:#fff;border:0;border-radius:6px;padding:6px 12px}progress{width:60%}.note{border-left:3px solid #e3e6ea;padding-left:8px}
        .shortlist li{margin:8px 0}

        """
}
