"""tallyd's life cycle as docs/config.md and docs/jobs.md describe it:
`tallyd -t`, a live pidfile refusing a second start, refusing to start on
a bad template, SIGHUP applying a changed config value and replacing the
supervised job runner, a second master (another host) following a flush
through the generations in memcached and never going back to an older one,
the graceful_timeout_ms SIGKILL, the runner finishing its job on TERM and
leaving with a SIGKILLed master. Tests that stop tallyd start it again."""
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading

from harness import (BIN_DIR, CONF, VAR, admin_token, assert_no_sanitizer_report, fcgi_request, get,
                     log_since as _log_since, log_size as _log_size, post, psql, stack, tallyd_pid, wait_for,
                     worker_pids)

TALLYD = os.path.join(BIN_DIR, "tallyd")


def _tallyd(*args, env=None, timeout=30):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([TALLYD] + list(args), capture_output=True, text=True, env=e, timeout=timeout)
    assert_no_sanitizer_report(p.stderr, "tallyd %s" % (args,))
    return p


def _conf_lines():
    with open(CONF) as f:
        return f.read().splitlines()


def _write_conf(path, lines):
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)


def _with(lines, **values):
    """lines with each key of values set (replaced where present, else added)."""
    out, seen = [], set()
    for line in lines:
        k = line.partition("=")[0].strip()
        if k in values:
            if k not in seen:
                out.append("%s = %s" % (k, values[k]))
                seen.add(k)
            continue
        out.append(line)
    out += ["%s = %s" % (k, v) for k, v in values.items() if k not in seen]
    return out


@contextlib.contextmanager
def changed_conf(**values):
    """The running tallyd.conf with values changed, restored afterwards (and
    on the next scripts/stack start, which regenerates it)."""
    original = _conf_lines()
    _write_conf(CONF, _with(original, **values))
    try:
        yield
    finally:
        _write_conf(CONF, original)


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _runner_pids():
    out = subprocess.run(["pgrep", "-x", "-P", str(tallyd_pid()), "tallyd-jobs"], capture_output=True,
                         text=True).stdout.split()
    return [int(x) for x in out]


def _runner_pid():
    p = _runner_pids()
    return p[0] if len(p) == 1 else None


def _restart_tallyd():
    stack("start", "tallyd")
    wait_for(lambda: get("/api/v1/health").status == 200, timeout=20, what="tallyd back")


def _job(job_id):
    r = psql("SELECT status, attempts, coalesce(locked_by, '') FROM jobs WHERE id = %d" % job_id)
    return r[0] if r else None


def _enqueue_sleep(ms):
    r = post("/api/v1/admin/jobs", {"kind": "sleep", "payload": {"ms": ms}, "priority": "high"}, token=admin_token())
    assert r.status == 201, r
    return r.json["id"]


def _taken_by_supervised_runner(job_id):
    j = _job(job_id)
    return j if j and j[0] == "running" and j[2].endswith(":tallyd") else None


# ---------------------------------------------------------------- checks without a restart

def test_tallyd_t_checks_the_configuration_and_templates():
    p = _tallyd("-c", CONF, "-t")
    assert p.returncode == 0 and p.stdout.startswith("configuration ok: "), (p.returncode, p.stdout, p.stderr)
    assert re.search(r"^\s*workers\s+4$", p.stdout, re.M), p.stdout
    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "bad.conf")
        for lines, needle in ((_with(_conf_lines(), workers="many"), "workers"),
                              (_conf_lines() + ["no_such_key = 1"], "no_such_key"),
                              (_with(_conf_lines(), log_level="loud"), "log_level")):
            _write_conf(bad, lines)
            p = _tallyd("-c", bad, "-t")
            assert p.returncode == 1 and needle in p.stderr and "configuration ok" not in p.stdout, \
                (needle, p.returncode, p.stdout, p.stderr)
        # A template with a syntax error: -t names the file and fails.
        tdir = os.path.join(tmp, "templates")
        shutil.copytree(os.path.join(os.environ.get("TALLY_ROOT", "."), "templates"), tdir)
        with open(os.path.join(tdir, "jobs.mustache"), "a") as f:
            f.write("{{#unclosed}}\n")
        p = _tallyd("-c", CONF, "-t", env={"TALLY_TEMPLATES_DIR": tdir})
        assert p.returncode == 1 and "jobs.mustache" in p.stderr, (p.returncode, p.stdout, p.stderr)


