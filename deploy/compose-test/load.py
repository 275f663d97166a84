#!/usr/bin/python3
"""Requests through the compose stack's intake, and their reconciliation (deploy/compose-test.sh).

    load.py submit --ports-file F --prefix P --count N --rate R --out IDS [--stop-file S]
        N requests at R a second, round-robin over the intake host ports listed in F (one a
        line; re-read before every request, so replicas added meanwhile get traffic). Each has
        the Idempotency-Key P-<n> and is retried with the same key (connection refused, 5xx,
        429 after Retry-After) until intake accepts it, for at most --give-up seconds. Writes
        one line per accepted request to IDS: "<key> <id> <port> <epoch seconds>". With
        --stop-file, stops early once that file exists (N is then the most it submits; the
        request under way is finished first): the test lets the load run across a fault and
        stops it when it has seen enough after the fault.
    load.py wait --port P --ids IDS... [--state assigned] [--timeout S]
        Polls GET /v1/requests/{id} until every request has the state; prints one JSON line
        {"total", "reached", "missing": [...], "seconds", "untrusted"} (untrusted: trailVerified
        false); exit 1 if any is missing.
    load.py trail --port P --ids IDS...
        Every request's status and trail: {"total", "found", "verified", "links", "missing"}.
    load.py mail --mail MAIL.jsonl --ids IDS...
        The reporter's "received" mail for each request: {"total", "lost", "duplicated"}.

Only the standard library; talks to 127.0.0.1 only.
"""
import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

GRIDS = ["guanghua-3", "hongxing-3", "xiping-merchants-1", "hanjiaxu-1", "hanjiaxu-2", "damaidi", "zuoshuichong"]


def read_ids(paths):
    ids = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            ids += [line.split()[1] for line in f if line.strip()]
    return ids


def http(method, url, body=None, headers=None, timeout=10):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def submission(prefix, n):
    return {
        "category": "water",
        "description": f"compose test {prefix} #{n}: 停水",
        "location": {"gridId": GRIDS[n % len(GRIDS)]},
        "reporter": {"name": f"测试居民{n}", "phone": f"139{(hash(prefix) % 1000):03d}{n:05d}"[:11],
                     "email": f"{prefix}-{n}@residents.example"},
        "channel": "hotline",
    }


def submit(args):
    interval = 1.0 / args.rate
    accepted = submitted = 0
    with open(args.out, "a", encoding="utf-8") as out:
        for n in range(args.count):
            if args.stop_file and os.path.exists(args.stop_file):
                break
            submitted += 1
            started = time.monotonic()
            ports = []
            while not ports:  # the test rewrites the file (atomically) when replicas change
                with open(args.ports_file, encoding="utf-8") as f:
                    ports = [line.strip() for line in f if line.strip()]
                if not ports:
                    time.sleep(0.2)
            key = f"{args.prefix}-{n}"
            body = json.dumps(submission(args.prefix, n), ensure_ascii=False).encode()
            deadline = started + args.give_up
            attempt = 0
            while True:
                port = ports[(n + attempt) % len(ports)]
                try:
                    status, headers, data = http("POST", f"http://127.0.0.1:{port}/v1/requests", body,
                                                 {"content-type": "application/json", "Idempotency-Key": key})
                except OSError:
                    status, headers, data = 0, {}, b""
                if status in (200, 201):
                    out.write(f"{key} {json.loads(data)['id']} {port} {time.time():.3f}\n")
                    out.flush()
                    accepted += 1
                    break
                if time.monotonic() > deadline:
                    print(f"{key}: not accepted after {args.give_up}s (last status {status})", file=sys.stderr)
                    break
                attempt += 1
                time.sleep(float(headers.get("Retry-After", 1)) if status == 429 else 0.5)
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
    print(json.dumps({"prefix": args.prefix, "submitted": submitted, "accepted": accepted}))
    return 0 if accepted == submitted else 1


def wait(args):
    ids = read_ids(args.ids)
    pending = set(ids)
    untrusted = set()
    started = time.monotonic()
    while pending and time.monotonic() - started < args.timeout:
        for request_id in list(pending):
            try:
                status, _, data = http("GET", f"http://127.0.0.1:{args.port}/v1/requests/{request_id}")
            except OSError:
                continue
            if status == 200:
                document = json.loads(data)
                if document.get("state") == args.state:
                    pending.discard(request_id)
                    if not document.get("trailVerified", False):
                        untrusted.add(request_id)
        if pending:
            time.sleep(1)
    print(json.dumps({"total": len(ids), "reached": len(ids) - len(pending), "missing": sorted(pending),
                      "seconds": round(time.monotonic() - started, 1), "untrusted": sorted(untrusted)}))
    return 0 if not pending and not untrusted else 1


def trail(args):
    ids = read_ids(args.ids)
    found = verified = links = 0
    missing = []
    for request_id in ids:
        status, _, data = http("GET", f"http://127.0.0.1:{args.port}/v1/requests/{request_id}")
        if status != 200:
            missing.append(request_id)
            continue
        document = json.loads(data)
        found += 1
        verified += 1 if document.get("trailVerified") else 0
        links += len(document.get("trail", []))
    print(json.dumps({"total": len(ids), "found": found, "verified": verified, "links": links, "missing": missing}))
    return 0 if found == verified == len(ids) else 1


def mail(args):
    ids = read_ids(args.ids)
    received = {}
    with open(args.mail, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if record.get("to") and record["to"][0].endswith("@residents.example") and ":reporter:" in record.get("delivery", ""):
                received.setdefault(record["request"], []).append(record["delivery"])
    lost = [i for i in ids if i not in received]
    duplicated = [i for i in ids if len(received.get(i, [])) != len(set(received.get(i, [])))]
    # One "received" message per request: a second delivery id for the same request would be a
    # second notification of the same event.
    extra = [i for i in ids if len(set(received.get(i, []))) > 1]
    print(json.dumps({"total": len(ids), "lost": len(lost), "duplicated": len(duplicated) + len(extra),
                      "lostIds": lost[:10], "duplicatedIds": (duplicated + extra)[:10]}))
    return 0 if not lost and not duplicated and not extra else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("submit")
    p.add_argument("--ports-file", required=True)
    p.add_argument("--prefix", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--rate", type=float, default=5)
    p.add_argument("--give-up", type=float, default=180)
    p.add_argument("--out", required=True)
    p.add_argument("--stop-file")
    p = commands.add_parser("wait")
    p.add_argument("--port", required=True)
    p.add_argument("--ids", nargs="+", required=True)
    p.add_argument("--state", default="assigned")
    p.add_argument("--timeout", type=float, default=180)
    p = commands.add_parser("trail")
    p.add_argument("--port", required=True)
    p.add_argument("--ids", nargs="+", required=True)
    p = commands.add_parser("mail")
    p.add_argument("--mail", required=True)
    p.add_argument("--ids", nargs="+", required=True)
    args = parser.parse_args()
    return {"submit": submit, "wait": wait, "trail": trail, "mail": mail}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
