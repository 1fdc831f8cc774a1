#!/usr/bin/env python3
"""make check: every route in tallyd's route table is documented in
docs/openapi.yaml, and every documented operation exists in the table."""
import os
import re
import subprocess
import sys

top = os.environ.get("TOP_SRCDIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
tallyd = os.environ.get("TALLYD") or os.path.join(os.getcwd(), "app", "tallyd")
out = subprocess.run([tallyd, "-r"], capture_output=True, text=True, check=True,
                     env={k: v for k, v in os.environ.items() if k != "TALLY_DEBUG_ROUTES"}).stdout
routes = {tuple(line.split()[:2]) for line in out.splitlines() if line.strip()}

documented = set()
path = None
with open(os.path.join(top, "docs", "openapi.yaml")) as f:
    in_paths = False
    for line in f:
        if line.startswith("paths:"):
            in_paths = True
            continue
        if in_paths and re.match(r"^\S", line):
            in_paths = False
        if not in_paths:
            continue
        m = re.match(r"^  (/\S*):\s*$", line)
        if m:
            path = m.group(1)
            continue
        m = re.match(r"^    (get|post|put|patch|delete):", line)
        if m and path:
            documented.add((m.group(1).upper(), path))

missing_doc = sorted(routes - documented)
missing_route = sorted(documented - routes)
for r in missing_doc:
    print("route not in docs/openapi.yaml: %s %s" % r)
for r in missing_route:
    print("documented but not routed: %s %s" % r)
if not routes:
    print("no routes read from tallyd -r")
    sys.exit(1)
print("%d routes, %d documented operations" % (len(routes), len(documented)))
sys.exit(1 if missing_doc or missing_route else 0)
