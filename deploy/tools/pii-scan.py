#!/usr/bin/env python3
"""Scans what the test run left behind for residents' raw phone numbers.

Looks at the services' logs, every outbox payload, the dead letters, the read models behind the
CSV exports, the event store, and every notification (staff and residents, deliveries and
digests). A mainland mobile number (11 digits, 13x-19x) that is not a staff member's work
number from the org is a finding. Exit status 1 with the findings listed, 0 when there are none.

  pii-scan.py --database URL --logs DIR [--dead-letters FILE]
"""
import argparse
import glob
import os
import re
import subprocess
import sys

# Eleven digits standing alone: not part of a longer number, of a decimal (coordinates like
# 103.16417191421 are no phone), or of a hex run (a UUID's last group can hold eleven digits);
# "tel.13800001234", "电话13800001234" and "phone":"13800001234" are phones.
MOBILE = re.compile(r"(?<![0-9A-Fa-f\-])(?<!\d\.)1[3-9]\d{9}(?![0-9A-Fa-f\-])(?!\.\d)")


def psql(url, sql):
    out = subprocess.run(["psql", url, "-X", "-A", "-t", "-F", "\t", "-c", sql], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--logs", required=True)
    parser.add_argument("--dead-letters", help="output of `gridloop dead-letters list --body`")
    args = parser.parse_args()

    staff = set(line.strip() for line in psql(args.database, "SELECT phone FROM notification.recipients WHERE phone IS NOT NULL") if line.strip())
    places = {}

    def scan(where, text):
        for number in MOBILE.findall(text):
            if number not in staff:
                places.setdefault(where, set()).add(number)

    counts = {}
    sources = {
        "outbox payloads": [f"SELECT body FROM {schema}.outbox" for schema in ("intake", "routing", "notification", "reporting")],
        "event store (reporting.events)": ["SELECT body FROM reporting.events"],
        "read models behind the CSV exports": ["SELECT reporter_phone FROM reporting.requests", "SELECT coalesce(description, '') FROM reporting.requests"],
        "notifications (deliveries)": ["SELECT target || ' ' || payload FROM notification.deliveries"],
        "notifications (digests)": ["SELECT target || ' ' || line FROM notification.digest_items"],
        "notification contacts": ["SELECT coalesce(reporter_phone, '') FROM notification.requests"],
        "intake requests": ["SELECT reporter_phone FROM intake.requests"],
    }
    for name, queries in sources.items():
        counts[name] = 0
        for sql in queries:
            try:
                rows = psql(args.database, sql)
            except subprocess.CalledProcessError as error:
                if "does not exist" in error.stderr:
                    continue
                raise
            counts[name] += len(rows)
            for row in rows:
                scan(name, row)
    logs = [path for path in glob.glob(os.path.join(args.logs, "*.log"))]
    counts["service logs"] = len(logs)
    for path in logs:
        with open(path, encoding="utf-8", errors="replace") as handle:
            scan(f"log {os.path.basename(path)}", handle.read())
    if args.dead_letters:
        with open(args.dead_letters, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        counts["dead letters"] = text.count(" bytes\t")
        scan("dead letters", text)

    print("scanned: " + ", ".join(f"{name} {count}" for name, count in counts.items()) + f"; {len(staff)} staff work numbers allowed")
    if places:
        for where, numbers in sorted(places.items()):
            print(f"raw phone numbers in {where}: {', '.join(sorted(numbers)[:10])}{' …' if len(numbers) > 10 else ''}")
        return 1
    print("0 raw phone numbers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
