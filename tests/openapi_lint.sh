#!/bin/sh
# make check: lints docs/openapi.yaml with Redocly CLI's recommended rules
# (redocly.yaml; by-design findings are named in .redocly.lint-ignore.yaml).
# Fails on any error or warning. Needs node_modules (scripts/assets, which
# scripts/install-deps and so scripts/test always run); without it the lint
# is skipped (exit 77) with a loud message.
top="${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$top" || exit 1
# The sanitizer build's copy of the tree (build-asan/) has no node_modules of
# its own: use the checkout's.
redocly=node_modules/.bin/redocly
if [ ! -x "$redocly" ]; then
    git_top=$(git rev-parse --show-toplevel 2>/dev/null)
    [ -n "$git_top" ] && [ -x "$git_top/node_modules/.bin/redocly" ] && redocly="$git_top/node_modules/.bin/redocly"
fi
if [ ! -x "$redocly" ]; then
    echo "############################################################################" >&2
    echo "## openapi_lint: SKIPPED: node_modules/.bin/redocly is missing.           ##" >&2
    echo "## Run scripts/assets (npm ci) to lint docs/openapi.yaml.                 ##" >&2
    echo "############################################################################" >&2
    exit 77
fi
out=$(REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_COLOR=1 \
      "$redocly" lint --config redocly.yaml docs/openapi.yaml 2>&1)
rc=$?
# Node's end-of-life banner (boxed with ║) is about node, not the document.
report=$(printf '%s\n' "$out" | grep -v '[║╔╚]')
printf '%s\n' "$report"
if [ "$rc" -ne 0 ]; then
    echo "openapi_lint: FAIL: redocly lint exited $rc" >&2
    exit 1
fi
if printf '%s\n' "$report" | grep -qi 'warning'; then
    echo "openapi_lint: FAIL: warnings (the document must lint clean)" >&2
    exit 1
fi
if ! printf '%s\n' "$report" | grep -q 'Your API description is valid'; then
    echo "openapi_lint: FAIL: no success line from redocly" >&2
    exit 1
fi
echo "openapi_lint: docs/openapi.yaml is valid (recommended rules, no warning)"
