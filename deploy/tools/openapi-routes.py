#!/usr/bin/python3
"""Fails when the HTTP routes registered in the code and the operations in docs/openapi.yaml
differ (a route added without being described, or described but gone). Run by
`deploy/local.sh test`; schemathesis then checks the document against the live services."""
import pathlib
import re
import sys

import yaml

root = pathlib.Path(__file__).resolve().parents[2]
registered = set()
for source in list(root.glob("Services/*/Sources/**/*.swift")) + list(root.glob("Shared/ServiceSupport/*.swift")):
    text = source.read_text(encoding="utf-8")
    # `router.get("…")` (or `router.get(RouterPath("…"))`), and reporting's `district("…", …)`, which registers a GET for supervisors.
    routes = re.findall(r'router\.(get|post|put|patch|delete)\((?:RouterPath\()?"([^"]+)"', text) + [("get", path) for path in re.findall(r'\bdistrict\("([^"]+)"', text)]
    for method, path in routes:
        # `for format in ["", ".csv"]` registers each table twice.
        variants = [path.replace("\\(format)", ""), path.replace("\\(format)", ".csv")] if "\\(format)" in path else [path]
        for variant in variants:
            registered.add((method, "/" + re.sub(r":([A-Za-z]+)", r"{\1}", variant).lstrip("/")))

document = yaml.safe_load((root / "docs/openapi.yaml").read_text(encoding="utf-8"))
described = {(method, path) for path, item in document["paths"].items() for method in item if method in ("get", "post", "put", "patch", "delete")}

missing = sorted(registered - described)
stale = sorted(described - registered)
for method, path in missing:
    print(f"not in docs/openapi.yaml: {method.upper()} {path}", file=sys.stderr)
for method, path in stale:
    print(f"in docs/openapi.yaml but not served: {method.upper()} {path}", file=sys.stderr)
if missing or stale:
    sys.exit(1)
print(f"docs/openapi.yaml describes all {len(registered)} routes")
