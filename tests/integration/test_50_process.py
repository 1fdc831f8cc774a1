"""Process model under bounded load: kill -9 of a worker, SIGHUP reload,
the master's request timeout and slow log, SIGTERM graceful stop. Runs last:
it stops and restarts tallyd."""
import os
import signal
import threading
import time

from harness import admin_token, get, log_since as _log_since, log_size as _log_size, new_user, stack, \
    tallyd_pid, wait_for, worker_pids


class Load:
    """threads x sequential requests for at most `seconds` (and max_requests)."""

    def __init__(self, path, token, threads=4, seconds=4.0, max_requests=4000):
        self.path, self.token = path, token
        self.threads, self.seconds, self.max_requests = threads, seconds, max_requests
        self.ok = 0
        self.failed = []
        self.lock = threading.Lock()
        self.workers = []

    def _run(self):
        deadline = time.time() + self.seconds
        while time.time() < deadline:
            with self.lock:
                if self.ok + len(self.failed) >= self.max_requests:
                    return
            try:
                r = get(self.path, token=self.token, timeout=10)
                status = r.status
            except Exception as e:  # connection reset counts as a failure
                status = repr(e)
            with self.lock:
                if status == 200:
                    self.ok += 1
                else:
                    self.failed.append(status)

    def start(self):
        self.workers = [threading.Thread(target=self._run) for _ in range(self.threads)]
        for t in self.workers:
            t.start()
        return self

    def join(self):
        for t in self.workers:
            t.join()
        return self


def _age(pid):
    """Seconds since process pid started (/proc/PID/stat field 22, clock ticks since boot)."""
    with open("/proc/%d/stat" % pid) as f:
        start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


def _user():
    uid, tok = new_user("Process")
    return "/api/v1/users/%d/transactions?limit=5" % uid, tok


def test_kill_worker_under_load():
    path, tok = _user()
    before = worker_pids()
    assert len(before) >= 2, before
    load = Load(path, tok).start()
    wait_for(lambda: load.ok >= 20, timeout=10, interval=0.05, what="load running")
    # Workers recycle (max_requests): one may exit between the listing and the kill; pick again.
    for _ in range(20):
        victim = worker_pids()[0]
        try:
            os.kill(victim, signal.SIGKILL)
            break
        except ProcessLookupError:
            continue
    else:
        raise AssertionError("no live worker to kill")
    load.join()
    # At most the one request that was on the killed worker may fail.
    assert len(load.failed) <= 1, load.failed[:10]
    assert load.ok > 50, load.ok
    after = wait_for(lambda: (lambda p: p if len(p) == len(before) and victim not in p else None)(worker_pids()),
                     what="replacement worker")
    assert victim not in after


def test_sighup_reload_zero_failures():
    path, tok = _user()
    before = set(worker_pids())
    load = Load(path, tok, seconds=5.0).start()
    time.sleep(1.0)
    os.kill(tallyd_pid(), signal.SIGHUP)
    time.sleep(1.5)
    os.kill(tallyd_pid(), signal.SIGHUP)      # twice in a row
    load.join()
    assert load.failed == [], load.failed[:10]
    assert load.ok > 50
    after = wait_for(lambda: (lambda p: p if len(p) == len(before) and not (set(p) & before) else None)(worker_pids()),
                     what="all workers replaced")
    assert not set(after) & before


def test_slow_log_and_request_timeout():
    admin = admin_token()
    offset = _log_size()
    r = get("/api/v1/debug/sleep?ms=1300", token=admin)
    assert r.status == 200 and r.json["slept_ms"] == 1300
    wait_for(lambda: "slow request" in _log_since(offset), timeout=5, what="slow log line")
    assert "/api/v1/debug/sleep" in _log_since(offset)
    # request_timeout_ms is 4000 on the test stack: the master kills the worker.
    before = worker_pids()
    offset = _log_size()
    r = get("/api/v1/debug/sleep?ms=8000", token=admin, timeout=20)
    assert r.status in (502, 503, 504), r
    assert "request timeout" in _log_since(offset)
    wait_for(lambda: len(worker_pids()) == len(before), what="worker replaced after timeout")
    assert get("/api/v1/health").status == 200


