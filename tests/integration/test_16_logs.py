"""Logs (issue 16): one request id in nginx's access log, tallyd's log line
and the X-Request-Id answer; every tallyd log line is JSON with a ts."""
import json
import os
import re
import time

from harness import get, wait_for

VAR = os.environ.get("TALLY_VAR", "var/test")
NGINX_LOG = os.path.join(VAR, "log", "nginx-access.log")
TALLYD_LOG = os.path.join(VAR, "log", "tallyd.log")


def _lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


def _find(path, rid):
    for line in _lines(path):
        if rid in line:
            return json.loads(line)
    return None


def test_one_request_id_in_nginx_tallyd_and_the_answer():
    for sent in (None, "trace-%d.x" % int(time.time() * 1000)):
        r = get("/api/v1/health", headers={"X-Request-Id": sent} if sent else None)
        rid = r.headers["x-request-id"]
        if sent:
            assert rid == sent, (rid, sent)
        else:
            assert re.fullmatch(r"[0-9a-f]{32}", rid), rid
        ng = wait_for(lambda: _find(NGINX_LOG, rid), timeout=5, what="nginx access log line of %s" % rid)
        td = wait_for(lambda: _find(TALLYD_LOG, rid), timeout=5, what="tallyd log line of %s" % rid)
        assert ng["request_id"] == rid and ng["uri"] == "/api/v1/health", ng
        assert td["id"] == rid and td["type"] == "request" and td["path"] == "/api/v1/health", td


def test_every_tallyd_log_line_is_json_with_a_ts():
    get("/api/v1/health")
    bad = []
    for line in _lines(TALLYD_LOG):
        if not line.startswith("{"):
            if "AddressSanitizer" in line or "runtime error" in line:
                continue        # the sanitizer stage judges those
            bad.append(line)
            continue
        o = json.loads(line)
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", o.get("ts", "")):
            bad.append(line)
    assert not bad, bad[:5]
