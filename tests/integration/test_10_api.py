"""HTTP contract basics: health, auth matrix, error shapes, request ids."""
import hashlib
import re
import time

from harness import (admin_token, assert_error, conf_value, ctl, get, log_request, new_user, post, psql, request,
                     unique_request_id)


def test_health_ok():
    r = get("/api/v1/health")
    assert r.status == 200, r
    assert r.json["status"] == "ok", r
    assert r.json["checks"]["postgres"]["ok"] is True
    assert r.json["checks"]["memcached"]["ok"] is True
    assert isinstance(r.json["checks"]["postgres"]["latency_ms"], (int, float))
    assert r.json["version"]
    assert r.headers.get("x-request-id")


def test_request_id_echoed_or_generated():
    r = get("/api/v1/health", headers={"X-Request-Id": "trace-abc.123"})
    assert r.headers["x-request-id"] == "trace-abc.123"
    r1, r2 = get("/api/v1/health"), get("/api/v1/health")
    assert r1.headers["x-request-id"] != r2.headers["x-request-id"]
    # A hostile id is replaced, not echoed: by nginx's own $request_id (32 hex).
    r = get("/api/v1/health", headers={"X-Request-Id": "<script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"]), r.headers["x-request-id"]


def test_auth_matrix():
    uid, tok = new_user("Auth A")
    other, other_tok = new_user("Auth B")
    admin = admin_token()
    path = "/api/v1/users/%d" % uid
    assert_error(get(path), 401, "unauthenticated")
    assert_error(get(path, headers={"Authorization": "Basic abc"}), 401, "unauthenticated")
    assert_error(get(path, token="tly_" + "0" * 64), 401, "unauthenticated")
    assert get(path, token=tok).status == 200
    assert get(path, token=admin).status == 200
    assert_error(get(path, token=other_tok), 403, "forbidden")
    assert_error(get(path + "/transactions", token=other_tok), 403, "forbidden")
    assert get("/api/v1/users/%d/transactions" % other, token=other_tok).status == 200
    # Admin-only route.
    assert_error(post("/api/v1/users", {"name": "x"}, token=tok), 403, "forbidden")
    assert_error(post("/api/v1/users", {"name": "x"}), 401, "unauthenticated")
    # Health needs no token.
    assert get("/api/v1/health").status == 200


def test_token_revocation():
    uid, tok = new_user("Revoke Me")
    assert get("/api/v1/users/%d" % uid, token=tok).status == 200
    token_id = psql("SELECT max(id) FROM api_tokens WHERE user_id = %d" % uid)[0][0]
    # Worker caches hold a token for auth_cache_ttl_s (docs/config.md: 5 s); memcached's entry is
    # deleted. Every worker cache slot was filled before the revoke, so none outlives revoke + ttl:
    # polled at 0.25 s, the 401 must come by then (+ one poll interval and a request's time).
    ttl = float(conf_value("auth_cache_ttl_s", "5"))
    assert ttl == 5, ttl
    revoked_at = time.time()
    ctl("token", "revoke", token_id)
    deadline = revoked_at + ttl + 0.5
    status = None
    while time.time() < deadline:
        status = get("/api/v1/users/%d" % uid, token=tok).status
        if status == 401:
            break
        time.sleep(0.25)
    assert status == 401, status
    assert ctl("token", "revoke", token_id, check=False).returncode == 1


def test_tokens_stored_hashed():
    uid, tok = new_user("Hash Check")
    rows = psql("SELECT token_hash FROM api_tokens WHERE user_id = %d" % uid)
    assert len(rows) == 1 and len(rows[0][0]) == 64
    assert tok not in rows[0][0] and rows[0][0] != tok
    # The stored hash is SHA-256 of the whole token (prefix included), in lowercase hex.
    assert tok.startswith("tly_") and len(tok) == 4 + 64, tok
    assert rows[0][0] == hashlib.sha256(tok.encode()).hexdigest(), (rows[0][0], tok)


def test_warm_token_cache_makes_no_postgresql_round_trip():
    """A token's first lookup reads PostgreSQL and fills memcached; after
    that every worker answers from its own cache or memcached: the request
    log's db_ms stays 0 for requests that need nothing but the token. The
    route: another user's profile, refused (403) by the auth filter before
    any handler runs."""
    uid, tok = new_user("Warm Token")
    other, _ = new_user("Warm Other")
    path = "/api/v1/users/%d" % other
    rid = unique_request_id("cold")
    assert_error(get(path, token=tok, headers={"X-Request-Id": rid}), 403, "forbidden")
    cold = log_request(rid)
    assert cold["status"] == 403 and cold["db_ms"] > 0 and cold["cache_misses"] == 1, cold
    # More requests than workers, so workers without the token in their own cache are hit too.
    for i in range(12):
        rid = unique_request_id("warm")
        assert_error(get(path, token=tok, headers={"X-Request-Id": rid}), 403, "forbidden")
        line = log_request(rid)
        assert line["status"] == 403 and line["db_ms"] == 0 and line["cache_misses"] == 0, (i, line)


