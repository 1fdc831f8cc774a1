"""Per-token rate limiting (API.md "Rate limiting", docs/ratelimit.md).

The limiter allows B requests per window of 60000 * B / R ms, windows
aligned on multiples of their length since the epoch. The tests set small
limits for this file only (appended to the stack's tallyd.conf, SIGHUP,
restored at the end) and drive the limiter's clock with the debug header
X-Tally-Ratelimit-Now, so every expected number below is computed here from
the definition, independently of the server. One test uses the real clock
and waits the Retry-After it was given."""
import atexit
import http.client
import json
import math
import os
import signal
import threading
import time

from harness import (CONF, HOST, PORT, VAR, admin_token, assert_error, get, new_user, post, stack, tallyd_pid,
                     wait_for, worker_pids)
from test_15_metrics import scrape

R, B = 60, 3               # normal class: 3 per 3000 ms
RH, BH = 30, 2             # heavy class: 2 per 4000 ms
SHARED_B = 20              # the multi-worker test reconfigures B
MARK = "# ---- test_94_ratelimit"

_applied = None


def _window_ms(rate, burst):
    return 60000 * burst // rate


def _configure(lines):
    """Appends lines (or nothing) to tallyd.conf after our marker, SIGHUPs
    the master and waits until only the new generation serves."""
    global _applied
    if _applied == lines:
        return
    with open(CONF) as f:
        text = f.read()
    text = text.split("\n" + MARK + "\n")[0].rstrip("\n") + "\n"
    if lines:
        text += MARK + "\n" + "\n".join(lines) + "\n"
    with open(CONF, "w") as f:
        f.write(text)
    before = set(worker_pids())
    os.kill(tallyd_pid(), signal.SIGHUP)
    wait_for(lambda: (lambda p: len(p) == len(before) and not (set(p) & before))(worker_pids()), timeout=20,
             what="workers of the new configuration")
    _applied = lines


def _limits(burst=B, lease_max=32):
    _configure(["rate_limit_per_minute = %d" % R, "rate_limit_burst = %d" % burst,
                "rate_limit_heavy_per_minute = %d" % RH, "rate_limit_heavy_burst = %d" % BH,
                "rate_limit_lease_max = %d" % lease_max])


def _restore():
    if _applied:
        _configure(None)


atexit.register(_restore)

_clock = [1_900_000_000_000]


