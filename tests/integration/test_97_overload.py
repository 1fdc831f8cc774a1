"""Load shedding (issue 15, "Overload"; docs/performance.md): when tallyd is
stopped, or its listen queue (listen_backlog) is full, nginx answers the API
at once with the JSON 503 and Retry-After instead of 502/504 HTML or a
queue that grows without bound; it recovers as soon as tallyd can take
requests again."""
import errno
import os
import socket

from harness import VAR, admin_token, assert_error, conf_value, get, post, psql, stack, wait_for
from test_95_hardening import with_extra_conf

SOCKET = os.environ.get("TALLY_SOCKET", os.path.join(VAR, "run", "tallyd.sock"))


def assert_shed(r):
    """nginx's 503: the API error shape, Retry-After, the security headers."""
    assert_error(r, 503, "unavailable")
    assert r.headers.get("retry-after") == "1", r.headers
    assert r.headers.get("x-content-type-options") == "nosniff", r.headers
    assert "retry" in r.json["error"]["message"], r
    assert r.headers.get("x-request-id"), r.headers


def test_tallyd_stopped_gives_json_503_then_200_when_started():
    assert get("/api/v1/health").status == 200
    stack("stop", "tallyd")
    try:
        assert_shed(get("/api/v1/health"))
        # Every /api/ location: the plain one, a POST, the upload locations
        # (their own location blocks with their own error_page lines).
        assert_shed(post("/api/v1/users", {"name": "x", "currency": "EUR", "language": "fr"},
                         token="not-checked-nginx-answers"))
        assert_shed(post("/api/v1/users/1/transactions/import", b"date,amount\n", content_type="text/csv",
                         token="not-checked"))
        assert_shed(get("/api/v1/datasets"))
        # A second request too: nothing cached the failure in a bad state.
        r = get("/api/v1/health", headers={"X-Request-Id": "shed-1"})
        assert_shed(r)
        assert r.headers["x-request-id"] == "shed-1", r.headers
        # The dashboard: a page, not nginx's "502 Bad Gateway" (login too).
        for path in ("/admin/", "/admin/login", "/admin/users?q=%3Cb%3E"):
            r = get(path)
            assert r.status == 503, (path, r)
            assert r.headers.get("content-type", "").startswith("text/html"), (path, r.headers)
            assert r.headers.get("retry-after") == "5", (path, r.headers)
            assert "tally is unavailable" in r.body and "nginx" not in r.body, (path, r.body)
        r = get("/metrics")
        assert r.status == 503 and r.body == "tallyd unavailable\n", r
    finally:
        stack("start", "tallyd")
    r = wait_for(lambda: (lambda h: h if h.status == 200 else None)(get("/api/v1/health")), what="tallyd back")
    assert r.json["status"] in ("ok", "degraded"), r
    assert "retry-after" not in r.headers, r.headers


def _connect_nonblocking():
    """One FastCGI connection straight to tallyd's socket that never sends
    a request (it pins a worker once accepted). None when the listen queue
    is full (EAGAIN: what nginx's non-blocking connect sees too)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setblocking(False)
    rc = s.connect_ex(SOCKET)
    if rc == 0:
        return s
    s.close()
    assert rc in (errno.EAGAIN, errno.EWOULDBLOCK), os.strerror(rc)
    return None


def test_full_listen_queue_sheds_with_json_503_and_recovers():
    backlog = 3

    def run():
        workers = int(conf_value("workers"))
        assert int(conf_value("listen_backlog")) == backlog
        tok = admin_token()
        assert get("/api/v1/users/1", token=tok).status in (200, 404)
        held = []
        try:
            # Fill: every worker accepts one idle connection and waits for
            # its request; the queue then holds what listen(2) allows.
            eagain = [0]

            def full():
                s = _connect_nonblocking()
                if s is not None:
                    held.append(s)
                    eagain[0] = 0
                    return False
                # Full three times in a row, 50 ms apart: no worker is
                # still on its way to accept() (start-up warm-up).
                eagain[0] += 1
                return eagain[0] >= 3
            wait_for(full, timeout=20, interval=0.05, what="listen queue full")
            # Linux queues backlog + 1 connections on a unix socket; each
            # worker took one out of the queue.
            assert len(held) == workers + backlog + 1, (len(held), workers, backlog)
            for _ in range(5):
                assert_shed(get("/api/v1/health"))
            assert_shed(get("/api/v1/users/1", token=tok))
            assert_shed(post("/api/v1/users", {"name": "shed", "currency": "EUR", "language": "fr"}, token=tok))
        finally:
            for s in held:
                s.close()
        assert psql("SELECT count(*) FROM users WHERE name = 'shed'") == [["0"]]
        # The workers see EOF on the idle connections and go back to accept().
        wait_for(lambda: get("/api/v1/health").status == 200, what="health 200 after the queue drained")
        assert get("/api/v1/users/1", token=tok).status in (200, 404)
    with_extra_conf(["listen_backlog = %d" % backlog], run)
