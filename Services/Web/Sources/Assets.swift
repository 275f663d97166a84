/// The web app's style sheet and script, served from GridLoop itself (no fonts, no CDN; the
/// Content-Security-Policy allows nothing else).
package enum Assets {
    package static let css = """
        *{box-sizing:border-box}
        body{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;margin:0;color:#1d2733;background:#f3f5f7;font-size:16px;line-height:1.45}
        .bar{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center;padding:10px 14px;background:#0b5cad;color:#fff}
        .bar a,.bar .link{color:#fff}.brand{font-weight:700;text-decoration:none;margin-right:auto}.who{opacity:.9}
        form.inline{display:inline;margin:0}button.link{background:none;border:0;padding:0;font:inherit;text-decoration:underline;cursor:pointer}
        main{max-width:860px;margin:0 auto;padding:12px}
        h1{font-size:1.3em;margin:.4em 0}h1 small{font-weight:normal;color:#556;font-size:.7em}h2{font-size:1.05em;margin:.2em 0 .6em}
        .card{background:#fff;border-radius:10px;padding:12px 14px;margin:10px 0;box-shadow:0 1px 2px #0002}.narrow{max-width:420px;margin:24px auto}
        .stack{display:flex;flex-direction:column;gap:10px;margin:8px 0 14px}
        label{display:flex;flex-direction:column;gap:4px;font-weight:600}
        input,textarea,select{font:inherit;padding:10px;border:1px solid #b8c2cc;border-radius:8px;background:#fff;width:100%}
        button{font:inherit;padding:11px 14px;border-radius:8px;border:1px solid #0b5cad;background:#fff;color:#0b5cad;cursor:pointer;min-height:44px}
        button.primary{background:#0b5cad;color:#fff}button.danger{border-color:#b3261e;color:#b3261e}
        .notice{background:#e6f4ea;border-left:4px solid #2e7d32;padding:8px 10px;border-radius:6px}
        .error{background:#fdecea;border-left:4px solid #b3261e;padding:8px 10px;border-radius:6px;color:#8c1d18}
        small.error,small.ok{background:none;border:0;padding:0}.ok{color:#2e7d32}
        .hint{color:#5f6b76;font-size:.92em}.empty{color:#778;padding:20px 0;text-align:center}
        .filters{display:flex;gap:8px;overflow-x:auto;padding-bottom:4px}
        .chip{white-space:nowrap;padding:6px 10px;border-radius:16px;background:#fff;border:1px solid #c9d2db;color:#1d2733;text-decoration:none}
        .chip.active{background:#0b5cad;color:#fff;border-color:#0b5cad}.summary{color:#556;margin:6px 0}
        .items{list-style:none;padding:0;margin:0}
        .item{background:#fff;border-radius:10px;margin:8px 0;box-shadow:0 1px 2px #0002;border-left:5px solid #9fb3c8}
        .item.warning{border-left-color:#e8a200}.item.overdue{border-left-color:#b3261e}
        .item a{display:flex;flex-direction:column;gap:3px;padding:10px 12px;color:inherit;text-decoration:none}
        .head{display:flex;flex-wrap:wrap;gap:6px;align-items:center}.category{font-weight:700}.state{color:#556;margin-left:auto;font-size:.9em}
        .description{overflow-wrap:anywhere}.meta{color:#667;font-size:.88em}
        .due{font-weight:600;color:#35495e}.overdue .due,.due.late{color:#b3261e}.warning .due{color:#9a6b00}
        .badge{font-size:.78em;padding:1px 7px;border-radius:10px;background:#e3e8ee}
        .badge.new{background:#0b5cad;color:#fff}.badge.late{background:#b3261e;color:#fff}.badge.summons{background:#6a1b9a;color:#fff}
        .facts{display:grid;grid-template-columns:auto 1fr;gap:4px 12px;margin:8px 0}.facts dt{color:#667}.facts dd{margin:0;overflow-wrap:anywhere}
        .trail{padding-left:20px;margin:0}.trail li{margin:6px 0}.trail time{color:#667;font-size:.88em}.detail{color:#445;overflow-wrap:anywhere}
        details.more{border-top:1px solid #e3e8ee;padding:6px 0}details.more summary{cursor:pointer;color:#0b5cad;padding:8px 0;min-height:40px}
        .tools{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center}a.button{display:inline-block;padding:9px 14px;border-radius:8px;background:#0b5cad;color:#fff;text-decoration:none}
        a.call{display:inline-block;margin-top:4px;padding:6px 12px;border-radius:8px;background:#2e7d32;color:#fff;text-decoration:none}
        ul.error{margin:0 0 10px;padding-left:26px}.geo{display:flex;gap:8px;align-items:center;flex-wrap:wrap}
        .steps{list-style:none;display:flex;gap:4px;padding:0;margin:8px 0;flex-wrap:wrap}.steps li{flex:1 1 70px;padding:6px;border-radius:6px;background:#e3e8ee;color:#556;font-size:.85em;text-align:center}
        .steps li.done{background:#cfe3f7;color:#0b5cad}.steps li.current{background:#0b5cad;color:#fff;font-weight:600}.state-sentence{font-weight:600}
        fieldset{border:1px solid #c9d2db;border-radius:8px;padding:8px 12px;margin:0}legend{font-weight:600;padding:0 4px}
        label.choice{display:inline-flex;flex-direction:row;align-items:center;gap:6px;font-weight:normal;margin:4px 14px 4px 0;min-height:36px}label.choice input{width:auto}
        .photos{display:flex;flex-wrap:wrap;gap:8px;margin-top:8px}.photos a{display:flex;flex-direction:column;align-items:center;text-decoration:none;color:#556}
        .photos img{width:96px;height:96px;object-fit:cover;border-radius:6px;border:1px solid #c9d2db}input[type=file]{padding:8px;font-size:.9em}
        .queue-refused{background:#fdecea;border-left:4px solid #b3261e;padding:8px 10px;border-radius:6px;color:#8c1d18}
        .queue{background:#fff4e0;border-left:4px solid #e8a200;padding:8px 10px;border-radius:6px}
        @media (min-width:720px){.actions{display:grid;grid-template-columns:1fr 1fr;gap:0 16px}.actions h2{grid-column:1/-1}}
        """ + "\n" + WebController.plateCSS + "\n" + CommunityPages.css

    /// Live deadlines (every 30 s) and a quiet refresh of the inbox every 60 s while visible.
    package static let js = """
        "use strict";
        (function () {
          function words(seconds, lang) {
            seconds = Math.max(0, Math.floor(seconds));
            var d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600), m = Math.floor(seconds % 3600 / 60);
            if (lang === "en") return d > 0 ? d + " d " + h + " h" : h > 0 ? h + " h " + m + " min" : Math.max(m, 1) + " min";
            return d > 0 ? d + "天" + h + "小时" : h > 0 ? h + "小时" + m + "分" : Math.max(m, 1) + "分钟";
          }
          function tick() {
            var lang = document.body.getAttribute("data-lang");
            document.querySelectorAll(".due[data-due]").forEach(function (el) {
              var left = (Date.parse(el.getAttribute("data-due")) - Date.now()) / 1000;
              el.textContent = left >= 0 ? el.getAttribute("data-left") + " " + words(left, lang) : el.getAttribute("data-late") + " " + words(-left, lang);
              el.classList.toggle("late", left < 0);
            });
          }
          tick();
          setInterval(tick, 30000);
          // Each page load makes fresh form keys (a page shown from the offline copy must not
          // reuse the keys of the copy: two requests sent offline are two requests).
          if (window.crypto && crypto.randomUUID) {
            document.querySelectorAll("input[name=key]").forEach(function (input) { input.value = crypto.randomUUID(); });
          }
          // Offline: the service worker keeps what was sent without signal and sends it later.
          var queue = document.querySelector(".queue");
          function waiting(count) {
            if (!queue) return;
            queue.hidden = count === 0;
            queue.textContent = queue.getAttribute("data-words").replace("%d", count);
          }
          if ("serviceWorker" in navigator) {
            navigator.serviceWorker.register("/sw.js").catch(function () {});
            navigator.serviceWorker.addEventListener("message", function (event) {
              if (event.data && typeof event.data.waiting === "number") {
                waiting(event.data.waiting);
                if (event.data.sent > 0 && event.data.waiting === 0 && queue) queue.setAttribute("data-sent", String(event.data.sent));
                var refusals = document.querySelector(".queue-refused");
                if (refusals && event.data.refused > 0) {
                  refusals.hidden = false;
                  refusals.textContent = refusals.getAttribute("data-words").replace("%d", event.data.refused);
                }
              }
            });
            var flush = function () {
              navigator.serviceWorker.ready.then(function (registration) { if (registration.active) registration.active.postMessage("flush"); });
            };
            flush();
            // The sign-in page (after signing out): forget the pages kept for the last person.
            if (document.querySelector("form[action='/signin']")) {
              navigator.serviceWorker.ready.then(function (registration) { if (registration.active) registration.active.postMessage("forget"); });
            }
            window.addEventListener("online", flush);
            setInterval(flush, 10000);
          }
          // The phone's location for a new request, when the person allows it.
          var locate = document.querySelector("button.locate");
          if (locate && navigator.geolocation) {
            locate.hidden = false;
            var status = document.querySelector(".geo-status");
            locate.addEventListener("click", function () {
              status.textContent = locate.getAttribute("data-locating");
              navigator.geolocation.getCurrentPosition(function (position) {
                document.querySelector("input[name=latitude]").value = position.coords.latitude.toFixed(6);
                document.querySelector("input[name=longitude]").value = position.coords.longitude.toFixed(6);
                status.textContent = locate.getAttribute("data-located") + " " + position.coords.latitude.toFixed(5) + ", " + position.coords.longitude.toFixed(5);
              }, function () { status.textContent = locate.getAttribute("data-refused"); }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
            });
          }
          if (location.pathname === "/inbox") {
            setInterval(function () { if (document.visibilityState === "visible") location.reload(); }, 60000);
          }
        })();
        """
}
