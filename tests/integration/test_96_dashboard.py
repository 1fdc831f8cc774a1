"""Dashboard readability (issue 18): error pages in the layout, one
date-time format, last-minute rates, schedules and recent jobs with filters,
the users total, the cache page's counting note. HTTP-level checks; the
browser tests check the charts' scales and sizes."""
import html
import re
import time

from harness import admin_token, get, new_user, post, psql, wait_for
from test_90_admin import logged_in

TS = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$")


def _cells(body, row_id):
    m = re.search(r'<tr[^>]*id="%s"[^>]*>(.*?)</tr>' % re.escape(row_id), body, re.S)
    assert m, row_id
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", m.group(1), re.S)]


def test_unknown_admin_page_is_an_html_page_in_the_layout():
    b = logged_in()
    for path, status in (("/admin/nope", 404), ("/admin/users/1/nope", 404)):
        r = b.req("GET", path)
        assert r.status == status, r
        assert r.headers["content-type"].startswith("text/html"), r.headers
        assert 'class="alert"' in r.body and "/static/css/admin.css" in r.body, r.body[:500]
        assert '{"error"' not in r.body
    r = b.req("DELETE", "/admin/cache")
    assert r.status == 405 and r.headers["content-type"].startswith("text/html"), r
    assert "GET" in r.headers.get("allow", ""), r.headers
    # The JSON API keeps JSON errors.
    r = get("/api/v1/nope", token=admin_token())
    assert r.status == 404 and r.headers["content-type"].startswith("application/json"), r


def test_one_date_time_format_on_the_user_and_users_pages():
    tok = admin_token()
    uid, _ = new_user("Dates Person")
    assert post("/api/v1/users/%d/transactions" % uid, [
        {"external_id": "d-1", "date": time.strftime("%Y-%m-01"), "amount": "-5.00", "currency": "EUR",
         "merchant": "Cafe", "category": "Food"}], token=tok).status == 201
    post("/api/v1/users/%d/sessions" % uid, {"duration_s": 30, "queries": 1}, token=tok)
    b = logged_in()
    body = b.req("GET", "/admin/users/%d" % uid).body
    created = re.search(r"<th>created</th><td>([^<]*)</td>", body).group(1)
    last_active = re.search(r"<th>last active</th><td>([^<]*)</td>", body).group(1)
    assert TS.match(created) and TS.match(last_active), (created, last_active)
    stamps = re.findall(r'<tr class="metric">(?:<td[^>]*>[^<]*</td>){3}<td>([^<]*)</td><td>([^<]*)</td>', body)
    assert len(stamps) == 4, stamps
    assert all(TS.match(c) and TS.match(x) for c, x in stamps), stamps
    # Lists are joined, not terminated by a separator.
    cats = re.search(r"<th>preferred categories</th><td>([^<]*)</td>", body).group(1)
    assert cats == "Food", cats
    users = b.req("GET", "/admin/users?q=%d" % uid).body
    row = re.search(r'<a href="/admin/users/%d">%d</a>.*?</tr>' % (uid, uid), users, re.S).group(0)
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d UTC</td>", row), row


def test_users_page_shows_the_total():
    tag = "Total%d" % int(time.time() * 1000)
    ids = [new_user("%s person %d" % (tag, i))[0] for i in range(3)]
    b = logged_in()
    body = b.req("GET", "/admin/users?q=" + tag).body
    m = re.search(r'id="users-total">(\d+) matching user', body)
    assert m and int(m.group(1)) == 3, body[:3000]
    everyone = int(psql("SELECT count(*) FROM users")[0][0])
    body = b.req("GET", "/admin/users").body
    m = re.search(r'id="users-total">(\d+) user', body)
    assert m and int(m.group(1)) == everyone, (m and m.group(0), everyone)



def test_overview_shows_last_minute_rate_beside_since_start():
    tok = admin_token()
    o = get("/api/v1/admin/overview", token=tok).json
    lm = o["requests"]["last_minute"]
    assert lm["seconds"] == 60 and set(lm) >= {"requests", "rate_per_s", "errors_5xx", "error_rate"}, lm
    for _ in range(30):
        assert get("/api/v1/health").status in (200, 503)
    # The current second is left out: wait until the burst's seconds are
    # whole. Older requests may leave the window meanwhile, so the burst
    # alone is the lower bound.
    wait_for(lambda: get("/api/v1/admin/overview", token=tok).json["requests"]["last_minute"]["requests"] >= 30,
             timeout=5, what="last-minute count includes the burst")
    o2 = get("/api/v1/admin/overview", token=tok).json["requests"]["last_minute"]
    assert abs(o2["rate_per_s"] - o2["requests"] / 60.0) < 1e-9, o2
    assert o2["requests"] <= get("/api/v1/admin/overview", token=tok).json["requests"]["total"]
    b = logged_in()
    body = b.req("GET", "/admin/").body
    assert re.search(r'id="rate-recent">\d+\.\d\d<', body), body[:2000]
    assert "since start:" in body


def test_jobs_page_schedules_and_filtered_recent_jobs():
    tok = admin_token()
    kind = "noop"
    r = post("/api/v1/admin/jobs", {"kind": kind, "payload": {"tag": "dash"}}, token=tok)
    assert r.status in (200, 201), r
    job_id = r.json["id"]
    wait_for(lambda: psql("SELECT status FROM jobs WHERE id = %d" % job_id)[0][0] == "succeeded",
             what="noop job done")
    b = logged_in()
    body = b.req("GET", "/admin/jobs?status=succeeded&kind=noop").body
    rows = re.findall(r'<tr class="job"><td>(\d+)</td><td>([^<]*)</td><td class="status">([^<]*)</td>', body)
    assert rows and all(k == "noop" and s == "succeeded" for _, k, s in rows), rows
    assert str(job_id) in [i for i, _, _ in rows], rows
    assert '<option value="succeeded" selected>' in body
    body = b.req("GET", "/admin/jobs?status=dead&kind=noop").body
    assert str(job_id) not in re.findall(r'<tr class="job"><td>(\d+)</td>', body)
    r = b.req("GET", "/admin/jobs?status=bogus")
    assert r.status == 400 and r.headers["content-type"].startswith("text/html"), r
    # A schedule of our own (other tests may empty the table), and every
    # enabled one: the next run in the future, in the one format.
    name = "dash-%d" % int(time.time() * 1000)
    psql("INSERT INTO job_schedules (name, kind, cron) VALUES ('%s', 'noop', '*/5 * * * *')" % name)
    try:
        names = [row[0] for row in psql("SELECT name FROM job_schedules WHERE enabled ORDER BY name")]
        body = b.req("GET", "/admin/jobs").body
        now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        for n in names:
            cells = _cells(body, "schedule-" + n)
            assert TS.match(cells[3]) and cells[3] > now, (n, cells)
        nxt = time.strptime(_cells(body, "schedule-" + name)[3], "%Y-%m-%d %H:%M UTC")
        assert nxt.tm_min % 5 == 0, nxt
    finally:
        psql("DELETE FROM job_schedules WHERE name = '%s'" % name)


def test_cache_page_explains_counting_and_the_probe_namespace():
    b = logged_in()
    body = b.req("GET", "/admin/cache").body
    assert 'id="ns-counting"' in body and "two hits" in body
    cells = _cells(body, "ns-health")
    assert cells[4] == "n/a (probes)" and "%" not in cells[4], cells