def test_bad_template_refuses_to_start():
    """A real start (its own pidfile and socket, so the running tallyd is
    not in the way) exits non-zero before it listens or writes a pidfile."""
    with tempfile.TemporaryDirectory(dir=os.path.join(VAR, "run")) as tmp:
        tdir = os.path.join(tmp, "t")
        shutil.copytree(os.path.join(os.environ.get("TALLY_ROOT", "."), "templates"), tdir)
        with open(os.path.join(tdir, "layout_head.mustache"), "a") as f:
            f.write("{{/never_opened}}\n")
        env = {"TALLY_TEMPLATES_DIR": tdir, "TALLY_PIDFILE": os.path.join(tmp, "p.pid"),
               "TALLY_LISTEN": os.path.join(tmp, "s.sock")}
        p = _tallyd("-c", CONF, env=env, timeout=20)
        assert p.returncode != 0 and "layout_head.mustache" in p.stderr, (p.returncode, p.stdout, p.stderr)
        assert not os.path.exists(env["TALLY_PIDFILE"]) and not os.path.exists(env["TALLY_LISTEN"])


def test_a_live_pidfile_refuses_a_second_start():
    master = tallyd_pid()
    pidfile = os.environ["TALLY_PIDFILE"]
    with open(pidfile) as f:
        assert int(f.read()) == master
    p = _tallyd("-c", CONF, timeout=20)
    assert p.returncode == 1 and ("already running with pid %d" % master) in p.stderr, (p.returncode, p.stderr)
    # The running one is untouched: same pidfile, same socket, still serving.
    with open(pidfile) as f:
        assert int(f.read()) == master
    assert get("/api/v1/health").status == 200 and tallyd_pid() == master


# ---------------------------------------------------------------- reloads

def test_sighup_applies_a_changed_config_value():
    """workers = 4 -> 3 in the file, SIGHUP: three workers of a new
    generation; back to 4 on the next SIGHUP. The master stays."""
    master = tallyd_pid()
    before = set(worker_pids())
    assert len(before) == 4, before

    def pool(n, old):
        p = set(worker_pids())
        return p if len(p) == n and not (p & old) else None
    with changed_conf(workers=3):
        os.kill(master, signal.SIGHUP)
        three = wait_for(lambda: pool(3, before), timeout=15, what="3 workers of the new generation")
    os.kill(master, signal.SIGHUP)
    wait_for(lambda: pool(4, three), timeout=15, what="4 workers again")
    assert tallyd_pid() == master and get("/api/v1/health").status == 200


def test_sighup_replaces_the_runner_which_finishes_its_job():
    old = wait_for(_runner_pid, what="supervised runner")
    job_id = _enqueue_sleep(1500)
    wait_for(lambda: _taken_by_supervised_runner(job_id), what="job taken by the supervised runner")
    assert _job(job_id)[2].split(":")[-2] == str(old)
    os.kill(tallyd_pid(), signal.SIGHUP)
    new = wait_for(lambda: (lambda p: p[0] if len(p) == 1 else None)([x for x in _runner_pids() if x != old]),
                   timeout=10, what="a new runner")
    # Both at once: the new one is started at the reload, the old one keeps its job until it is done.
    assert _alive(old) and _job(job_id)[0] == "running", (_alive(old), _job(job_id), old, new)
    wait_for(lambda: not _alive(old), timeout=15, what="old runner gone after its job")
    assert _job(job_id)[:2] == ["succeeded", "1"], _job(job_id)
    runs = psql("SELECT runner, ok FROM job_runs WHERE job_id = %d" % job_id)
    assert len(runs) == 1 and runs[0][1] == "t" and runs[0][0].split(":")[-2] == str(old), runs
    # The new one works.
    j = post("/api/v1/admin/jobs", {"kind": "noop"}, token=admin_token()).json["id"]
    wait_for(lambda: _job(j)[0] == "succeeded", what="job done by the new runner")
    assert psql("SELECT runner FROM job_runs WHERE job_id = %d" % j)[0][0].split(":")[-2] == str(new)


