"""Admin dashboard over HTTP: login/logout, sessions, CSRF, failed-login
throttling, redirects of unauthenticated pages, HTML escaping of user data
on every page that shows it, the JSON twins' shapes, and a namespace flush
that resets its counters and its entries. Browser tests (tests/browser/)
cover the charts and what a person sees."""
import html
import random
import re
import urllib.parse

from harness import (admin_token, assert_error, ctl, get, log_request, new_user, post, psql, request, stack,
                     unique_request_id, wait_for)

ADMIN_USER = "it-admin"
ADMIN_PASSWORD = "it-admin-password"
PAGES = ["/admin/", "/admin/cache", "/admin/users", "/admin/jobs"]


def _ensure_admin():
    ctl("admin", "create", "--username", ADMIN_USER, "--replace", input=ADMIN_PASSWORD + "\n")
    psql("DELETE FROM admin_login_failures")


class Browser:
    """A cookie jar over harness.request (cookies are all Path=/admin)."""

    def __init__(self):
        self.cookies = {}

    def _absorb(self, r):
        for name, value in r.raw_headers:
            if name.lower() != "set-cookie":
                continue
            pair = value.split(";", 1)[0]
            k, _, v = pair.partition("=")
            if "Max-Age=0" in value or v == "":
                self.cookies.pop(k, None)
            else:
                self.cookies[k] = v
        return r

    def req(self, method, path, form=None):
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        r = _raw_request(method, path, body, headers)
        return self._absorb(r)

    def login(self, username=ADMIN_USER, password=ADMIN_PASSWORD):
        page = self.req("GET", "/admin/login")
        assert page.status == 200, page
        token = csrf_of(page.body)
        return self.req("POST", "/admin/login", {"username": username, "password": password, "csrf_token": token})


def _raw_request(method, path, body, headers):
    import http.client
    from harness import HOST, PORT, Response
    conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        raw = r.getheaders()
        out = Response(r.status, raw, r.read().decode("utf-8", "replace"))
        out.raw_headers = raw
        return out
    finally:
        conn.close()


def csrf_of(body):
    m = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', body)
    assert m, body[:2000]
    return m.group(1)


def logged_in():
    _ensure_admin()
    b = Browser()
    r = b.login()
    assert r.status == 303 and r.headers["location"] == "/admin/", r
    return b


def test_unauthenticated_pages_redirect_to_login():
    for path in PAGES + ["/admin/users/1"]:
        r = get(path)
        assert r.status == 303, (path, r)
        assert r.headers["location"] == "/admin/login", (path, r.headers)
    r = post("/admin/cache/flush", "namespace=users", content_type="application/x-www-form-urlencoded")
    assert r.status == 303 and r.headers["location"] == "/admin/login", r
    # A made-up session id is no session.
    r = _raw_request("GET", "/admin/", None, {"Cookie": "tally_admin=" + "a" * 64})
    assert r.status == 303, r


def test_login_sets_a_strict_session_cookie_and_logout_ends_it():
    _ensure_admin()
    b = Browser()
    r = b.login()
    assert r.status == 303 and r.headers["location"] == "/admin/", r
    cookie = [v for k, v in r.raw_headers if k.lower() == "set-cookie" and v.startswith("tally_admin=")][0]
    sid = cookie.split(";")[0].split("=", 1)[1]
    assert re.fullmatch(r"[0-9a-f]{64}", sid), cookie
    for attr in ("HttpOnly", "SameSite=Strict", "Path=/admin"):
        assert attr in cookie, cookie
    # Only the hash is stored.
    assert psql("SELECT count(*) FROM admin_sessions WHERE id_hash = '%s'" % sid) == [["0"]]
    for path in PAGES:
        r = b.req("GET", path)
        assert r.status == 200, (path, r)
        assert r.headers["content-type"].startswith("text/html"), r.headers
        assert "<title>" in r.body and "Log out" in r.body, path
    token = csrf_of(b.req("GET", "/admin/").body)
    old = dict(b.cookies)
    r = b.req("POST", "/admin/logout", {"csrf_token": token})
    assert r.status == 303 and r.headers["location"] == "/admin/login", r
    # The old cookie no longer works (server-side session deleted).
    b.cookies = old
    assert b.req("GET", "/admin/").status == 303


