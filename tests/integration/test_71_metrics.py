"""Pre-computed metrics: each metric's value against a computation done here
(and one against SQL written here), the 3-layer read path (computed -> cache,
store after a memcached restart), invalidation on insert, the degradation
table, tallyctl precompute (twice at once: no duplicates) and cleanup."""
import json
import random
import subprocess
import time
import unicodedata
from decimal import Decimal, ROUND_HALF_UP

from harness import (CONF, CTL, admin_token, assert_error, assert_no_sanitizer_report, ctl, get, new_user, post,
                     psql, stack, wait_for)

CATS = ["Alimentation", "Restaurant", "Transport", "Abonnements", "Santé", "Loisirs", "Shopping", "Logement"]


def fold(s):
    s = unicodedata.normalize("NFKD", s)
    return " ".join("".join(c for c in s if not unicodedata.combining(c)).lower().split())


def cents(v):
    return int((Decimal(str(v)) * 100).to_integral_value())


def half_up(num, den):
    q = (Decimal(num) / Decimal(den)).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return int(q)


def make_items(seed, months, per_month, prefix):
    rnd = random.Random(seed)
    items = []
    for (y, m) in months:
        for i in range(per_month):
            c = rnd.randint(1, 40000) * (1 if rnd.random() < 0.2 else -1)
            items.append({"external_id": "%s-%d-%d-%d" % (prefix, y, m, i), "date": "%04d-%02d-%02d" % (y, m, rnd.randint(1, 28)),
                          "amount": str(Decimal(c) / 100), "_cents": c, "currency": "EUR",
                          "merchant": "M%d" % rnd.randint(1, 9), "category": rnd.choice(CATS)})
    return items


def strip(items):
    return [{k: v for k, v in it.items() if not k.startswith("_")} for it in items]


def month_totals(items, period):
    rows = [it for it in items if it["date"][:7] == period]
    sp = sum(-it["_cents"] for it in rows if it["_cents"] < 0)
    inc = sum(it["_cents"] for it in rows if it["_cents"] > 0)
    return {"spending": sp, "income": inc, "net": inc - sp, "count": len(rows)}


def as_cents(v):
    return {"spending": cents(v["spending"]), "income": cents(v["income"]), "net": cents(v["net"]), "count": v["count"]}


