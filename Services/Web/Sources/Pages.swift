import Foundation
import GridLoopDomain
import Mustache

/// The pages' templates (Mustache: `{{x}}` is HTML-escaped; only `{{{content}}}`, itself a
/// rendered template, and the inbox's `{{{rows}}}`, built as escaped `HTML`, are not) and
/// their words in Chinese and English.
package enum Pages {
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

    static let templates: [String: String] = [
        "layout": """
        <!doctype html>
        <html lang="{{htmlLang}}"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · GridLoop</title>
        <link rel="stylesheet" href="/static/app.css">
        <link rel="manifest" href="/manifest.webmanifest"><meta name="theme-color" content="#0b5cad">
        <script src="/static/app.js" defer></script>
        </head><body data-lang="{{lang}}">
        <header class="bar">
          <a class="brand" href="{{homeHref}}">网格通 GridLoop</a>
          <span class="who">{{#who}}{{who}}{{/who}}</span>
          <a class="lang" href="{{langHref}}">{{otherLangName}}</a>
          {{#signedIn}}
          <form method="post" action="/signout" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button class="link" type="submit">{{t.signOut}}</button></form>
          {{/signedIn}}
        </header>
        <main>
        <p class="queue" role="status" hidden data-words="{{t.waiting}}"></p>
        <p class="queue-refused" role="alert" hidden data-words="{{t.waitingRefused}}"></p>
        {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        {{{content}}}
        </main>
        </body></html>
        """,
        "signin": """
        <section class="card narrow">
        <h1>{{t.signInTitle}}</h1>
        <form method="post" action="/signin" class="stack" novalidate>
          <input type="hidden" name="csrf" value="{{csrf}}">
          <label>{{t.staffId}}<input name="staff" value="{{staff}}" required autocomplete="username" autocapitalize="none" maxlength="64"></label>
          <label>{{t.secret}}<input name="secret" type="password" required autocomplete="current-password" maxlength="200"></label>
          <button type="submit" class="primary">{{t.signIn}}</button>
        </form>
        <p class="hint">{{t.signInHint}}</p>
        </section>
        """,
        "inbox": """
        <h1>{{t.inboxTitle}} <small>{{unitName}}</small></h1>
        <nav class="filters">
          {{#filters}}<a href="/inbox?state={{value}}{{#unitQuery}}&unit={{unitQuery}}{{/unitQuery}}" class="chip{{#active}} active{{/active}}">{{label}} <b>{{count}}</b></a>{{/filters}}
        </nav>
        <p class="summary">{{summary}}</p>
        <p class="tools"><a class="button" href="/submit">＋ {{t.newRequest}}</a>{{#supervisor}} <a class="button" href="/dashboard">{{t.dashboard}}</a>{{/supervisor}}{{#assessment}} <a href="{{assessment}}">{{t.myAssessment}}</a>{{/assessment}}{{#plates}} <a href="/plates/{{plates}}">{{t.doorPlates}}</a>{{/plates}} <a href="/tasks">{{t.tasksTitle}}</a> <a href="/notices">{{t.noticesTitle}}</a> <a href="/consultations">{{t.consultationsTitle}}</a> <a href="/wishes">{{t.wishesTitle}}</a> <a href="/points">{{t.pointsTitle}}</a></p>
        <ul class="items">
        {{{rows}}}
        </ul>
        {{^hasItems}}<p class="empty">{{t.nothingOpen}}</p>{{/hasItems}}
        {{#next}}<p><a href="/inbox?cursor={{next}}{{#state}}&state={{state}}{{/state}}{{#unitQuery}}&unit={{unitQuery}}{{/unitQuery}}">{{t.more}}</a></p>{{/next}}
        """,
        "tasks": """
        <p><a href="/inbox">← {{t.backToInbox}}</a></p>
        <h1>{{t.tasksTitle}}</h1>
        {{#flash}}<p class="notice">{{flash}}</p>{{/flash}}
        <p class="hint">{{t.tasksHint}}</p>
        {{#hasTasks}}<ul class="items">{{#tasks}}<li class="item{{#complete}} done{{/complete}}"><a href="/tasks/{{id}}"><strong>{{title}}</strong></a>
          <br><small>{{category}} · {{t.dueBy}} {{dueOn}} · {{t.checkedCount}} {{checked}}</small> <progress max="100" value="{{percent}}">{{percent}}%</progress></li>{{/tasks}}</ul>{{/hasTasks}}
        {{^hasTasks}}<p class="empty">{{t.noTasks}}</p>{{/hasTasks}}
        {{#openForm}}<section class="card"><details class="more"><summary>{{t.openTask}}</summary>
        <form method="post" action="/tasks" class="stack">
          <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="key" value="{{key}}">
          <label>{{t.taskTitle}}<input name="title" required maxlength="200"></label>
          <label>{{t.taskDescription}}<textarea name="description" maxlength="2000" rows="3"></textarea></label>
          <label>{{t.hazardCategory}}<select name="category" required><option value="">—</option>{{#categories}}<option value="{{id}}">{{name}}</option>{{/categories}}</select></label>
          <label>{{t.dueBy}}<input name="dueOn" type="date" required></label>
          <fieldset><legend>{{t.chooseGrids}}</legend>{{#grids}}<label class="check"><input type="checkbox" name="grids" value="{{id}}" checked> {{name}}</label>{{/grids}}</fieldset>
          <button type="submit" class="primary">{{t.openTask}}</button>
        </form></details></section>{{/openForm}}
        """,
        "task": """
        <p><a href="/tasks">← {{t.tasksTitle}}</a></p>
        <h1>{{title}}</h1>
        {{#flash}}<p class="notice">{{flash}}</p>{{/flash}}
        <section class="card"><p>{{description}}</p><p><small>{{category}} · {{t.dueBy}} {{dueOn}} · {{t.checkedCount}} {{all}}</small></p></section>
        {{#hasHouseholds}}<section class="card"><h2>{{t.ourHouseholds}}</h2><ul class="items households">
        {{#households}}<li class="item">{{address}} <small>{{id}}</small>
          {{#ok}}<span class="ok">✓ {{t.checkedOk}}</span>{{/ok}}
          {{#hazard}}<span class="flag">⚠ {{t.hazardReported}}</span>{{#requestId}} <a href="/requests/{{requestId}}">{{t.seeRequest}}</a>{{/requestId}}{{/hazard}}
          {{#open}}<form method="post" action="/tasks/{{taskId}}/checks" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="household" value="{{id}}"><button type="submit">{{t.markChecked}}</button></form>
          <a class="button danger" href="{{hazardHref}}">{{t.reportHazard}}</a>{{/open}}</li>{{/households}}
        </ul></section>{{/hasHouseholds}}
        <section class="card"><h2>{{t.coverage}}</h2><div class="scroll"><table><thead><tr><th>{{t.grid}}</th><th>{{t.checkedCount}}</th><th>{{t.onTime}}</th><th>{{t.hazards}}</th><th>%</th></tr></thead><tbody>
        {{#grids}}<tr><td>{{name}}</td><td>{{checked}}/{{households}}</td><td>{{onTime}}</td><td>{{hazards}}</td><td>{{percent}}%{{#complete}} ✓{{/complete}}</td></tr>{{/grids}}
        {{#streets}}<tr class="total"><td>{{name}}</td><td>{{checked}}/{{households}}</td><td>{{onTime}}</td><td>{{hazards}}</td><td>{{percent}}%{{#complete}} ✓{{/complete}}</td></tr>{{/streets}}
        </tbody></table></div></section>
        """,
        "message": """
        <p><a href="/inbox">← {{t.backToInbox}}</a></p>
        """,
        "report": """
        <section class="card">
        <h1>{{t.reportTitle}}</h1>
        <p class="hint">{{t.reportHint}}</p>
        {{#hasProblems}}<ul class="error" role="alert">{{#problems}}<li>{{.}}</li>{{/problems}}</ul>{{/hasProblems}}
        <form method="post" action="/report" class="stack report-form" enctype="multipart/form-data" novalidate>
          <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="key" value="{{key}}">
          {{#household}}<input type="hidden" name="household" value="{{household}}"><p class="hint">{{t.doorPlate}}: {{household}}</p>{{/household}}
          <label>{{t.category}}<select name="category" required><option value="">—</option>{{#categories}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/categories}}</select></label>
          <label>{{t.description}}<textarea name="description" required minlength="4" maxlength="2000" rows="4">{{description}}</textarea></label>
          <label>{{t.address}}<input name="address" value="{{address}}" maxlength="200"{{^household}} required{{/household}}></label>
          <div class="geo"><button type="button" class="locate" hidden data-locating="{{t.locating}}" data-located="{{t.located}}" data-refused="{{t.locationRefused}}">{{t.useLocation}}</button> <span class="hint geo-status"></span>
            <input type="hidden" name="latitude" value="{{latitude}}"><input type="hidden" name="longitude" value="{{longitude}}"></div>
          <label>{{t.photo}}<input type="file" name="photo" accept="image/jpeg,image/png" capture="environment"></label>
          <label>{{t.yourName}}<input name="name" value="{{name}}" required maxlength="100" autocomplete="name"></label>
          <label>{{t.yourPhone}}<input name="phone" value="{{phone}}" required type="tel" inputmode="tel" maxlength="20" autocomplete="tel"></label>
          <label>{{t.yourEmail}}<input name="email" value="{{email}}" type="email" maxlength="200" autocomplete="email"></label>
          <p class="hint">{{t.phonePrivacy}}</p>
          <button type="submit" class="primary">{{t.send}}</button>
        </form>
        </section>
        """,
        "status": """
        <section class="card">
          <h1>{{t.statusTitle}} <small>{{shortId}}</small></h1>
          {{#isNew}}<p class="notice" role="status">{{t.reportReceived}}</p>{{/isNew}}
          {{#photoRefused}}<p class="error" role="alert">{{t.photoRefused}}</p>{{/photoRefused}}
          <ol class="steps">{{#steps}}<li class="{{#done}}done{{/done}}{{#current}}current{{/current}}">{{name}}</li>{{/steps}}</ol>
          <p class="state-sentence">{{stateLabel}}</p>
          <dl class="facts">
            <dt>{{t.category}}</dt><dd>{{category}}</dd>
            <dt>{{t.description}}</dt><dd class="description">{{description}}</dd>
            {{#agency}}<dt>{{t.unit}}</dt><dd class="agency">{{agency}}</dd>{{/agency}}
            {{#expected}}<dt>{{t.expected}}</dt><dd>{{expected}}</dd>{{/expected}}
            <dt>{{t.reporter}}</dt><dd>{{reporter}}</dd>
          </dl>
          {{#hasPhotos}}<div class="photos">{{#photos}}<a href="{{href}}"><img src="{{src}}" alt="{{label}}" loading="lazy"><small>{{label}}</small></a>{{/photos}}</div>{{/hasPhotos}}
        </section>
        <section class="card">
          <h2>{{t.whatWasDone}}</h2>
          <ol class="trail">{{#trail}}<li><time>{{at}}</time> <b>{{what}}</b>{{#detail}}<br><span class="detail">{{detail}}</span>{{/detail}}</li>{{/trail}}</ol>
        </section>
        <p class="hint">{{t.keepLink}}</p>
        """,
        "followup": """
        <section class="card">
          <h1>{{t.followUpTitle}} <small>{{shortId}}</small></h1>
          {{#category}}<p><b>{{category}}</b> · <span class="description">{{description}}</span></p>{{/category}}
          {{#answered}}<p class="notice">{{t.alreadyAnswered}} {{stateLabel}}</p><p><a href="/status/{{requestId}}">{{t.seeStatus}}</a></p>{{/answered}}
          {{^answered}}
          <form method="post" action="/followup/{{requestId}}" class="stack followup-form">
            <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="version" value="{{version}}"><input type="hidden" name="signature" value="{{signature}}">
            <fieldset><legend>{{t.qContacted}}</legend>
              <label class="choice"><input type="radio" name="contacted" value="yes" required> {{t.yes}}</label><label class="choice"><input type="radio" name="contacted" value="no"> {{t.no}}</label></fieldset>
            <fieldset><legend>{{t.qSolved}}</legend>
              <label class="choice"><input type="radio" name="solved" value="yes" required> {{t.yes}}</label><label class="choice"><input type="radio" name="solved" value="no"> {{t.no}}</label></fieldset>
            <fieldset><legend>{{t.qSatisfied}}</legend>
              <label class="choice"><input type="radio" name="satisfaction" value="satisfied" required> {{t.satisfied}}</label>
              <label class="choice"><input type="radio" name="satisfaction" value="basically-satisfied"> {{t.basicallySatisfied}}</label>
              <label class="choice"><input type="radio" name="satisfaction" value="unsatisfied"> {{t.unsatisfied}}</label></fieldset>
            <label>{{t.anythingElse}}<textarea name="note" maxlength="2000" rows="2"></textarea></label>
            <button type="submit" class="primary">{{t.sendAnswer}}</button>
          </form>
          {{/answered}}
        </section>
        """,
        "submit": """
        <p><a href="/inbox">← {{t.backToInbox}}</a></p>
        <section class="card">
        <h1>{{t.submitTitle}}</h1>
        {{#hasProblems}}<ul class="error" role="alert">{{#problems}}<li>{{.}}</li>{{/problems}}</ul>{{/hasProblems}}
        {{#hasGrids}}
        <form method="get" action="/submit" class="stack grid-choice">
          <label>{{t.grid}}<select name="grid">{{#grids}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/grids}}</select></label>
          <button type="submit">{{t.chooseGrid}}</button>
        </form>
        {{/hasGrids}}
        <form method="post" action="/submit" class="stack submit-form" enctype="multipart/form-data" novalidate>
          <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="key" value="{{key}}"><input type="hidden" name="grid" value="{{grid}}">
          {{#hasTask}}<input type="hidden" name="task" value="{{task}}"><p class="hint">{{t.taskHazard}}</p>{{/hasTask}}
          <label>{{t.category}}<select name="category" required><option value="">—</option>{{#categories}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/categories}}</select></label>
          <label>{{t.description}}<textarea name="description" required minlength="4" maxlength="2000" rows="4">{{description}}</textarea></label>
          {{#hasHouseholds}}<label>{{t.household}} <small>{{gridName}}</small><select name="household"><option value="">—</option>{{#households}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{address}}</option>{{/households}}</select></label>{{/hasHouseholds}}
          <label>{{t.address}}<input name="address" value="{{address}}" maxlength="200"></label>
          <div class="geo"><button type="button" class="locate" hidden data-locating="{{t.locating}}" data-located="{{t.located}}" data-refused="{{t.locationRefused}}">{{t.useLocation}}</button> <span class="hint geo-status"></span>
            <input type="hidden" name="latitude" value="{{latitude}}"><input type="hidden" name="longitude" value="{{longitude}}"></div>
          <label>{{t.photo}}<input type="file" name="photo" accept="image/jpeg,image/png" capture="environment"></label>
          <label>{{t.residentName}}<input name="name" value="{{name}}" required maxlength="100" autocomplete="off"></label>
          <label>{{t.residentPhone}}<input name="phone" value="{{phone}}" required type="tel" inputmode="tel" maxlength="20" autocomplete="off"></label>
          <button type="submit" class="primary">{{t.send}}</button>
        </form>
        </section>
        """,
        "request": """
        <p><a href="/inbox">← {{t.backToInbox}}</a></p>
        <section class="card">
          <h1>{{category}} <small class="state">{{stateLabel}}</small></h1>
          <p class="description">{{description}}</p>
          <dl class="facts">
            <dt>{{t.unit}}</dt><dd>{{unit}}</dd>
            <dt>{{t.place}}</dt><dd>{{place}}</dd>
            <dt>{{t.reporter}}</dt><dd>{{reporter}}
              {{#contactPhone}}<a class="call" href="{{contactTel}}">{{t.call}} {{contactPhone}}</a>{{/contactPhone}}
              {{#mayShowNumber}}<form method="post" action="/requests/{{requestId}}/contact" class="inline show-number"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" class="link">{{t.showNumber}}</button></form>{{/mayShowNumber}}
            </dd>
            {{#due}}<dt>{{t.due}}</dt><dd><span class="due" data-due="{{due}}" data-late="{{t.late}}" data-left="{{t.left}}">{{dueText}}</span></dd>{{/due}}
          </dl>
          {{#duplicate}}<p class="hint">{{t.possibleDuplicate}} <a href="/requests/{{duplicate}}">{{duplicate}}</a></p>{{/duplicate}}
          {{#hasPhotos}}<div class="photos">{{#photos}}<a href="{{href}}"><img src="{{src}}" alt="{{label}}" loading="lazy"><small>{{label}}</small></a>{{/photos}}</div>{{/hasPhotos}}
        </section>
        {{#hasActions}}
        <section class="card actions">
          <h2>{{t.actions}}</h2>
          {{#actions}}
          {{#collapsed}}<details class="more"><summary>{{label}}</summary>{{/collapsed}}
          <form method="post" action="/requests/{{requestId}}/act" class="stack action-{{action}}"{{#needsPhoto}} enctype="multipart/form-data"{{/needsPhoto}}>
            <input type="hidden" name="csrf" value="{{csrf}}">
            <input type="hidden" name="action" value="{{action}}">
            <input type="hidden" name="key" value="{{key}}">
            {{#suggestion}}<p class="hint suggestion">{{suggestion}}</p><input type="hidden" name="suggested" value="{{suggested}}"><input type="hidden" name="confidence" value="{{confidence}}">{{/suggestion}}
            {{#needsNote}}<label>{{noteLabel}}<textarea name="note" required maxlength="2000" rows="2"></textarea></label>{{/needsNote}}
            {{#optionalNote}}<label>{{noteLabel}}<textarea name="note" maxlength="2000" rows="2"></textarea></label>{{/optionalNote}}
            {{#needsDepartments}}<label>{{t.departments}}<select name="departments" multiple required>{{#departments}}<option value="{{id}}">{{name}}</option>{{/departments}}</select></label>{{/needsDepartments}}
            {{#needsTarget}}<label>{{t.target}}<input name="target" required placeholder="grid:hongxing-3" maxlength="80"></label>{{/needsTarget}}
            {{#needsInto}}<label>{{t.into}}<input name="into" required value="{{suggestedInto}}" maxlength="40"></label>{{/needsInto}}
            {{#needsReport}}<label>{{t.report}}<input name="report" required maxlength="40"></label>{{/needsReport}}
            {{#needsCategory}}<label>{{t.category}}<select name="category" required>{{#categories}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/categories}}</select></label>{{/needsCategory}}
            {{#needsSatisfaction}}<label>{{t.satisfaction}}<select name="satisfaction" required>
              <option value="satisfied">{{t.satisfied}}</option><option value="basically-satisfied">{{t.basicallySatisfied}}</option><option value="unsatisfied">{{t.unsatisfied}}</option>
            </select></label>{{/needsSatisfaction}}
            {{#needsPhoto}}<label>{{t.photoAfter}}<input type="file" name="photo" accept="image/jpeg,image/png" capture="environment"></label>{{/needsPhoto}}
            <button type="submit" class="{{style}}">{{label}}</button>
          </form>
          {{#collapsed}}</details>{{/collapsed}}
          {{/actions}}
        </section>
        {{/hasActions}}
        {{#visitHousehold}}
        <section class="card">
          <details class="more"><summary>{{t.logVisit}}</summary>
          <form method="post" action="/requests/{{requestId}}/visit" class="stack visit-form">
            <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="key" value="{{visitKey}}">
            <input type="hidden" name="household" value="{{visitHousehold}}">
            <p class="hint">{{t.household}}: {{visitHousehold}}</p>
            <label>{{t.visitNote}}<textarea name="note" maxlength="2000" rows="2"></textarea></label>
            <button type="submit">{{t.logVisit}}</button>
          </form>
          </details>
        </section>
        {{/visitHousehold}}
        <section class="card">
          <h2>{{t.trail}} {{#verified}}<small class="ok">✓ {{t.verified}}</small>{{/verified}}{{^verified}}<small class="error">{{t.notVerified}}</small>{{/verified}}</h2>
          <ol class="trail">
          {{#trail}}<li><time>{{at}}</time> <b>{{what}}</b>{{#actor}} · {{actor}}{{/actor}}{{#unit}} · {{unit}}{{/unit}}{{#detail}}<br><span class="detail">{{detail}}</span>{{/detail}}</li>{{/trail}}
          </ol>
        </section>
        """,
    ]

    /// Every template's text (for the words check).
    package static var templateTexts: [String] { Array(templates.values) }

    /// The pages' words.
    package static func words(_ language: String) -> [String: String] {
        language == "en" ? english : chinese
    }

    static let chinese: [String: String] = [
        "signInTitle": "工作人员登录", "staffId": "工号", "secret": "登录密码", "signIn": "登录", "signOut": "退出",
        "signInHint": "登录密码由管理员用 gridloop auth credential 发放。",
        "inboxTitle": "待办", "all": "全部", "summons": "吹哨报到", "new": "新", "overdue": "已超时", "late": "已超时", "left": "剩余",
        "possibleDuplicate": "可能与另一件重复", "nothingOpen": "没有待办事项。", "more": "更多", "dashboard": "督办看板",
        "tasksTitle": "未诉先办", "tasksHint": "不等居民反映，先入户排查：每户查过点“已查”，发现隐患就上报，自动关联本任务。",
        "noTasks": "暂无任务。", "openTask": "发起排查任务", "taskTitle": "任务", "taskDescription": "要求", "hazardCategory": "隐患上报类别",
        "dueBy": "完成时限", "chooseGrids": "下达到的网格", "checkedCount": "已查", "ourHouseholds": "本网格住户", "checkedOk": "已查，无隐患",
        "hazardReported": "发现隐患，已上报", "seeRequest": "查看诉求", "markChecked": "已查，无隐患", "reportHazard": "发现隐患", "coverage": "覆盖情况",
        "onTime": "按时", "hazards": "隐患", "taskOpened": "任务已下达到各网格。", "householdChecked": "已登记。",
        "taskHazard": "未诉先办：本户发现的隐患，提交后关联到排查任务。", "unreachable": "服务暂时无法连接，请重试。",
        "expired": "页面已过期，未提交，请重试。", "notDone": "未完成：",
        "backToInbox": "返回待办", "unit": "当前处理单位", "place": "地点", "reporter": "反映人", "due": "时限", "actions": "可以做的",
        "departments": "吹哨的部门", "target": "改派到", "into": "并入的诉求编号", "report": "要并入本事件的诉求编号", "satisfaction": "居民评价",
        "satisfied": "满意", "basicallySatisfied": "基本满意", "unsatisfied": "不满意", "trail": "处理记录", "verified": "记录链已核验",
        "notVerified": "记录链核验未通过", "done": "已完成：",
        "newRequest": "新建诉求", "submitTitle": "新建诉求", "grid": "网格", "chooseGrid": "选择网格", "category": "类别", "description": "问题描述",
        "household": "住户", "address": "地址", "useLocation": "使用当前位置", "residentName": "居民姓名", "residentPhone": "居民电话", "send": "提交",
        "done-submitted": "已提交，诉求已受理。", "done-visit": "走访已登记。", "logVisit": "登记入户走访", "visitNote": "走访情况",
        "showNumber": "显示号码", "call": "拨打", "doorPlates": "门牌", "waiting": "没有网络时保存的 %d 件，联网后自动发送。",
        "waitingRefused": "离线保存的 %d 件未被受理（表单已过期或内容有误），请重新填写。", "myAssessment": "我的考核", "locating": "正在定位…", "located": "已定位",
        "locationRefused": "无法定位，请填写地址。",
        "reportTitle": "反映问题", "reportHint": "无需注册。您的电话只给办理人员看，用于联系您。", "doorPlate": "门牌", "yourName": "您的姓名", "yourPhone": "您的电话",
        "yourEmail": "邮箱（可不填，用于接收进度）", "photo": "照片（可不填，JPEG/PNG，10MB以内）", "photoAfter": "办结照片（可不填）",
        "photoRefused": "诉求已受理，但照片未能添加（须为10MB以内的JPEG或PNG）。", "done-submitted-photo-refused": "诉求已受理，但照片未能添加（须为10MB以内的JPEG或PNG）。",
        "phonePrivacy": "提交后会给您一个查看进度的链接；办结后我们会请您评价。", "statusTitle": "办理进度", "reportReceived": "已收到您的反映。请保存本页链接查看进度。",
        "expected": "预计办结", "whatWasDone": "办理经过", "keepLink": "收藏本页即可随时查看进度。", "followUpTitle": "回访评价",
        "alreadyAnswered": "这件诉求已评价过或有了新进展：", "seeStatus": "查看办理进度", "qContacted": "办理人员联系过您吗？", "qSolved": "问题解决了吗？",
        "qSatisfied": "您对办理结果满意吗？", "yes": "是", "no": "否", "anythingElse": "还想说的（可不填）", "sendAnswer": "提交评价",
        "noticesTitle": "上情下达", "consultationsTitle": "议事", "wishesTitle": "微心愿", "pointsTitle": "绿币积分",
    ]

    static let english: [String: String] = [
        "signInTitle": "Staff sign-in", "staffId": "Staff id", "secret": "Sign-in secret", "signIn": "Sign in", "signOut": "Sign out",
        "signInHint": "Your sign-in secret comes from an operator (gridloop auth credential).",
        "inboxTitle": "Inbox", "all": "All", "summons": "Summons", "new": "New", "overdue": "Overdue", "late": "late by", "left": "left",
        "possibleDuplicate": "Possibly a duplicate of another request", "nothingOpen": "Nothing open.", "more": "More",
        "dashboard": "Supervisors' dashboard",
        "tasksTitle": "Proactive checks",
        "tasksHint": "Check every household before anyone complains: mark each one checked, report a hazard found (it is linked to the task).",
        "noTasks": "No tasks.", "openTask": "Open a check for grids", "taskTitle": "Task", "taskDescription": "What to check",
        "hazardCategory": "Category of hazards found", "dueBy": "Due", "chooseGrids": "Grids it goes to", "checkedCount": "Checked",
        "ourHouseholds": "Our households", "checkedOk": "checked, nothing wrong", "hazardReported": "hazard found and reported",
        "seeRequest": "See the request", "markChecked": "Checked, nothing wrong", "reportHazard": "Hazard found", "coverage": "Coverage",
        "onTime": "On time", "hazards": "Hazards", "taskOpened": "The task has gone to its grids.", "householdChecked": "Recorded.",
        "taskHazard": "Proactive check: a hazard found at this household, linked to the task when sent.",
        "unreachable": "The service is not reachable right now. Try again.", "expired": "The form expired; nothing was sent. Try again.",
        "notDone": "Not done: ",
        "backToInbox": "Back to the inbox", "unit": "Held by", "place": "Place", "reporter": "Reported by", "due": "Deadline",
        "actions": "What you can do",
        "departments": "Departments to summon", "target": "Move to", "into": "Merge into request", "report": "Request to link into this incident",
        "satisfaction": "The resident's verdict",
        "satisfied": "Satisfied", "basicallySatisfied": "Basically satisfied", "unsatisfied": "Unsatisfied", "trail": "Trail",
        "verified": "trail verified",
        "notVerified": "trail failed verification", "done": "Done: ",
        "newRequest": "New request", "submitTitle": "New request", "grid": "Grid", "chooseGrid": "Choose the grid", "category": "Category",
        "description": "What is the problem", "household": "Household", "address": "Address", "useLocation": "Use my location",
        "residentName": "Resident's name",
        "residentPhone": "Resident's phone", "send": "Send", "done-submitted": "Sent: the request is received.", "done-visit": "Visit logged.",
        "logVisit": "Log a household visit", "visitNote": "What you found", "showNumber": "Show number", "call": "Call", "doorPlates": "Door plates",
        "waiting": "%d saved without signal, sent by itself when the network is back.",
        "waitingRefused": "%d kept offline were refused (the form expired or was not valid); please fill them in again.",
        "myAssessment": "My assessment",
        "locating": "Finding your location…", "located": "Location found", "locationRefused": "No location: give an address.",
        "reportTitle": "Report a problem", "reportHint": "No account needed. Your phone is shown only to the staff handling it, to reach you.",
        "doorPlate": "Door plate", "yourName": "Your name", "yourPhone": "Your phone", "yourEmail": "Email (optional, for updates)",
        "photo": "Photo (optional, JPEG/PNG up to 10 MB)", "photoAfter": "Photo of the result (optional)",
        "photoRefused": "The report is received, but the photo could not be added (a JPEG or PNG up to 10 MB).",
        "done-submitted-photo-refused": "The request is received, but the photo could not be added (a JPEG or PNG up to 10 MB).",
        "phonePrivacy": "You get a link to follow its progress; once it is solved we ask for your verdict.", "statusTitle": "Progress",
        "reportReceived": "Your report is received. Keep this page's link to follow it.", "expected": "Expected by", "whatWasDone": "What was done",
        "keepLink": "Bookmark this page to check the progress any time.", "followUpTitle": "Your verdict",
        "alreadyAnswered": "This request was already answered or has moved on:",
        "seeStatus": "See the progress", "qContacted": "Did the staff contact you?", "qSolved": "Is the problem solved?",
        "qSatisfied": "Are you satisfied with the result?",
        "yes": "Yes", "no": "No", "anythingElse": "Anything else (optional)", "sendAnswer": "Send",
        "noticesTitle": "Notices", "consultationsTitle": "Consultations", "wishesTitle": "Micro-wishes", "pointsTitle": "Green points",
    ]

    /// Each action's button, the note's label, and whether a note is required.
    package static func action(_ action: StaffCommand.Action, language: String) -> (label: String, note: String?, required: Bool) {
        let en = language == "en"
        switch action {
        case .claim: return (en ? "Claim" : "认领", nil, false)
        case .resolve: return (en ? "Resolve" : "办结", en ? "What was done" : "处理结果", true)
        case .escalate: return (en ? "Escalate" : "上报", en ? "Why it cannot be settled here" : "上报原因", true)
        case .return: return (en ? "Return for arbitration" : "退回街道协调", en ? "Why it is not ours" : "退回原因", true)
        case .summon: return (en ? "Summon departments (吹哨报到)" : "吹哨报到", en ? "What they should bring" : "说明", false)
        case .reassign: return (en ? "Reassign" : "改派", en ? "Why" : "原因", false)
        case .reject: return (en ? "Reject" : "不予受理", en ? "Why" : "原因", true)
        case .merge: return (en ? "Merge into another" : "合并", en ? "Why" : "原因", true)
        case .link: return (en ? "Link into an incident" : "并入事件", en ? "Why it is the same problem" : "并入原因", true)
        case .unlink: return (en ? "Take out of the incident" : "移出事件", en ? "Why it is a different problem" : "移出原因", true)
        case .recategorize: return (en ? "Correct the category" : "更正类别", en ? "Why (optional)" : "更正原因（可选）", false)
        case .feedback: return (en ? "Record the on-site check" : "回访登记", en ? "What you saw on site" : "现场核实情况", false)
        }
    }

    /// A request or inbox state in words.
    package static func state(_ state: String, language: String) -> String {
        let en = language == "en"
        switch state {
        case "received": return en ? "received" : "已受理"
        case "assigned": return en ? "waiting to be claimed" : "待认领"
        case "claimed": return en ? "in hand" : "处理中"
        case "resolved": return en ? "resolved, awaiting the verdict" : "已办结待回访"
        case "closed": return en ? "closed" : "已办结"
        case "rejected": return en ? "rejected" : "不予受理"
        case "merged": return en ? "merged" : "已合并"
        case "summoned": return en ? "summoned" : "待报到"
        case "acknowledged": return en ? "acknowledged" : "已报到"
        default: return state
        }
    }

    /// "2小时5分" / "2 h 5 min".
    package static func span(_ seconds: Int, language: String) -> String {
        let seconds = max(seconds, 0)
        let en = language == "en"
        let days = seconds / 86_400
        let hours = seconds % 86_400 / 3600
        let minutes = seconds % 3600 / 60
        if days > 0 { return en ? "\(days) d \(hours) h" : "\(days)天\(hours)小时" }
        if hours > 0 { return en ? "\(hours) h \(minutes) min" : "\(hours)小时\(minutes)分" }
        return en ? "\(max(minutes, 1)) min" : "\(max(minutes, 1))分钟"
    }

    /// Time left until `due` or how late, in words.
    package static func due(_ due: Date, now: Date, language: String) -> String {
        let seconds = Int(due.timeIntervalSince(now))
        let words = Self.words(language)
        return seconds >= 0 ? "\(words["left"]!) \(span(seconds, language: language))" : "\(words["late"]!) \(span(-seconds, language: language))"
    }
}