def _fresh_now(offset_ms, window):
    """A fake time `offset_ms` into a window no earlier test has used."""
    _clock[0] += 10 * 60 * 1000
    return (_clock[0] // window) * window + offset_ms


def _at(now_ms):
    return {"X-Tally-Ratelimit-Now": str(now_ms)}


def _user_get(uid, tok, now_ms):
    return get("/api/v1/users/%d" % uid, token=tok, headers=_at(now_ms))


def _assert_headers(r, limit, remaining, reset):
    assert r.headers.get("ratelimit-limit") == str(limit), (r.headers, r)
    assert r.headers.get("ratelimit-remaining") == str(remaining), (r.headers, r)
    assert r.headers.get("ratelimit-reset") == str(reset), (r.headers, r)


def test_burst_then_429_with_retry_after_then_pass():
    _limits()
    uid, tok = new_user("Limited")
    window = _window_ms(R, B)
    assert window == 3000
    now = _fresh_now(1234, window)                 # 1766 ms left in the window
    reset = math.ceil((window - 1234) / 1000)      # 2
    for i in range(B):
        r = _user_get(uid, tok, now)
        assert r.status == 200, (i, r)
        _assert_headers(r, B, B - 1 - i, reset)
        assert "retry-after" not in r.headers
    r = _user_get(uid, tok, now + 500)              # 1266 ms left: still 2 s
    assert_error(r, 429, "rate_limited")
    assert r.headers.get("retry-after") == "2", r.headers
    _assert_headers(r, B, 0, 2)
    # Refused requests do not push the window: 1 ms before its end, 1 s.
    r = _user_get(uid, tok, now + 1765)
    assert_error(r, 429, "rate_limited")
    assert r.headers.get("retry-after") == "1", r.headers
    # After Retry-After (counted from the first refusal) the request passes,
    # and a full burst is available again.
    r = _user_get(uid, tok, now + 500 + 2000)
    assert r.status == 200, r
    _assert_headers(r, B, B - 1, math.ceil((2 * window - (1234 + 2500)) / 1000))


def test_tokens_are_limited_separately_and_errors_carry_the_headers():
    _limits()
    uid, tok = new_user("Two tokens")
    tok2 = new_user("Other")[1]
    from harness import ctl
    tok_same_user = ctl("token", "create", "--user", uid).stdout.strip()
    window = _window_ms(R, B)
    now = _fresh_now(0, window)
    for _ in range(B):
        assert _user_get(uid, tok, now).status == 200
    assert _user_get(uid, tok, now).status == 429
    # Another token of the same user has its own bucket (per token, not per user).
    r = _user_get(uid, tok_same_user, now)
    assert r.status == 200, r
    _assert_headers(r, B, B - 1, 3)
    # An error answer of the handler still counts and carries the headers.
    r = get("/api/v1/users/%d/metrics/no_such_metric?period=2026-01" % uid, token=tok_same_user, headers=_at(now))
    assert r.status in (400, 404, 422), r
    _assert_headers(r, B, B - 2, 3)
    # A token refused by auth (another user's resource) is not counted.
    r = get("/api/v1/users/%d" % uid, token=tok2, headers=_at(now))
    assert_error(r, 403, "forbidden")
    assert "ratelimit-limit" not in r.headers
    # A malformed test clock is a 400 naming the header.
    r = get("/api/v1/users/%d" % uid, token=tok, headers={"X-Tally-Ratelimit-Now": "12.5"})
    assert_error(r, 400, "invalid_argument", "X-Tally-Ratelimit-Now")


def test_real_clock_wait_retry_after():
    _limits()
    uid, tok = new_user("Real clock")
    statuses, r = [], None
    for _ in range(B + 1):
        r = get("/api/v1/users/%d" % uid, token=tok)
        statuses.append(r.status)
        if r.status == 429:
            break
    # B pass at once (or fewer if a window boundary fell inside the loop,
    # then the new window's requests pass too); the loop ends on a 429 only
    # after B passes in one window.
    if r.status != 429:
        r = get("/api/v1/users/%d" % uid, token=tok)
        while r.status == 200 and r.headers["ratelimit-remaining"] != "0":
            r = get("/api/v1/users/%d" % uid, token=tok)
        r = get("/api/v1/users/%d" % uid, token=tok)
    assert_error(r, 429, "rate_limited")
    wait = int(r.headers["retry-after"])
    assert 1 <= wait <= math.ceil(_window_ms(R, B) / 1000), r.headers
    assert r.headers["ratelimit-reset"] == str(wait)
    time.sleep(wait)
    r = get("/api/v1/users/%d" % uid, token=tok)
    assert r.status == 200, r
    assert int(r.headers["ratelimit-remaining"]) == B - 1


LOG = os.path.join(VAR, "log", "tallyd.log")


def _log_offset():
    return os.path.getsize(LOG) if os.path.exists(LOG) else 0


def _serving_pids(responses, offset):
    """The tallyd worker pids that served these responses, from the request
    log lines (written before the response is complete) since offset."""
    ids = {r.headers.get("x-request-id") for r in responses}
    pids = {}
    with open(LOG, "rb") as f:
        f.seek(offset)
        for line in f.read().decode("utf-8", "replace").splitlines():
            if '"type":"request"' not in line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("id") in ids:
                pids[rec["id"]] = rec["pid"]
    assert set(pids) == ids, (len(pids), len(ids))
    return set(pids.values())


def test_count_shared_by_every_worker():
    _limits(burst=SHARED_B, lease_max=1)          # one memcached incr per request
    uid, tok = new_user("Shared")
    window = _window_ms(R, SHARED_B)               # 20000 ms
    now = _fresh_now(100, window)
    sent = SHARED_B * 3
    results = []
    lock = threading.Lock()

    def one():
        r = _user_get(uid, tok, now)
        with lock:
            results.append(r)

    offset = _log_offset()
    threads = [threading.Thread(target=one) for _ in range(sent)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [r for r in results if r.status == 200]
    limited = [r for r in results if r.status == 429]
    workers = _serving_pids(results, offset)
    assert len(workers) >= 2, workers              # per-worker counters would let 20 per worker through
    assert len(ok) == SHARED_B and len(limited) == sent - SHARED_B, [r.status for r in results]
    # Each allowed request saw a distinct position in the shared counter.
    assert sorted(int(r.headers["ratelimit-remaining"]) for r in ok) == list(range(SHARED_B))
    for r in limited:
        assert r.headers["retry-after"] == str(math.ceil((window - 100) / 1000))


def _ratelimit_incrs(samples):
    """memcached operations of the ratelimit namespace so far (an incr
    counts one hit, or a miss and a set when it creates the counter)."""
    key = 'tally_cache_operations_total{namespace="ratelimit",op="%s",result="%s"}'
    return samples.get(key % ("get", "hit"), 0) + samples.get(key % ("get", "miss"), 0)


def test_host_leases_keep_the_limit_exact_with_fewer_round_trips():
    """B >= 16: the host reserves k = min(32, B // 8) positions per memcached
    incr and every worker takes from them (shared memory), so on one host
    exactly B pass, with about one incr per k requests (docs/ratelimit.md)."""
    burst = 256
    _limits(burst=burst)
    k = min(32, burst // 8)
    uid, tok = new_user("Leased")
    window = _window_ms(R, burst)
    now = _fresh_now(0, window)
    s0 = scrape()[0]
    results = []
    lock = threading.Lock()

    def client():
        for _ in range(40):
            r = _user_get(uid, tok, now)
            with lock:
                results.append(r)

    offset = _log_offset()
    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [r for r in results if r.status == 200]
    limited = [r for r in results if r.status == 429]
    assert len(ok) == burst and len(limited) == len(results) - burst, (len(ok), len(limited))
    assert len(_serving_pids(results, offset)) >= 2
    for r in limited:
        assert r.headers["retry-after"] == str(math.ceil(window / 1000)) and r.headers["ratelimit-remaining"] == "0"
    s1 = scrape()[0]
    leased = s1['tally_ratelimit_leased_total{class="normal"}'] - s0['tally_ratelimit_leased_total{class="normal"}']
    incrs = _ratelimit_incrs(s1) - _ratelimit_incrs(s0)
    # Every allowed request came from an incr or a lease; each incr served at
    # most one request itself and reserved k.
    assert leased >= burst - incrs, (leased, incrs)
    assert burst // k <= incrs < len(results) // 2, (incrs, len(results))
    assert s1["tally_ratelimit_lease_lost_total"] == s0["tally_ratelimit_lease_lost_total"]


def test_heavy_class_has_its_own_bucket():
    _limits()
    uid, tok = new_user("Chatty")
    window_h = _window_ms(RH, BH)
    assert window_h == 4000
    now = _fresh_now(0, 12000)                     # a multiple of both windows
    chat = {"user_id": uid, "message": "combien ai-je dépensé ce mois-ci ?"}
    for i in range(BH):
        r = post("/api/v1/conversation/chat", chat, token=tok, headers=_at(now + i))
        assert r.status == 200, r
        _assert_headers(r, BH, BH - 1 - i, 4)
    r = post("/api/v1/conversation/chat", chat, token=tok, headers=_at(now + 3001))
    assert_error(r, 429, "rate_limited")
    assert r.headers["retry-after"] == "1"
    _assert_headers(r, BH, 0, 1)
    # Normal requests of the same token are untouched by the heavy bucket...
    for i in range(B):
        r = _user_get(uid, tok, now)
        assert r.status == 200, r
        _assert_headers(r, B, B - 1 - i, 3)
    assert _user_get(uid, tok, now).status == 429
    # ... and the full normal bucket does not block chat in the next heavy window.
    r = post("/api/v1/conversation/chat", chat, token=tok, headers=_at(now + 4000))
    assert r.status == 200, r
    _assert_headers(r, BH, BH - 1, 4)
    # A GET of the chat route is not heavy (405, answered by the router before auth).
    assert get("/api/v1/conversation/chat", token=tok).status == 405


def test_admin_tokens_are_exempt():
    _limits()
    admin = admin_token()
    before = scrape()[0].get("tally_ratelimit_exempt_total", 0)
    now = _fresh_now(0, _window_ms(R, B))
    for _ in range(B * 4):
        r = get("/api/v1/users/1", token=admin, headers=_at(now))
        assert r.status in (200, 404), r
        assert "ratelimit-limit" not in r.headers and "retry-after" not in r.headers
    assert scrape()[0]["tally_ratelimit_exempt_total"] - before == B * 4


def test_metrics_count_decisions():
    _limits()
    uid, tok = new_user("Counted")
    s0 = scrape()[0]
    now = _fresh_now(0, _window_ms(R, B))
    for _ in range(B + 2):
        _user_get(uid, tok, now)
    samples, body = scrape()
    key = 'tally_ratelimit_requests_total{class="normal",result="%s"}'
    assert samples[key % "allowed"] - s0[key % "allowed"] == B
    assert samples[key % "limited"] - s0[key % "limited"] == 2
    assert "# TYPE tally_ratelimit_fail_open_total counter" in body


def test_memcached_stopped_fails_open_and_counts():
    _limits()
    uid, tok = new_user("Fail open")
    assert _user_get(uid, tok, _fresh_now(0, 3000)).status == 200      # token warm in every cache layer
    before = scrape()[0]["tally_ratelimit_fail_open_total"]
    sent = B * 3
    try:
        stack("stop", "memcached")
        now = _fresh_now(0, _window_ms(R, B))
        for i in range(sent):
            r = _user_get(uid, tok, now)
            assert r.status == 200, (i, r)
            assert "ratelimit-limit" not in r.headers, r.headers
        assert scrape()[0]["tally_ratelimit_fail_open_total"] - before == sent
    finally:
        stack("start", "memcached")
    # Limiting resumes once memcached is back, on every worker.
    def limited_again():
        n = _fresh_now(0, _window_ms(R, B))
        rs = [_user_get(uid, tok, n) for _ in range(B + 1)]
        return [r.status for r in rs] == [200] * B + [429]
    wait_for(limited_again, timeout=20, interval=0.5, what="limiting after memcached restart")
    for _ in range(4):
        assert limited_again()


def _from_other_address(method, path, body=None, headers=None):
    """One request whose source address is 127.0.0.2: nginx exempts only
    127.0.0.1 from its per-address limits."""
    conn = http.client.HTTPConnection(HOST, PORT, timeout=10, source_address=("127.0.0.2", 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    finally:
        conn.close()


def _flood(path, limit):
    """Sends up to `limit` requests from 127.0.0.2 until nginx refuses one.
    Returns (passed, seconds taken, refused headers, refused body)."""
    passed, t0 = 0, time.time()
    for _ in range(limit):
        status, headers, body = _from_other_address("GET", path)
        if status == 429:
            return passed, time.time() - t0, headers, body
        assert status == 200, (status, body)
        passed += 1
    raise AssertionError("no 429 from nginx after %d requests to %s" % (limit, path))


def _assert_nginx_429(headers, body, retry_after):
    assert headers["content-type"].startswith("application/json"), headers
    assert json.loads(body)["error"]["code"] == "rate_limited", body
    assert headers.get("retry-after") == retry_after, headers
    assert headers.get("x-content-type-options") == "nosniff", headers


def test_nginx_limits_a_flooding_address_before_tallyd():
    """/api/: 100 r/s, burst 200; /admin/login: 30 r/min, burst 10 (nginx.conf.in).
    The bucket may be partly used by an earlier run, so only the upper
    bound of what passes is exact: burst + 1 + what the rate refilled."""
    before = scrape()[0]["tally_requests_accepted_total"]
    passed, took, headers, body = _flood("/api/v1/health", 5000)
    _assert_nginx_429(headers, body, "1")               # a slot every 10 ms
    assert passed <= 200 + 1 + math.ceil(100 * took) + 1, (passed, took)
    # The refused request never reached tallyd: between the two scrapes it
    # accepted the first scrape (counted once its answer is written) and
    # the passed requests only.
    accepted = scrape()[0]["tally_requests_accepted_total"] - before
    assert accepted == passed + 1, (accepted, passed)
    passed, took, headers, body = _flood("/admin/login", 200)
    _assert_nginx_429(headers, body, "2")               # a slot every 2 s
    assert passed <= 10 + 1 + math.ceil(took / 2) + 1, (passed, took)
    # Loopback 127.0.0.1 (local tools, benchmarks, these tests) is not limited by nginx.
    for _ in range(20):
        assert get("/admin/login").status == 200


def test_zz_restore_default_limits():
    _restore()
    uid, tok = new_user("After")
    r = get("/api/v1/users/%d" % uid, token=tok)
    assert r.status == 200 and int(r.headers["ratelimit-limit"]) > 1000, r.headers