# ---------------------------------------------------------------- a second host

def _admin_gens(sock, token):
    r = fcgi_request(sock, "GET", "/api/v1/admin/cache/stats", token=token)
    assert r.status == 200, r
    return {n["namespace"]: n["generation"] for n in r.json["namespaces"]}


def _mc(command):
    host, _, port = os.environ["TALLY_MEMCACHED_SERVERS"].partition(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(command)
        data = b""
        while not data.endswith(b"\r\n"):
            data += s.recv(4096)
        return data


def test_second_host_follows_a_flush_and_never_an_older_generation():
    """Host B: a second tallyd master on its own socket (no nginx: FastCGI
    straight to it) sharing PostgreSQL and memcached, with debug_routes = 0.
    A flush on host A reaches B through `tally:generations` (re-read every
    5 s); an older generation written there later is ignored."""
    admin = admin_token()
    run = os.path.join(VAR, "run")
    sock, pidfile = os.path.join(run, "b.sock"), os.path.join(run, "b.pid")
    blog = os.path.join(VAR, "log", "tallyd-b.log")
    env = dict(os.environ, TALLY_LISTEN=sock, TALLY_PIDFILE=pidfile, TALLY_WORKERS="2", TALLY_DEBUG_ROUTES="0")
    with open(blog, "ab") as logf:
        b = subprocess.Popen([TALLYD, "-c", CONF], env=env, stdout=logf, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: os.path.exists(sock) and fcgi_request(sock, "GET", "/api/v1/health").status == 200,
                 timeout=20, what="host B serving")
        # B is a production-like host: no debug route, no test-only job kind.
        assert fcgi_request(sock, "GET", "/api/v1/debug/sleep?ms=1", token=admin).status == 404
        r = fcgi_request(sock, "POST", "/api/v1/admin/jobs", body=b'{"kind": "sleep", "payload": {"ms": 1}}',
                         token=admin)
        assert r.status == 422 and r.json["error"]["field"] == "kind", r
        metrics_b, metrics_a = fcgi_request(sock, "GET", "/metrics").body, get("/metrics").body
        assert 'tally_jobs_total{kind="noop",status="succeeded"}' in metrics_b, metrics_b[:2000]
        assert 'kind="sleep"' not in metrics_b and 'kind="fail"' not in metrics_b
        assert 'tally_jobs_total{kind="sleep",status="succeeded"}' in metrics_a
        assert post("/api/v1/admin/jobs", {"kind": "noop", "priority": "low"}, token=admin).status == 201
        # A flush on A: B's workers learn it from memcached within the refresh period.
        g_b = _admin_gens(sock, admin)
        r = post("/api/v1/admin/cache/flush?namespace=profiles", token=admin)
        assert r.status == 200, r
        g_a = r.json["generation"]
        assert g_a >= g_b["profiles"] + 1, (g_a, g_b)
        wait_for(lambda: _admin_gens(sock, admin)["profiles"] == g_a, timeout=12, interval=0.25,
                 what="host B at A's profiles generation")
        # Older generations in memcached (profiles back at 1) beside a newer one for users: once
        # B has taken the newer users value it has read the key, and profiles did not go back.
        users = max(_admin_gens(sock, admin)["users"], get_gens_a(admin)["users"]) + 5
        value = ("profiles=1 users=%d" % users).encode()
        assert _mc(b"set tally:generations 0 0 %d\r\n%s\r\n" % (len(value), value)) == b"STORED\r\n"
        gens = wait_for(lambda: (lambda g: g if g["users"] == users else None)(_admin_gens(sock, admin)),
                        timeout=12, interval=0.25, what="host B at the newer users generation")
        assert gens["profiles"] == g_a, gens
        wait_for(lambda: get_gens_a(admin)["users"] == users, timeout=12, interval=0.25, what="host A too")
        assert get_gens_a(admin)["profiles"] == g_a
    finally:
        b.terminate()
        try:
            b.wait(timeout=20)
        except subprocess.TimeoutExpired:
            b.kill()
            b.wait()
    with open(blog, "rb") as f:
        assert_no_sanitizer_report(f.read().decode("utf-8", "replace"), "host B tallyd")
    assert b.returncode == 0, b.returncode
    assert not os.path.exists(pidfile) and not os.path.exists(sock)


def get_gens_a(token):
    r = get("/api/v1/admin/cache/stats", token=token)
    assert r.status == 200, r
    return {n["namespace"]: n["generation"] for n in r.json["namespaces"]}


# ---------------------------------------------------------------- stops (tallyd restarted after each)

def test_graceful_timeout_kills_what_is_left():
    """graceful_timeout_ms = 1000 (applied by SIGHUP), a request of 3 s in
    flight, SIGTERM: after the timeout the master SIGKILLs the worker and
    exits; the request gets nginx's JSON 503 instead of an answer."""
    admin = admin_token()
    with changed_conf(graceful_timeout_ms=1000):
        offset = _log_size()                 # before the SIGHUP: the reload may log at once
        os.kill(tallyd_pid(), signal.SIGHUP)
        wait_for(lambda: "reload: generation" in _log_since(offset), what="reload done")
    master = tallyd_pid()
    offset = _log_size()
    results = {}
    t = threading.Thread(target=lambda: results.setdefault("r", get("/api/v1/debug/sleep?ms=3000", token=admin,
                                                                    timeout=20)))
    t.start()
    try:
        busy = lambda: [w for w in get("/api/v1/admin/workers", token=admin).json["workers"] if w["state"] == "busy"]
        wait_for(busy, timeout=5, what="the sleep request in flight")
        os.kill(master, signal.SIGTERM)
        wait_for(lambda: not _alive(master), timeout=10, what="master exit")
        t.join(20)
        text = _log_since(offset)
        assert "stopping: waiting for in-flight requests (up to 1000 ms)" in text, text[-2000:]
        assert "graceful timeout reached: killing remaining workers" in text, text[-2000:]
        # nginx's 502 becomes its JSON 503 with Retry-After (docs/performance.md).
        assert results["r"].status == 503 and results["r"].json["error"]["code"] == "unavailable", results["r"]
        assert results["r"].headers.get("retry-after") == "1", results["r"].headers
    finally:
        t.join(20)
        _restart_tallyd()


def test_term_stops_the_runner_after_its_job():
    master = tallyd_pid()
    runner = wait_for(_runner_pid, what="supervised runner")
    job_id = _enqueue_sleep(1500)
    wait_for(lambda: _taken_by_supervised_runner(job_id), what="job taken by the supervised runner")
    os.kill(master, signal.SIGTERM)
    try:
        wait_for(lambda: not _alive(master), timeout=15, what="master exit")
        assert not _alive(runner)
        assert _job(job_id)[:2] == ["succeeded", "1"], _job(job_id)
        runs = psql("SELECT runner, ok FROM job_runs WHERE job_id = %d" % job_id)
        assert len(runs) == 1 and runs[0][1] == "t" and runs[0][0].split(":")[-2] == str(runner), runs
    finally:
        _restart_tallyd()


def test_runner_leaves_with_a_killed_master():
    master = tallyd_pid()
    runner = wait_for(_runner_pid, what="supervised runner")
    workers = worker_pids()
    os.kill(master, signal.SIGKILL)
    try:
        wait_for(lambda: not _alive(master), timeout=5, what="master gone")
        wait_for(lambda: not _alive(runner), timeout=10, what="runner gone with the master")
    finally:
        # Only the runner is documented to die with the master (PR_SET_PDEATHSIG); the FastCGI
        # workers outlive it today (reported): this test ends the ones it orphaned.
        for w in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(w, signal.SIGKILL)
        # The pidfile names a dead process: a new start takes over.
        _restart_tallyd()
    assert tallyd_pid() != master