def test_wrong_password_and_login_csrf():
    _ensure_admin()
    b = Browser()
    page = b.req("GET", "/admin/login")
    r = b.req("POST", "/admin/login", {"username": ADMIN_USER, "password": ADMIN_PASSWORD, "csrf_token": "0" * 64})
    assert r.status == 403, r
    r = b.req("POST", "/admin/login", {"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert r.status == 403, r
    r = b.req("POST", "/admin/login", {"username": ADMIN_USER, "password": "nope-nope",
                                       "csrf_token": csrf_of(page.body)})
    assert r.status == 401 and "Wrong username or password" in r.body, r
    assert "tally_admin" not in b.cookies


def test_five_wrong_passwords_throttle_the_username():
    _ensure_admin()
    b = Browser()
    for i in range(5):
        r = b.login(password="wrong-%d" % i)
        assert r.status == 401, (i, r)
    r = b.login()                         # even the right password is refused now
    assert r.status == 429, r
    assert "Too many failed logins" in r.body
    assert int(r.headers["retry-after"]) > 0
    # Per address too: other usernames from the same address.
    psql("DELETE FROM admin_login_failures")
    for i in range(20):
        assert b.login(username="nobody-%d" % i, password="x" * 8).status == 401
    assert b.login().status == 429
    psql("DELETE FROM admin_login_failures")
    assert Browser().login().status == 303


def test_successful_login_clears_the_usernames_failures():
    """docs/admin.md: a successful login deletes the username's failure rows
    (only that username's). The failures are rows written here (each real
    wrong password costs a bcrypt check; test_five_wrong_passwords covers
    those): 4 rows, a success clears them, 4 new rows and the right password
    still logs in (without the reset, 8 >= 5 would be 429)."""
    _ensure_admin()

    def fail_rows(username, n):
        psql("INSERT INTO admin_login_failures (username, address) SELECT '%s', '127.0.0.1'"
             " FROM generate_series(1, %d)" % (username, n))

    def count(username):
        return psql("SELECT count(*) FROM admin_login_failures WHERE username = '%s'" % username)[0][0]
    fail_rows(ADMIN_USER, 4)
    fail_rows("it-someone-else", 1)
    r = Browser().login(password="wrong-once")
    assert r.status == 401, r                     # the 5th failure: a real one, written by tallyd
    assert count(ADMIN_USER) == "5"
    psql("DELETE FROM admin_login_failures WHERE username = '%s' AND id = (SELECT max(id) FROM"
         " admin_login_failures WHERE username = '%s')" % (ADMIN_USER, ADMIN_USER))     # back to 4
    r = Browser().login()
    assert r.status == 303, r
    assert (count(ADMIN_USER), count("it-someone-else")) == ("0", "1")
    fail_rows(ADMIN_USER, 4)
    r = Browser().login()
    assert r.status == 303, r
    psql("DELETE FROM admin_login_failures")


def test_post_without_csrf_is_forbidden():
    b = logged_in()
    for path, form in (("/admin/cache/flush", {"namespace": "users"}), ("/admin/logout", {}),
                       ("/admin/jobs/1/retry", {})):
        r = b.req("POST", path, form)
        assert r.status == 403, (path, r)
        r = b.req("POST", path, dict(form, csrf_token="f" * 64))
        assert r.status == 403, (path, r)
    # Another session's token is not this session's.
    other = logged_in()
    r = b.req("POST", "/admin/cache/flush", {"namespace": "users", "csrf_token": csrf_of(other.req("GET", "/admin/").body)})
    assert r.status == 403, r
    assert b.req("GET", "/admin/").status == 200      # still logged in


def test_user_data_is_escaped_on_every_page():
    evil_name = '<script>alert("u")</script>&Co'
    evil_merchant = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    uid, token = new_user(name=evil_name)
    r = post("/api/v1/users/%d/transactions" % uid,
             [{"date": "2026-11-01", "amount": -12.5, "merchant": evil_merchant, "category": "<b>cat</b>"}],
             token=token)
    assert r.status in (200, 201), r
    psql("INSERT INTO jobs (kind, status, last_error, attempts) VALUES ('sleep', 'dead', '<script>job</script>', 5)")
    b = logged_in()
    pages = ["/admin/users?q=" + urllib.parse.quote("<script>"), "/admin/users/%d" % uid, "/admin/jobs"]
    for path in pages:
        r = b.req("GET", path)
        assert r.status == 200, (path, r)
        assert "<script>alert" not in r.body and "<script>job" not in r.body, path
        assert "<img src=x" not in r.body and "<b>cat" not in r.body, path
    body = b.req("GET", "/admin/users/%d" % uid).body
    assert html.escape(evil_name, quote=True).replace("&#x27;", "&#39;") in body, body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in body
    assert "&lt;script&gt;alert(&quot;u&quot;)&lt;/script&gt;&amp;Co" in b.req("GET", "/admin/users?q=" + urllib.parse.quote("<script>")).body
    assert "&lt;script&gt;job&lt;/script&gt;" in b.req("GET", "/admin/jobs").body
    # The search box echoes the query escaped.
    r = b.req("GET", "/admin/users?q=" + urllib.parse.quote('"><script>x</script>'))
    assert '"><script>x' not in r.body and "&quot;&gt;&lt;script&gt;x" in r.body


def test_json_twins_shapes():
    tok = admin_token()
    r = get("/api/v1/admin/cache/stats", token=tok)
    assert r.status == 200, r
    j = r.json
    names = [n["namespace"] for n in j["namespaces"]]
    assert {"auth", "users", "metrics", "sessions", "health"} <= set(names), names
    for n in j["namespaces"]:
        for win in ("since_start", "last_minute"):
            for k in ("hits", "misses", "sets", "errors"):
                assert isinstance(n[win][k], int), n
            assert n[win]["hit_ratio"] is None or 0 <= n[win]["hit_ratio"] <= 1
    assert isinstance(j["timeouts"], int) and isinstance(j["server_failures"], int)
    assert set(j["read_path"]) == {"memcached", "postgresql", "computed"}
    assert len(j["servers"]) >= 1
    s = j["servers"][0]
    assert s["up"] is True, s
    for k in ("uptime", "curr_items", "bytes", "limit_maxbytes", "get_hits", "get_misses", "evictions",
              "curr_connections", "listen_disabled_num"):
        assert isinstance(s[k], int), (k, s)
    assert s["limit_maxbytes"] > 0 and 0 <= s["fill_pct"] <= 100
    assert isinstance(s["slabs"], list)
    # Admin only.
    assert get("/api/v1/admin/cache/stats").status == 401
    _, user_token = new_user()
    assert get("/api/v1/admin/cache/stats", token=user_token).status == 403

    w = get("/api/v1/admin/workers", token=tok).json
    assert w["total"] >= 1 and w["idle"] + w["busy"] <= w["total"]
    assert w["busy"] == 0, w                 # idle stack: the status request does not count itself
    assert isinstance(w["listen_queue"]["now"], int) and w["listen_queue"]["limit"] > 0, w
    me = [x for x in w["workers"] if x["self"]]
    assert len(me) == 1 and me[0]["state"] == "idle"
    for k in ("accepted", "all_busy_events", "slow_requests", "restarts"):
        assert isinstance(w[k], int), k

    o = get("/api/v1/admin/overview", token=tok).json
    assert o["counts"]["users"] >= 1 and isinstance(o["counts"]["transactions"], int)
    assert set(o["jobs"]) == {"queued", "running", "succeeded", "failed", "dead"}
    assert o["requests"]["total"] > 0 and o["requests"]["p50_ms"] is not None


def test_flush_resets_namespace_counters_and_entries():
    tok = admin_token()
    uid, utoken = new_user()
    for _ in range(3):                      # warm the users/metrics namespaces through the API
        get("/api/v1/users/%d" % uid, token=utoken)
    before = {n["namespace"]: n for n in get("/api/v1/admin/cache/stats", token=tok).json["namespaces"]}
    assert before["auth"]["since_start"]["hits"] + before["auth"]["since_start"]["misses"] > 0
    r = post("/api/v1/admin/cache/flush?namespace=auth", token=tok)
    assert r.status == 200 and r.json["namespace"] == "auth" and r.json["generation"] >= 1, r
    after = {n["namespace"]: n for n in get("/api/v1/admin/cache/stats", token=tok).json["namespaces"]}
    a = after["auth"]["since_start"]
    # Only the auth lookups of the stats request itself may have counted since.
    assert a["hits"] + a["misses"] <= 2 and a["sets"] <= 1, a
    assert after["auth"]["generation"] == before["auth"]["generation"] + 1
    assert after["auth"]["last_minute"]["hits"] <= 2
    # Entries: the token is looked up again: a memcached miss read from PostgreSQL, then a set,
    # then a memcached hit on a worker that does not hold it itself. The route: another user's
    # record, refused (403) by the auth filter, so the request log's cache and db figures are the
    # token lookup's alone. Workers that looked it up before the flush trust their own copy for
    # up to auth_cache_ttl_s (5 s): polled until both a miss and a hit are seen.
    other, _ = new_user("Flush other")
    sets_before = after["auth"]["since_start"]["sets"]
    seen = {"miss": 0, "hit": 0}

    def miss_and_hit():
        rid = unique_request_id("flush")
        assert_error(get("/api/v1/users/%d" % other, token=utoken, headers={"X-Request-Id": rid}), 403, "forbidden")
        line = log_request(rid)
        if line["cache_misses"] == 1 and line["db_ms"] > 0:
            seen["miss"] += 1
        if line["cache_hits"] == 1 and line["db_ms"] == 0:
            assert seen["miss"] >= 1, ("memcached hit before the miss: the flush left the entry", line)
            seen["hit"] += 1
        return seen["miss"] >= 1 and seen["hit"] >= 1
    wait_for(miss_and_hit, timeout=8, interval=0.05, what="auth miss then hit after the flush")
    assert seen["miss"] == 1, seen                                    # one miss, then memcached has it again
    stats = {n["namespace"]: n for n in get("/api/v1/admin/cache/stats", token=tok).json["namespaces"]}
    assert stats["auth"]["since_start"]["sets"] >= sets_before + 1, (sets_before, stats["auth"])
    # Bad namespaces.
    assert_error(post("/api/v1/admin/cache/flush?namespace=nope", token=tok), 422, "invalid_argument", "namespace")
    assert_error(post("/api/v1/admin/cache/flush?namespace=health", token=tok), 422, "invalid_argument", "namespace")
    assert_error(post("/api/v1/admin/cache/flush", token=tok), 400, "invalid_argument", "namespace")

    # The HTML form: CSRF + confirmation, then the page shows the reset row.
    b = logged_in()
    page = b.req("GET", "/admin/cache")
    assert 'http-equiv="refresh"' in page.body and '<meter' in page.body
    r = b.req("POST", "/admin/cache/flush", {"namespace": "users", "confirm": "yes", "csrf_token": csrf_of(page.body)})
    assert r.status == 303 and r.headers["location"] == "/admin/cache?flushed=users", r
    page = b.req("GET", r.headers["location"])
    row = re.search(r'<tr id="ns-users">(.*?)</tr>', page.body, re.S).group(1)
    nums = re.findall(r'<td class="(hits|misses|sets)">(\d+)</td>', row)
    assert all(v == "0" for _, v in nums) and len(nums) == 3, row
    assert "Namespace <strong>users</strong> flushed" in page.body


def test_retry_button_requeues_a_dead_job():
    rows = psql("INSERT INTO jobs (kind, status, attempts, last_error, run_at) "
                "VALUES ('sleep', 'dead', 5, 'boom', now() + interval '1 hour') RETURNING id")
    jid = int(rows[0][0])
    b = logged_in()
    page = b.req("GET", "/admin/jobs")
    assert 'id="job-%d"' % jid in page.body
    r = b.req("POST", "/admin/jobs/%d/retry" % jid, {"csrf_token": csrf_of(page.body)})
    assert r.status == 303 and r.headers["location"] == "/admin/jobs?retried=%d" % jid, r
    # jobs_retry resets a dead job's attempts; the runner may have taken it since.
    assert int(psql("SELECT attempts FROM jobs WHERE id = %d" % jid)[0][0]) <= 1
    psql("DELETE FROM jobs WHERE id = %d" % jid)


def test_worker_status_shows_the_busy_worker_and_not_itself():
    import threading
    tok = admin_token()
    done = {}
    t = threading.Thread(target=lambda: done.setdefault("r", get("/api/v1/debug/sleep?ms=1500", token=tok)))
    t.start()
    try:
        def busy_one():
            w = get("/api/v1/admin/workers", token=tok).json
            busy = [x for x in w["workers"] if x["state"] == "busy"]
            return (w, busy) if busy else None
        w, busy = wait_for(busy_one, timeout=5, what="a busy worker")
        assert w["busy"] == 1 and len(busy) == 1, w
        assert busy[0]["route"] == "/api/v1/debug/sleep" and busy[0]["method"] == "GET", busy
        assert busy[0]["busy_ms"] is not None and busy[0]["busy_ms"] >= 0
        assert not busy[0]["self"] and [x["state"] for x in w["workers"] if x["self"]] == ["idle"]
    finally:
        t.join(10)
    assert done["r"].status == 200


def test_recent_counters_and_a_server_down():
    tok = admin_token()
    uid, utok = new_user("Recent counters")
    for _ in range(5):
        assert get("/api/v1/users/%d/profile" % uid, token=utok).status == 200
    # The ring leaves the current, partial second out: polled until that second is counted.
    def recent_profiles():
        prof = [n for n in get("/api/v1/admin/cache/stats", token=tok).json["namespaces"]
                if n["namespace"] == "profiles"][0]
        recent = prof["last_minute"]
        return prof if recent["hits"] + recent["misses"] >= 5 and recent["hits"] >= 4 else None
    wait_for(recent_profiles, timeout=5, what="the last minute's profile hits")

    b = logged_in()
    try:
        stack("stop", "memcached")
        def down():
            s = get("/api/v1/admin/cache/stats", token=tok).json
            return s if s["servers_down"] == 1 else None
        # Each worker reuses its server stats for 1 s, so each answer is
        # polled on its own until that worker has seen the server go.
        s = wait_for(down, timeout=10, what="server shown down")
        assert s["servers"][0]["up"] is False and "uptime" not in s["servers"][0], s
        page = wait_for(lambda: (lambda p: p if p.status == 200 and 'class="down"' in p.body else None)(
            b.req("GET", "/admin/cache")), timeout=10, what="page shows the server down")
        assert "No answer to" in page.body
    finally:
        stack("start", "memcached")
    wait_for(lambda: get("/api/v1/admin/cache/stats", token=tok).json["servers_down"] == 0, timeout=15,
             what="server back up")
    # Each worker's client retries the server on its own (about 1 s): wait
    # until all of them use it, so later tests start from a working cache.
    metric = "/api/v1/users/%d/metrics/monthly_total?period=2026-01" % uid
    wait_for(lambda: all(get(metric, token=utok).json["source"] == "cache" for _ in range(12)), timeout=20,
             what="every worker back on the cache")


def test_users_pages_and_search():
    b = logged_in()
    tag = "Pager" + "".join(random.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(10))   # no digits:
    ids = [new_user("%s %s" % (tag, "abc"[i]))[0] for i in range(3)]                      # ids are searched too
    while int(psql("SELECT count(*) FROM users")[0][0]) <= 51:
        new_user("Filler")
    ids_of = lambda body: [int(x) for x in re.findall(r'<td><a href="/admin/users/(\d+)">', body)]
    first = b.req("GET", "/admin/users")
    assert first.status == 200
    page1 = ids_of(first.body)
    assert len(page1) == 50 and page1 == sorted(page1), page1
    nxt = re.search(r'href="(/admin/users\?q=&amp;after=(\d+))"', first.body)
    assert nxt and int(nxt.group(2)) == page1[-1], nxt
    page2 = ids_of(b.req("GET", html.unescape(nxt.group(1))).body)
    assert page2 and page2[0] > page1[-1], (page1[-1], page2[:3])
    # Search: case-insensitive substring of the name, or an exact id; LIKE wildcards are literal.
    found = ids_of(b.req("GET", "/admin/users?q=" + urllib.parse.quote(tag.lower())).body)
    assert found == ids, (found, ids)
    by_id = ids_of(b.req("GET", "/admin/users?q=%d" % ids[1]).body)   # plus names holding those digits
    assert ids[1] in by_id and ids[0] not in by_id and ids[2] not in by_id, by_id
    assert ids_of(b.req("GET", "/admin/users?q=" + urllib.parse.quote(tag[:5] + "%_")).body) == []


def test_user_page_metrics_carry_their_read_path_source():
    """The user page reads this month's four metrics through the API's read
    path: first view computes them, the next one is served from memcached."""
    b = logged_in()
    uid, tok = new_user("Sources")
    sources = lambda body: re.findall(r'<td class="source">([a-z]+)</td>', body)
    first = b.req("GET", "/admin/users/%d" % uid)
    assert first.status == 200
    assert sources(first.body) == ["computed"] * 4, sources(first.body)
    assert sources(b.req("GET", "/admin/users/%d" % uid).body) == ["cache"] * 4
    assert re.search(r'<td id="profile-queries">0</td>', first.body), "profile stats on the page"
