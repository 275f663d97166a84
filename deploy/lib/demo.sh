# shellcheck shell=bash
# The demo's data, from the seed article (../shared/seed/): the transformer story's requests
# (demo_requests) and the rest of a grid worker's job (demo_work): a first category classifier,
# 西平街道's proactive wiring check (未诉先办), the epidemic notice to the merchant grids
# (上情下达), the 韩家圩 land consultation (议事), 龙华's elders' meal wishes (微心愿) and a month of
# green-point scores in 西平 with its love supermarket (绿币爱心超市). Every step is idempotent, so
# `deploy/local.sh up` may run again on the same data.
# Sourced by deploy/local.sh; expects INTAKE_HTTP_PORT, log, and the services' environment.

# Demo requests (idempotent: fixed keys): the seed's transformer story — the 20 households of
# 光华三组 and three of 红星三组 report one power problem, which becomes one street incident —
# and a few others.
demo_requests() {
  local url="http://127.0.0.1:$INTAKE_HTTP_PORT/v1/requests" i
  post() { curl -fsS -o /dev/null -XPOST "$url" -H 'content-type: application/json' -H "Idempotency-Key: $1" -d "$2" || log "demo request $1 not accepted"; }
  for i in $(seq -w 1 20); do
    post "demo-transformer-$i" "{\"category\":\"power\",\"description\":\"电磁炉炒不了菜，电饭煲煮不了饭\",\"location\":{\"householdId\":\"guanghua-3-$i\"},
      \"reporter\":{\"name\":\"光华三组居民$i\",\"phone\":\"1380000$((1000 + 10#$i))\"},\"channel\":\"grid-worker\",\"submittedBy\":\"cui-chunhua\"}"
  done
  # 红星三组 shares the old cement-works transformer (原水泥厂变压器): its reports join the
  # incident, which then spans two grids and is handled once at 西平街道.
  for i in 01 02 03; do
    post "demo-transformer-hongxing-$i" "{\"category\":\"power\",\"description\":\"灯一闪一闪，电器带不动\",\"location\":{\"householdId\":\"hongxing-3-$i\"},
      \"reporter\":{\"name\":\"红星三组居民$i\",\"phone\":\"1380000$((2000 + 10#$i))\"},\"channel\":\"grid-worker\",\"submittedBy\":\"zhao-hongmei\"}"
  done
  post demo-water "{\"category\":\"water\",\"description\":\"停水三天\",\"location\":{\"address\":\"西平街道红星社区三组2号\"},\"reporter\":{\"name\":\"李四\",\"phone\":\"13900002222\"},\"channel\":\"hotline\"}"
  post demo-housing "{\"category\":\"housing\",\"description\":\"院墙开裂\",\"location\":{\"latitude\":25.605,\"longitude\":103.805},\"reporter\":{\"name\":\"王五\",\"phone\":\"13900003333\",\"language\":\"en\"},\"channel\":\"web\"}"
  post demo-emergency "{\"category\":\"emergency\",\"description\":\"化粪池冒气，有人头晕\",\"location\":{\"gridId\":\"hanjiaxu-1\"},\"reporter\":{\"name\":\"赵六\",\"phone\":\"13900004444\"},\"channel\":\"hotline\"}"
}

