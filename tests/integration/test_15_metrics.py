"""/metrics: Prometheus text, totals across workers, exact counter deltas."""
import re

from harness import admin_token, get


def scrape():
    r = get("/metrics")
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/plain"), r.headers
    samples = {}
    for line in r.body.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$', line)
        assert m, "bad sample line: %r" % line
        samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return samples, r.body


def test_exposition_format():
    samples, body = scrape()
    for family in ("tally_http_requests_total", "tally_http_request_duration_seconds", "tally_cache_operations_total",
                   "tally_db_queries_total", "tally_db_query_duration_seconds", "tally_workers",
                   "tally_worker_restarts_total", "tally_build_info", "tally_process_start_time_seconds"):
        assert "# TYPE %s " % family in body, family
    # Histogram buckets are cumulative and end with +Inf == _count.
    buckets = [(k, v) for k, v in samples.items() if k.startswith('tally_db_query_duration_seconds_bucket')]
    values = [v for _, v in buckets]
    assert values == sorted(values) and buckets[-1][0].endswith('le="+Inf"}')
    assert values[-1] == samples["tally_db_query_duration_seconds_count{}"]
    # Route labels are patterns, never raw paths.
    assert not re.search(r'route="/api/v1/users/\d', body)


def test_counters_grow_by_exactly_the_requests_made():
    key = 'tally_http_requests_total{route="/api/v1/health",method="GET",status="200"}'
    before, _ = scrape()
    n = 37
    for _ in range(n):
        assert get("/api/v1/health").status == 200
    after, _ = scrape()
    assert after.get(key, 0) - before.get(key, 0) == n, (before.get(key), after.get(key))
    # 404s land on the bounded "unmatched" route label.
    k404 = 'tally_http_requests_total{route="unmatched",method="any",status="404"}'
    get("/api/v1/definitely/not/here/12345", token=admin_token())
    get("/api/v1/definitely/not/here/67890", token=admin_token())
    again, _ = scrape()
    assert again.get(k404, 0) - after.get(k404, 0) == 2