def test_user_create_and_get():
    admin = admin_token()
    r = post("/api/v1/users", {"name": "Élodie Martin", "currency": "EUR", "language": "fr"}, token=admin)
    assert r.status == 201, r
    assert r.json["name"] == "Élodie Martin" and r.json["currency"] == "EUR" and r.json["language"] == "fr"
    g = get("/api/v1/users/%d" % r.json["id"], token=admin)
    assert g.status == 200 and g.json["id"] == r.json["id"] and g.json["name"] == "Élodie Martin"
    assert g.json["created_at"].endswith("Z")
    assert_error(post("/api/v1/users", {"name": ""}, token=admin), 422, "invalid_argument", "name")
    assert_error(post("/api/v1/users", {"name": "a", "currency": "euro"}, token=admin), 422, "invalid_argument", "currency")
    assert_error(post("/api/v1/users", {"name": "a", "language": "de"}, token=admin), 422, "invalid_argument", "language")
    assert_error(post("/api/v1/users", {"name": "a" * 201}, token=admin), 422, "invalid_argument", "name")
    assert_error(get("/api/v1/users/999999999", token=admin), 404, "not_found")


def test_error_shapes():
    admin = admin_token()
    uid, tok = new_user("Errors")
    base = "/api/v1/users/%d/transactions" % uid
    assert_error(request("POST", base, body="{not json", token=tok, content_type="application/json"),
                 400, "invalid_argument", "body")
    assert_error(request("POST", base, body="[] trailing", token=tok, content_type="application/json"),
                 400, "invalid_argument", "body")
    # json-c reads NaN as a number; it is still refused, naming the field.
    r = request("POST", base, body='[{"date": "2026-01-01", "amount": NaN}]', token=tok, content_type="application/json")
    assert_error(r, 422, "invalid_argument", "amount")
    assert r.json["error"]["message"].startswith("1 of 1 ")
    assert_error(request("POST", base, body="[]", token=tok, content_type="text/plain"),
                 415, "unsupported_media_type")
    assert_error(request("POST", base, body="[]", token=tok), 415, "unsupported_media_type")
    assert_error(post(base, {"not": "an array"}, token=tok), 400, "invalid_argument", "body")
    assert_error(get("/api/v1/nothing-here", token=admin), 404, "not_found")
    assert_error(get("/api/v2/users", token=admin), 404, "not_found")
    r = request("DELETE", base, token=tok)
    assert_error(r, 405, "method_not_allowed")
    assert "GET" in r.headers.get("allow", "") and "POST" in r.headers.get("allow", "")
    assert_error(get("/api/v1/users/999999999/transactions", token=admin), 404, "not_found", "id")
    assert_error(get("/api/v1/users/999999999/transactions/summary", token=admin), 404, "not_found", "id")
    assert_error(get("/api/v1/users/abc", token=admin), 400, "invalid_argument", "id")
    assert_error(get("/api/v1/users/0/transactions", token=admin), 400, "invalid_argument", "id")
    assert_error(get("/api/v1/users/-1", token=admin), 400, "invalid_argument", "id")
    assert_error(get(base + "?limit=0", token=tok), 400, "invalid_argument", "limit")
    assert_error(get(base + "?limit=501", token=tok), 400, "invalid_argument", "limit")
    assert_error(get(base + "?from=2026-02-30", token=tok), 400, "invalid_argument", "from")
    assert_error(get(base + "?type=both", token=tok), 400, "invalid_argument", "type")
    assert_error(get(base + "?cursor=garbage", token=tok), 400, "invalid_argument", "cursor")
    assert_error(get(base + "/summary?group_by=weekday", token=tok), 400, "invalid_argument", "group_by")


def test_oversize_body():
    uid, tok = new_user("Big Body")
    base = "/api/v1/users/%d/transactions" % uid
    # Over nginx's and tallyd's 1 MiB limit: 413 with the JSON error shape.
    big = "[" + ",".join(['{"date":"2026-01-01","amount":-1.00,"description":"%s"}' % ("x" * 100)] * 12000) + "]"
    assert len(big) > 1024 * 1024
    r = request("POST", base, body=big, token=tok, content_type="application/json")
    assert_error(r, 413, "payload_too_large")
    assert psql("SELECT count(*) FROM transactions WHERE user_id = %d" % uid) == [["0"]]