def prev_period(p, n=1):
    y, m = int(p[:4]), int(p[5:])
    idx = y * 12 + m - 1 - n
    return "%04d-%02d" % (idx // 12, idx % 12 + 1)


MONTHS = [(2026, m) for m in range(1, 8)]


def setup_user(prefix, seed=7):
    uid, tok = new_user("Metrics " + prefix)
    items = make_items(seed, MONTHS, 25, prefix)
    r = post("/api/v1/users/%d/transactions" % uid, strip(items), token=tok)
    assert r.status == 201, r
    return uid, tok, items


def metric(uid, tok, mtype, period, status=200):
    r = get("/api/v1/users/%d/metrics/%s?period=%s" % (uid, mtype, period), token=tok)
    assert r.status == status, r
    return r.json


def test_metric_values_against_independent_computation():
    uid, tok, items = setup_user("vals")
    p = "2026-06"
    # monthly_total: in-test arithmetic and SQL written here
    m = metric(uid, tok, "monthly_total", p)
    assert m["user_id"] == uid and m["metric_type"] == "monthly_total" and m["period"] == p
    assert m["source"] == "computed"
    for k in ("computed_at", "expires_at", "computation_time_ms", "data_points_count"):
        assert k in m, m
    exp = month_totals(items, p)
    assert as_cents(m["value"]) == exp, (m["value"], exp)
    assert m["data_points_count"] == exp["count"]
    sql = psql("SELECT coalesce(sum(CASE WHEN amount_cents < 0 THEN -amount_cents END), 0),"
               " coalesce(sum(CASE WHEN amount_cents > 0 THEN amount_cents END), 0), count(*)"
               " FROM transactions WHERE user_id = %d AND date >= '2026-06-01' AND date < '2026-07-01'" % uid)[0]
    assert [exp["spending"], exp["income"], exp["count"]] == [int(x) for x in sql]

    # category_breakdown: top 5 by spending + Others
    b = metric(uid, tok, "category_breakdown", p)["value"]
    by_cat = {}
    for it in items:
        if it["date"][:7] == p and it["_cents"] < 0:
            by_cat[fold(it["category"])] = by_cat.get(fold(it["category"]), 0) - it["_cents"]
    ranked = sorted(by_cat.items(), key=lambda kv: -kv[1])
    total = sum(by_cat.values())
    got = b["categories"]
    assert len(got) == 6 and got[-1]["category"] == "Others", got
    for (k, v), g in zip(ranked[:5], got[:5]):
        assert fold(g["category"]) == k and cents(g["total"]) == v, (g, k, v)
        assert abs(g["share"] - v / total) < 0.00006, g
    assert cents(got[5]["total"]) == sum(v for _, v in ranked[5:])
    assert cents(b["total_spending"]) == total

    # mom_comparison
    c = metric(uid, tok, "mom_comparison", p)["value"]
    cur, prev = month_totals(items, p), month_totals(items, prev_period(p))
    assert as_cents(c["current"]) == cur and as_cents(c["previous"]) == prev
    want_pct = float((Decimal(cur["spending"] - prev["spending"]) * 100 / abs(prev["spending"])).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    assert abs(c["change"]["spending_pct"] - want_pct) <= 0.01, (c["change"], want_pct)
    assert cents(c["change"]["spending"]) == cur["spending"] - prev["spending"]

    # trends_6m: 6 months ending at p, least-squares slope of spending
    t = metric(uid, tok, "trends_6m", p)
    periods = [prev_period(p, 5 - i) for i in range(6)]
    assert [x["period"] for x in t["value"]["months"]] == periods
    ys = [month_totals(items, q)["spending"] for q in periods]
    assert [cents(x["spending"]) for x in t["value"]["months"]] == ys
    assert [cents(x["income"]) for x in t["value"]["months"]] == [month_totals(items, q)["income"] for q in periods]
    xbar, ybar = 2.5, Decimal(sum(ys)) / 6
    slope = sum((Decimal(x) - Decimal(xbar)) * (y - ybar) for x, y in enumerate(ys)) / Decimal(17.5)
    assert abs(cents(t["value"]["spending_slope"]) - slope) <= 1, (t["value"]["spending_slope"], slope)
    assert t["data_points_count"] == sum(month_totals(items, q)["count"] for q in periods)

    # an empty month: zeros; bad type / period
    z = metric(uid, tok, "monthly_total", "2019-01")["value"]
    assert z == {"spending": 0, "income": 0, "net": 0, "count": 0}, z
    assert metric(uid, tok, "mom_comparison", "2019-01")["value"]["change"]["spending_pct"] is None
    assert_error(get("/api/v1/users/%d/metrics/nope?period=2026-06" % uid, token=tok), 404, "not_found", "type")
    assert_error(get("/api/v1/users/%d/metrics/monthly_total?period=2026-13" % uid, token=tok), 400,
                 "invalid_argument", "period")
    other, _ = new_user("Other")
    assert_error(get("/api/v1/users/%d/metrics/monthly_total" % other, token=tok), 403, "forbidden")
    assert_error(get("/api/v1/users/999999999/metrics/monthly_total", token=admin_token()), 404, "not_found")


def test_cache_then_insert_recomputes():
    uid, tok, items = setup_user("inv", seed=11)
    p = "2026-05"
    first = metric(uid, tok, "monthly_total", p)
    assert first["source"] == "computed"
    second = metric(uid, tok, "monthly_total", p)
    assert second["source"] == "cache" and second["value"] == first["value"]
    for t in ("category_breakdown", "mom_comparison", "trends_6m"):
        metric(uid, tok, t, p)
        assert metric(uid, tok, t, p)["source"] == "cache"
    r = post("/api/v1/users/%d/transactions" % uid,
             [{"external_id": "late-1", "date": "2026-05-15", "amount": "-12.34", "currency": "EUR",
               "merchant": "Late", "category": "Zzz"}], token=tok)
    assert r.status == 201, r
    # the stored rows of the user are expired at once
    assert psql("SELECT count(*) FROM pre_computed_metrics WHERE user_id = %d AND expires_at > now()" % uid) == [["0"]]
    after = metric(uid, tok, "monthly_total", p)
    assert after["source"] == "computed"
    assert cents(after["value"]["spending"]) == cents(first["value"]["spending"]) + 1234
    assert after["value"]["count"] == first["value"]["count"] + 1
    # every metric that covers May changed
    mom_june = metric(uid, tok, "mom_comparison", "2026-06")["value"]
    assert cents(mom_june["previous"]["spending"]) == cents(after["value"]["spending"])
    tr = metric(uid, tok, "trends_6m", p)
    assert tr["source"] == "computed" and cents(tr["value"]["months"][-1]["spending"]) == cents(after["value"]["spending"])
    assert metric(uid, tok, "monthly_total", p)["source"] == "cache"
    # a duplicate insert (nothing inserted) changes nothing
    r = post("/api/v1/users/%d/transactions" % uid,
             [{"external_id": "late-1", "date": "2026-05-15", "amount": "-12.34", "currency": "EUR"}], token=tok)
    assert r.status == 200 and r.json["inserted"] == 0
    assert metric(uid, tok, "monthly_total", p)["source"] == "cache"


def _metrics_text():
    return get("/metrics").body.decode() if isinstance(get("/metrics").body, bytes) else get("/metrics").body


def test_memcached_restart_then_store():
    from test_15_metrics import scrape
    uid, tok, items = setup_user("mcr", seed=12)
    p = "2026-04"
    seen = []     # the source of every read this test makes: the counters must grow by exactly these

    def read():
        m = metric(uid, tok, "category_breakdown", p)
        seen.append(m["source"])
        return m

    before = scrape()[0]
    a = read()
    assert a["source"] == "computed"
    assert read()["source"] == "cache"
    stack("stop", "memcached")
    stack("start", "memcached")
    b = wait_for(lambda: (lambda m: m if m["source"] == "store" else None)(read()),
                 timeout=10, what="source store after memcached restart")
    assert b["value"] == a["value"] and b["computed_at"] == a["computed_at"]
    wait_for(lambda: read()["source"] == "cache", timeout=10, what="cache again")
    after = scrape()[0]
    for source in ("store", "cache"):
        key = 'tally_metrics_reads_total{source="%s"}' % source
        assert after[key] - before[key] == seen.count(source), (source, before[key], after[key], seen)
    assert seen.count("store") >= 1 and seen.count("cache") >= 2, seen


def _health_status():
    r = get("/api/v1/health")
    return r.json["status"] if r.json else None


def test_degradation_table():
    uid, tok, items = setup_user("deg", seed=13)
    cached = metric(uid, tok, "monthly_total", "2026-03")   # computed, then in memcached
    assert metric(uid, tok, "monthly_total", "2026-03")["source"] == "cache"
    prof = get("/api/v1/users/%d/profile" % uid, token=tok)
    assert prof.status == 200
    try:
        # memcached down: served from PostgreSQL, health degraded
        stack("stop", "memcached")
        wait_for(lambda: _health_status() == "degraded", what="degraded")
        s = metric(uid, tok, "monthly_total", "2026-03")
        assert s["source"] == "store" and s["value"] == cached["value"], s
        c = metric(uid, tok, "trends_6m", "2026-03")
        assert c["source"] == "computed"
        assert metric(uid, tok, "trends_6m", "2026-03")["source"] == "store"
        assert get("/api/v1/users/%d/profile" % uid, token=tok).status == 200
        ctx = get("/api/v1/users/%d/context" % uid, token=tok)
        assert ctx.status == 200 and ctx.json["user_profile"]["user_id"] == uid
        # memcached back: the cache is used again, no restart
        stack("start", "memcached")
        wait_for(lambda: _health_status() == "ok", timeout=20, what="ok")
        metric(uid, tok, "monthly_total", "2026-02")
        wait_for(lambda: metric(uid, tok, "monthly_total", "2026-02")["source"] == "cache", timeout=10, what="cache back")
        # each worker's client retries a failed server on its own (about 1 s): until then it
        # answers from the store; then every worker answers from the cache
        wait_for(lambda: all(metric(uid, tok, "monthly_total", "2026-03")["source"] == "cache" for _ in range(12)),
                 timeout=20, what="every worker back on the cache")

        # The bearer token must be in memcached for a worker to trust it while
        # PostgreSQL is down (a worker recycled by max_requests has no local
        # auth cache): a fresh token's first use puts it there.
        tok = ctl("token", "create", "--user", uid).stdout.strip()
        assert metric(uid, tok, "monthly_total", "2026-03")["source"] == "cache"

        # PostgreSQL down: what is in memcached is served, the rest is 503 JSON
        stack("stop", "pg")
        wait_for(lambda: get("/api/v1/health").status == 503, what="pg down")
        s = metric(uid, tok, "monthly_total", "2026-03")
        assert s["source"] == "cache" and s["value"] == cached["value"]
        assert_error(get("/api/v1/users/%d/metrics/monthly_total?period=2025-01" % uid, token=tok), 503, "unavailable")
        assert_error(post("/api/v1/users/%d/sessions" % uid, {"duration_s": 1, "queries": 1}, token=tok), 503,
                     "unavailable")
        ctx = get("/api/v1/users/%d/context?period=2026-03" % uid, token=tok)
        assert ctx.status == 200 and ctx.json["conversation_history"] is None
        assert ctx.json["metrics"]["monthly_total"]["source"] == "cache"

        # both down: 503 JSON, no crash
        stack("stop", "memcached")
        assert_error(get("/api/v1/users/%d/metrics/monthly_total?period=2026-03" % uid, token=tok), 503, "unavailable")
        r = get("/api/v1/users/%d/profile" % uid, token=tok)
        assert r.status == 503 and r.json["error"]["code"] == "unavailable", r
    finally:
        stack("start", "pg")
        stack("start", "memcached")
    wait_for(lambda: _health_status() == "ok", timeout=30, what="recovery")
    time.sleep(1.2)
    wait_for(lambda: get("/api/v1/users/%d/metrics/monthly_total?period=2026-03" % uid, token=tok).status == 200,
             timeout=15, what="metrics after recovery")
    assert get("/api/v1/users/%d/profile" % uid, token=tok).status == 200


def test_precompute_all_twice_concurrently():
    uid, tok, items = setup_user("pc", seed=14)
    ctl("precompute", "--all", "--month", "2026-07")   # warm: the first computation of every active user
    psql("DELETE FROM pre_computed_metrics WHERE user_id = %d" % uid)
    cmd = [CTL] + (["-c", CONF] if CONF else []) + ["precompute", "--all", "--month", "2026-07"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert_no_sanitizer_report(err, "tallyctl precompute --all")
        assert p.returncode == 0, (out, err)
        assert "precomputed" in out and "0 failed" in out, out
    # Duplicates are impossible by schema (the UNIQUE constraint the upserts conflict on): check the
    # constraint is there, rather than counting duplicates it forbids. Two concurrent batches on the
    # same rows then either upsert or fail ("0 failed" above).
    cons = psql("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'pre_computed_metrics'::regclass"
                " AND contype = 'u'")
    assert ["UNIQUE (user_id, metric_type, period)"] in cons, cons
    rows = psql("SELECT metric_type, period FROM pre_computed_metrics WHERE user_id = %d ORDER BY 1, 2" % uid)
    assert len(rows) == 8 and {r[1] for r in rows} == {"2026-06", "2026-07"}, rows
    stored = psql("SELECT metric_value::text FROM pre_computed_metrics WHERE user_id = %d"
                  " AND metric_type = 'monthly_total' AND period = '2026-07'" % uid)
    assert as_cents(json.loads(stored[0][0])) == month_totals(items, "2026-07"), stored
    # the batch filled memcached too, with the same value as an on-demand computation
    m = metric(uid, tok, "monthly_total", "2026-07")
    assert m["source"] == "cache"
    assert as_cents(m["value"]) == month_totals(items, "2026-07")
    # --user, and a failure exit
    psql("DELETE FROM pre_computed_metrics WHERE user_id = %d" % uid)
    out = ctl("precompute", "--user", uid, "--month", "2026-07").stdout
    assert "1 users (0 failed)" in out, out
    assert psql("SELECT count(*) FROM pre_computed_metrics WHERE user_id = %d" % uid) == [["8"]]
    assert ctl("precompute", "--user", 999999999, check=False).returncode == 1
    assert ctl("precompute", check=False).returncode == 2


def test_cleanup_removes_exactly_the_rows_expired_7_days():
    uid, tok = new_user("Cleanup")
    cases = {"2020-01": "now() + interval '1 day'", "2020-02": "now() - interval '1 day'",
             "2020-03": "now() - interval '6 days 23 hours'", "2020-04": "now() - interval '7 days 1 minute'",
             "2020-05": "now() - interval '30 days'"}
    for period, exp in cases.items():
        psql("INSERT INTO pre_computed_metrics (user_id, metric_type, period, metric_value, expires_at)"
             " VALUES (%d, 'monthly_total', '%s', '{}', %s)" % (uid, period, exp))
    before = int(psql("SELECT count(*) FROM pre_computed_metrics WHERE expires_at < now() - interval '7 days'")[0][0])
    out = ctl("cleanup").stdout
    assert "deleted %d " % before in out, (out, before)
    left = [r[0] for r in psql("SELECT period FROM pre_computed_metrics WHERE user_id = %d ORDER BY 1" % uid)]
    assert left == ["2020-01", "2020-02", "2020-03"], left


def _job_status(job_id):
    return psql("SELECT status, coalesce(last_error, '') FROM jobs WHERE id = %d" % job_id)[0]


def test_metric_jobs_run_by_tallyds_runner():
    """The job kinds behind the nightly schedules, run by tallyd's own
    runner: precompute_user_metrics stores 8 rows and fills memcached (the
    next read is a cache hit with the right value); a bad payload fails with
    a message; cleanup_expired_metrics deletes an old expired row."""
    admin = admin_token()
    uid, tok, items = setup_user("job", seed=21)
    psql("DELETE FROM pre_computed_metrics WHERE user_id = %d" % uid)
    j = post("/api/v1/admin/jobs", {"kind": "precompute_user_metrics",
                                     "payload": {"user_id": uid, "period": "2026-05"}}, token=admin)
    assert j.status == 201, j
    wait_for(lambda: _job_status(j.json["id"])[0] == "succeeded", what="precompute job done")
    rows = psql("SELECT metric_type, period FROM pre_computed_metrics WHERE user_id = %d ORDER BY 1, 2" % uid)
    assert len(rows) == 8 and {r[1] for r in rows} == {"2026-04", "2026-05"}, rows
    m = metric(uid, tok, "monthly_total", "2026-04")
    assert m["source"] == "cache", m
    assert as_cents(m["value"]) == month_totals(items, "2026-04")

    bad = post("/api/v1/admin/jobs", {"kind": "precompute_user_metrics", "payload": {"period": "2026-05"},
                                      "max_attempts": 1}, token=admin)
    wait_for(lambda: _job_status(bad.json["id"])[0] == "dead", what="bad job dead")
    assert "payload.user_id" in _job_status(bad.json["id"])[1]

    psql("INSERT INTO pre_computed_metrics (user_id, metric_type, period, metric_value, expires_at)"
         " VALUES (%d, 'trends_6m', '2019-01', '{}', now() - interval '8 days')" % uid)
    c = post("/api/v1/admin/jobs", {"kind": "cleanup_expired_metrics"}, token=admin)
    wait_for(lambda: _job_status(c.json["id"])[0] == "succeeded", what="cleanup job done")
    assert psql("SELECT count(*) FROM pre_computed_metrics WHERE user_id = %d AND period = '2019-01'" % uid) == [["0"]]


def test_hung_memcached_costs_little():
    """memcached stops answering but keeps its port (SIGSTOP: connects are
    accepted, nothing comes back): reads are served from PostgreSQL, each
    paying at most a couple of 50 ms timeouts until the client skips the
    server; after SIGCONT the cache is used again."""
    import os
    import signal
    uid, tok, items = setup_user("hung", seed=23)
    assert metric(uid, tok, "monthly_total", "2026-02")["source"] == "computed"
    mc = int(stack("pid", "memcached"))
    os.kill(mc, signal.SIGSTOP)
    try:
        took = []
        for _ in range(12):
            t0 = time.time()
            m = metric(uid, tok, "monthly_total", "2026-02")
            took.append(time.time() - t0)
            assert m["source"] == "store" and as_cents(m["value"]) == month_totals(items, "2026-02"), m
        assert max(took) < 1.0 and sorted(took)[len(took) // 2] < 0.3, took
    finally:
        os.kill(mc, signal.SIGCONT)
    wait_for(lambda: all(metric(uid, tok, "monthly_total", "2026-02")["source"] == "cache" for _ in range(8)),
             timeout=20, what="cache used again")
