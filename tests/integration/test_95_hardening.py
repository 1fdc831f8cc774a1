"""Hardening (issue 15): no stale metric or profile after a memcached hiccup
and a tallyd restart, a hiccup costs the writing user's entries only, input
is never silently changed by the JSON body reader, exact money sums, an
atomic login limiter, and strict edges (socket mode, X-Tally-Now, nginx's own
errors in the JSON shape, server-bound login CSRF token)."""
import os
import signal
import time
from decimal import Decimal

from harness import (admin_token, assert_error, ctl, get, new_user, post, psql, stack, tallyd_pid, wait_for)

PERIOD = "2026-02"


def D(text):
    return Decimal(text)


def metric(uid, tok, period=PERIOD):
    r = get("/api/v1/users/%d/metrics/monthly_total?period=%s" % (uid, period), token=tok)
    assert r.status == 200, r
    m = r.json
    m["value"] = {k: (Decimal(str(v)) if k != "count" else v) for k, v in m["value"].items()}
    return m


def profile(uid, tok):
    r = get("/api/v1/users/%d/profile" % uid, token=tok)
    assert r.status == 200, r
    return r.json


def add_txn(uid, tok, ext, amount, day=10):
    r = post("/api/v1/users/%d/transactions" % uid,
             [{"external_id": ext, "date": "%s-%02d" % (PERIOD, day), "amount": amount, "currency": "EUR",
               "merchant": "Shop", "category": "Shopping"}], token=tok)
    assert r.status == 201, r


def cached_everywhere(uid, tok):
    """Every worker reaches memcached again (each one's breaker closed)."""
    return all(metric(uid, tok)["source"] == "cache" for _ in range(8))


def restart_tallyd():
    stack("restart", "tallyd")
    wait_for(lambda: get("/api/v1/health").status == 200, timeout=20, what="tallyd back")


class Stopped:
    """memcached stops answering (SIGSTOP) but keeps its port. Requests
    already written to a connection would still be executed on SIGCONT, so
    reads first make every worker time out twice and back the server off:
    the writes that follow really fail to reach memcached (as when a
    connection breaks)."""

    def __init__(self, uid, tok):
        self.uid, self.tok = uid, tok

    def __enter__(self):
        self.pid = int(stack("pid", "memcached"))
        os.kill(self.pid, signal.SIGSTOP)
        for _ in range(16):
            metric(self.uid, self.tok)

    def __exit__(self, *exc):
        os.kill(self.pid, signal.SIGCONT)


def test_hung_memcached_write_then_restart_reads_fresh():
    """The write happens while memcached hangs (its invalidation cannot reach
    memcached), memcached comes back with its old entries, tallyd restarts:
    the metric and the profile read afterwards include the write. (tallyd
    is restarted first too, so that the entries are cached by a tallyd in the
    same state as the one reading them after the restart.)"""
    restart_tallyd()
    uid, tok = new_user("Stale after restart")
    add_txn(uid, tok, "s-1", "-10.00")
    metric(uid, tok)
    m = metric(uid, tok)
    assert m["source"] == "cache" and m["value"]["spending"] == D("10.00"), m
    p = profile(uid, tok)
    assert profile(uid, tok)["stats"]["total_sessions"] == p["stats"]["total_sessions"] == 0
    with Stopped(uid, tok):
        add_txn(uid, tok, "s-2", "-5.25")
        r = post("/api/v1/users/%d/sessions" % uid, {"duration_s": 60, "queries": 1}, token=tok)
        assert r.status in (200, 201), r
    restart_tallyd()
    for _ in range(8):   # every worker, whichever serves
        m = metric(uid, tok)
        assert m["value"]["spending"] == D("15.25") and m["value"]["count"] == 2, m
        assert profile(uid, tok)["stats"]["total_sessions"] == 1
    # and once repaired, the cache serves the fresh value
    wait_for(lambda: metric(uid, tok)["source"] == "cache", timeout=10, what="cache used again")
    assert metric(uid, tok)["value"]["spending"] == D("15.25")


def test_hung_memcached_write_is_fresh_without_restart():
    """Same hiccup, no restart: the cache must not serve the old value once
    memcached answers again, from any worker."""
    uid, tok = new_user("Stale no restart")
    add_txn(uid, tok, "n-1", "-1.00")
    metric(uid, tok)
    assert metric(uid, tok)["source"] == "cache"
    with Stopped(uid, tok):
        add_txn(uid, tok, "n-2", "-2.00")
    deadline = time.time() + 4
    while time.time() < deadline:
        m = metric(uid, tok)
        assert m["value"]["spending"] == D("3.00"), m


def test_tallyctl_generation_bump_is_seen():
    """A write made outside tallyd (here: straight in PostgreSQL, as tallyctl
    or a second tallyd on the same pool would) is seen by tallyd's cached
    reads: PostgreSQL is the source of truth for staleness."""
    uid, tok = new_user("Outside write")
    add_txn(uid, tok, "o-1", "-4.00")
    metric(uid, tok)
    assert metric(uid, tok)["source"] == "cache"
    psql("INSERT INTO transactions (user_id, external_id, date, amount_cents, currency)"
         " VALUES (%d, 'o-2', '%s-11', -100, 'EUR')" % (uid, PERIOD))
    wait_for(lambda: metric(uid, tok)["value"]["spending"] == D("5.00"), timeout=5, what="outside write seen")
    for _ in range(8):
        assert metric(uid, tok)["value"]["spending"] == D("5.00")


def test_a_stall_costs_the_writing_user_only():
    """During a memcached stall a write of user A cannot invalidate; user B's
    cached metric must stay in the cache (the namespace is not emptied)."""
    a, atok = new_user("Stall writer")
    b, btok = new_user("Stall bystander")
    d, dtok = new_user("Stall probe")
    add_txn(a, atok, "a-1", "-1.00")
    add_txn(b, btok, "b-1", "-7.00")
    add_txn(d, dtok, "d-1", "-3.00")
    metric(b, btok)
    assert metric(b, btok)["source"] == "cache"
    with Stopped(d, dtok):
        for i in range(5):
            add_txn(a, atok, "a-stall-%d" % i, "-1.00")
    metric(d, dtok)     # d's entry is written after the stall
    wait_for(lambda: cached_everywhere(d, dtok), timeout=20, what="memcached usable by every worker")
    for _ in range(8):
        m = metric(b, btok)
        assert m["source"] == "cache" and m["value"]["spending"] == D("7.00"), m
    assert metric(a, atok)["value"]["spending"] == D("6.00")