def test_sigterm_finishes_in_flight_requests():
    admin = admin_token()
    master = tallyd_pid()
    results = {}

    def slow():
        results["r"] = get("/api/v1/debug/sleep?ms=1500", token=admin, timeout=20)

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.4)
    os.kill(master, signal.SIGTERM)
    t.join()
    assert results["r"].status == 200, results["r"]
    wait_for(lambda: not os.path.exists("/proc/%d" % master), timeout=10, what="master exit")
    r = get("/api/v1/health")
    assert r.status in (502, 503), r
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    stack("start", "tallyd")
    wait_for(lambda: get("/api/v1/health").status == 200, what="tallyd back")


def test_max_requests_recycles_without_failures():
    # The test stack sets max_requests = 400 (+ jitter up to 100) per worker.
    from test_15_metrics import scrape
    path, tok = _user()
    before = set(worker_pids())
    recycled_before = scrape()[0]["tally_worker_recycles_total"]
    load = Load(path, tok, threads=4, seconds=30.0, max_requests=len(before) * 900).start()
    load.join()
    assert load.failed == [], load.failed[:10]
    assert load.ok >= len(before) * 900
    after = set(wait_for(lambda: (lambda p: p if len(p) == len(before) else None)(worker_pids()), what="workers"))
    assert not (after & before), "every worker should have been recycled"
    assert scrape()[0]["tally_worker_recycles_total"] - recycled_before >= len(before)


def test_crash_loop_guard_backs_off_and_resets():
    """Workers that die within 2 s of their start double the wait before the
    next spawn (200, 400, 800 ms ...); one that lived longer resets it."""
    import re
    full = len(worker_pids())
    # Every worker has lived past the 2 s limit (earlier tests recycle them): polled on their ages.
    wait_for(lambda: all(_age(p) > 2.1 for p in worker_pids()), timeout=10, interval=0.1, what="workers older than 2 s")
    offset = _log_size()
    # A long-lived worker dies: replaced at once, no backoff.
    def replaced(pid, others):   # the one new worker once the pool is full again without pid
        p = set(worker_pids())
        new = p - others - {pid}
        return new.pop() if len(p) == full and pid not in p and len(new) == 1 else None

    pid = worker_pids()[0]
    others = set(worker_pids()) - {pid}
    os.kill(pid, signal.SIGKILL)
    pid = wait_for(lambda: replaced(pid, others), timeout=5, what="replacement")
    gaps = []
    for _ in range(4):
        os.kill(pid, signal.SIGKILL)                       # dies young
        t0 = time.time()
        pid = wait_for(lambda: replaced(pid, others), timeout=10, interval=0.02, what="respawn after a quick death")
        gaps.append(time.time() - t0)
    text = _log_since(offset)
    waits = [int(m) for m in re.findall(r"crash loop guard: \d+ quick worker deaths in a row, next spawn in (\d+) ms", text)]
    assert waits == [200, 400, 800, 1600], (waits, text[-2000:])
    for gap, wait in zip(gaps, waits):
        assert gap >= wait / 1000.0 * 0.9, (gaps, waits)
    # Lived past 2 s: the count starts over (no guard line, quick respawn).
    wait_for(lambda: _age(pid) > 2.1, timeout=10, interval=0.1, what="the worker older than 2 s")
    offset = _log_size()
    os.kill(pid, signal.SIGKILL)
    t0 = time.time()
    wait_for(lambda: replaced(pid, others), timeout=5, interval=0.02, what="quick respawn")
    assert time.time() - t0 < 0.5
    assert "crash loop guard" not in _log_since(offset)
