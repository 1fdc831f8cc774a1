"""Health and availability when memcached or PostgreSQL stop and come back,
with no tallyd restart."""
import time

from harness import admin_token, get, new_user, post, stack, tallyd_pid, wait_for


def _health():
    r = get("/api/v1/health")
    return r


def test_health_ok_degraded_down_ok():
    master = tallyd_pid()
    uid, tok = new_user("Degrade")
    assert get("/api/v1/users/%d" % uid, token=tok).status == 200
    try:
        stack("stop", "memcached")
        r = wait_for(lambda: (lambda h: h if h.json and h.json["status"] == "degraded" else None)(_health()),
                     what="degraded health")
        assert r.status == 200 and r.json["checks"]["memcached"]["ok"] is False
        assert r.json["checks"]["postgres"]["ok"] is True
        # The API keeps working without memcached.
        assert get("/api/v1/users/%d" % uid, token=tok).status == 200
        assert get("/api/v1/users/%d/transactions" % uid, token=admin_token()).status == 200

        stack("stop", "pg")
        r = wait_for(lambda: (lambda h: h if h.status == 503 else None)(_health()), what="down health")
        assert r.json["status"] == "down" and r.json["checks"]["postgres"]["ok"] is False
        # Data routes: 503 with the JSON error body (token still cached or not).
        r = get("/api/v1/users/%d/transactions" % uid, token=tok)
        assert r.status in (503,), r
        assert r.json["error"]["code"] == "unavailable"
    finally:
        stack("start", "pg")
        stack("start", "memcached")
    r = wait_for(lambda: (lambda h: h if h.status == 200 and h.json["status"] == "ok" else None)(_health()),
                 timeout=20, what="ok health after restart")
    assert r.json["checks"]["memcached"]["ok"] is True
    # Every worker recovers, not just one: polled (bounded) until 20 requests in a row succeed,
    # more than there are workers; then the next 20 too.
    def twenty_in_a_row():
        return all(get("/api/v1/users/%d" % uid, token=tok).status == 200 for _ in range(20))
    wait_for(twenty_in_a_row, timeout=15, interval=0.2, what="every worker serving again")
    for _ in range(20):
        assert get("/api/v1/users/%d" % uid, token=tok).status == 200
    assert tallyd_pid() == master


def test_writes_after_a_postgresql_restart_do_not_fail():
    """A PostgreSQL restart kills every worker's idle connection; the first
    statement on it must reconnect, also for writes (which are never re-run
    after an error): each worker notices the dead connection before use."""
    uid, tok = new_user("Restart writer")
    for i in range(12):   # every worker holds a connection
        assert get("/api/v1/users/%d" % uid, token=tok).status == 200
    stack("stop", "pg")
    stack("start", "pg")
    admin = admin_token()
    for i in range(16):   # POST /users: its first statement is the INSERT
        r = post("/api/v1/users", {"name": "After restart %d" % i}, token=admin)
        assert r.status == 201, (i, r)


def test_a_stalled_postgresql_gives_503_not_a_hang():
    """PostgreSQL stops answering (SIGSTOP: connections stay open, nothing
    comes back): a request gets 503 after db_timeout_ms (1500 ms in the
    test stack), not when the master kills the worker at request_timeout_ms;
    after SIGCONT everything works again without a restart."""
    import os
    import signal
    import subprocess
    uid, tok = new_user("Stalled")
    path = "/api/v1/users/%d/transactions?limit=5" % uid
    for _ in range(12):   # every worker holds an open connection (else it would time out connecting)
        assert get(path, token=tok).status == 200
    master = tallyd_pid()
    pg = int(stack("pid", "pg"))
    kids = subprocess.run(["pgrep", "-P", str(pg)], capture_output=True, text=True).stdout.split()
    procs = [pg] + [int(k) for k in kids]
    for p in procs:
        os.kill(p, signal.SIGSTOP)
    try:
        t0 = time.time()
        r = get(path, token=tok)
        took = time.time() - t0
    finally:
        for p in procs:
            os.kill(p, signal.SIGCONT)
    assert r.status == 503 and r.json["error"]["code"] == "unavailable", r
    assert 1.0 <= took < 3.9, took
    wait_for(lambda: get(path, token=tok).status == 200, timeout=15, what="recovery after SIGCONT")
    for _ in range(8):
        assert get(path, token=tok).status == 200
    assert tallyd_pid() == master