# The demo's work beyond requests, through the CLI (`$1`: the gridloop executable) as the staff
# who would do it.
demo_work() {
  local gridloop="$1" officer longhua supervisor li wu han
  # A first category classifier (no request is closed yet): GridLoop's generated labelled set.
  "$gridloop" reports train --generated 600 --floor 0.8 >/dev/null || log "the demo's category classifier was not trained"
  officer="$("$gridloop" auth token --staff xu-chunfeng 2>/dev/null || true)"
  longhua="$("$gridloop" auth token --staff tao-tao 2>/dev/null || true)"
  supervisor="$("$gridloop" auth token --staff wang-xu 2>/dev/null || true)"
  li="$("$gridloop" auth token --staff li-shangxin 2>/dev/null || true)"
  wu="$("$gridloop" auth token --staff wu-xiaoli 2>/dev/null || true)"
  han="$("$gridloop" auth token --staff han-jiayi 2>/dev/null || true)"
  if [ -z "$officer" ] || [ -z "$longhua" ] || [ -z "$supervisor" ] || [ -z "$li" ] || [ -z "$wu" ] || [ -z "$han" ]; then
    log "no staff tokens: the demo's tasks, notices, consultation, wishes and points were not made"
    return 0
  fi
  as() { local token="$1"; shift; GRIDLOOP_TOKEN="$token" "$gridloop" "$@"; }

  # 未诉先办: 西平街道's wiring check before the rainy season, for its grids.
  if ! as "$officer" tasks list 2>/dev/null | grep -q "雨季前入户检查电线"; then
    as "$officer" tasks open --title "雨季前入户检查电线" --category power --due "$(date -d '+30 days' +%F)" \
      --description "每户查看电线、插座和电表箱，发现老化发热立即上报" >/dev/null || log "the demo's proactive task was not opened"
  fi

  # 上情下达: the district's epidemic notice to every merchant grid (the seed: 6,000 shops told);
  # 李尚欣 has told three shops on her rounds.
  local notice
  if ! as "$supervisor" notices list 2>/dev/null | grep -q "商户疫情防控告知书"; then
    as "$supervisor" notices publish --kind merchants --due "$(date -d '+7 days' +%F)" \
      --title "商户疫情防控告知书" --title-en "Epidemic prevention notice to shops" \
      --body "各商户：即日起进店须扫码、测温、佩戴口罩；店内每日消毒两次并登记；员工出现发热等症状须立即报告网格员。" \
      --body-en "To every shop: from today customers scan the code, have their temperature taken and wear masks; disinfect twice a day and keep a log; report any staff fever to your grid worker at once." \
      >/dev/null || log "the demo's notice was not published"
    notice="$(as "$supervisor" notices list --json 2>/dev/null | python3 -c 'import json,sys; print(next((n["id"] for n in json.load(sys.stdin) if n["title"] == "商户疫情防控告知书"), ""))' || true)"
    if [ -n "$notice" ]; then
      as "$li" notices inform "$notice" --household xiping-merchants-1-01 --via visit >/dev/null || true
      as "$li" notices inform "$notice" --household xiping-merchants-1-02 --via visit >/dev/null || true
      as "$li" notices inform "$notice" --household xiping-merchants-1-03 --via phone --note "店主在外地，电话告知" >/dev/null || true
    fi
  fi

  # 议事: lease 韩家圩's 20 mu of collective land for a farmers' market? Two thirds of the compound's households decide.
  local consultation
  if ! as "$longhua" consultations list 2>/dev/null | grep -q "韩家圩20亩集体土地"; then
    as "$longhua" consultations open --street longhua --kind compound --rule 2/3 --ends "$(date -d '+14 days' +%F)" \
      --question "韩家圩20亩集体土地是否出租建设农贸市场？" --question-en "Lease 韩家圩's 20 mu of collective land for a farmers' market?" \
      >/dev/null || log "the demo's consultation was not opened"
    consultation="$(as "$longhua" consultations list --json 2>/dev/null | python3 -c 'import json,sys; print(next((c["id"] for c in json.load(sys.stdin) if c["question"].startswith("韩家圩20亩集体土地")), ""))' || true)"
    if [ -n "$consultation" ]; then
      as "$wu" consultations position "$consultation" --household hanjiaxu-1-01 --option yes >/dev/null || true
      as "$wu" consultations position "$consultation" --household hanjiaxu-1-02 --option yes --concerns "担心早市噪音影响休息" >/dev/null || true
      as "$wu" consultations position "$consultation" --household hanjiaxu-1-03 --option no --concerns "租金收益如何分配要公开" >/dev/null || true
      as "$han" consultations position "$consultation" --household hanjiaxu-2-01 --option yes >/dev/null || true
    fi
  fi

  # 微心愿: 龙华's left-behind elders' meal wishes (the seed: 老年幸福餐桌 for 1,990 elders); one adopted.
  local household text wish
  for household in hanjiaxu-1-04 hanjiaxu-1-05 hanjiaxu-2-02 hanjiaxu-2-03; do
    text="独居老人，希望每天中午有一份热饭菜（${household}）"
    as "$longhua" wishes list 2>/dev/null | grep -qF "$text" && continue
    case "$household" in hanjiaxu-1-*) as "$wu" wishes collect --household "$household" --kind meal --text "$text" >/dev/null ;;
      *) as "$han" wishes collect --household "$household" --kind meal --text "$text" >/dev/null ;; esac || log "the demo's wish for $household was not collected"
  done
  wish="$(as "$longhua" wishes list --state collected --json 2>/dev/null | python3 -c 'import json,sys; print(next((w["id"] for w in json.load(sys.stdin) if "hanjiaxu-1-04" in w["text"]), ""))' || true)"
  [ -n "$wish" ] && { as "$longhua" wishes adopt "$wish" --adopter-kind enterprise --adopter-name "韩家圩农贸市场" >/dev/null || true; }

  # 绿币: last month's scores of 西平's two residents' grids; the love supermarket's first donations.
  local month sheet i
  month="$(date -d "$(date +%Y-%m-01) -1 month" +%Y-%m)"
  sheet="$(mktemp)"
  echo "household,遵纪守法,热心公益,环境整洁,家风文明,勤劳致富" >"$sheet"
  for i in $(seq 1 20); do echo "guanghua-3-$(printf %02d "$i"),$((6 + i % 5)),$((5 + i % 6)),$((7 + i % 4)),$((8 + i % 3)),$((6 + i % 5))" >>"$sheet"; done
  for i in 1 2 3; do echo "hongxing-3-0$i,$((7 + i)),$((6 + i)),8,9,$((5 + i))" >>"$sheet"; done
  as "$officer" points score --month "$month" --file "$sheet" >/dev/null || log "the demo's green-point scores were not entered"
  rm -f "$sheet"
  if ! as "$officer" points goods 2>/dev/null | grep -q "大米5kg"; then
    as "$officer" points donate --goods "大米5kg" --points 30 --quantity 10 --donor "西平粮油店" >/dev/null || log "the demo's donation was not recorded"
    as "$officer" points donate --goods "洗衣液2kg" --points 15 --quantity 20 --donor "好邻居超市" >/dev/null || true
  fi
}
