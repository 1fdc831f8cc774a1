"""Job queue: exactly-once with parallel runner processes, priorities,
retries with growing backoff, dead jobs, a runner killed mid-job, one
schedule slot fired once, the tallyd-supervised runner (and its restart),
the admin API and /metrics. Runners are real `tallyctl worker` processes
against the real PostgreSQL; every execution leaves a job_runs row, so a
double execution would show."""
import contextlib
import os
import shutil
import signal
import subprocess
import time

from harness import (CONF, CTL, admin_token, assert_error, assert_no_sanitizer_report, ctl, get, new_user, post,
                     psql, request, tallyd_pid, wait_for)
from test_15_metrics import scrape


def _supervised_runner_pid():
    out = subprocess.run(["pgrep", "-x", "-P", str(tallyd_pid()), "tallyd-jobs"], capture_output=True,
                         text=True).stdout.split()
    return int(out[0]) if out else None


@contextlib.contextmanager
def paused_supervised_runner():
    """SIGSTOPs tallyd's own runner (idle: the queue is empty when this is
    entered) so only the test's runners take jobs."""
    pid = wait_for(_supervised_runner_pid, what="supervised job runner")
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def _reset():
    psql("DELETE FROM job_schedules")
    psql("DELETE FROM jobs")


def _runner(name, *flags, **env):
    e = dict(os.environ)
    e.update({"TALLY_JOB_POLL_MS": "200", "TALLY_LOG_LEVEL": "warn"})
    e.update({k: str(v) for k, v in env.items()})
    cmd = [CTL] + (["-c", CONF] if CONF else []) + ["worker", "--name", name] + list(flags)
    return subprocess.Popen(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_exit(procs, timeout=60):
    deadline = time.time() + timeout
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise AssertionError("runner %s did not finish" % p.args)
        err = p.stderr.read()
        assert_no_sanitizer_report(err, " ".join(p.args))
        assert p.returncode == 0, (p.args, p.returncode, err)


def _job(job_id):
    r = psql("SELECT status, attempts, coalesce(locked_by, ''), coalesce(last_error, '') FROM jobs WHERE id = %d"
             % job_id)
    return r[0] if r else None


def test_nightly_precompute_all_users_heartbeats_through_a_long_run():
    """The nightly schedule (sql/005) enqueues precompute_all_users at 03:00
    UTC; the job computes every active user's metrics and renews its lock
    after each user: with job_lock_timeout_s = 1 and a run several times
    longer, a second runner never takes it again."""
    sched = psql("SELECT kind, cron, enabled FROM job_schedules WHERE name = 'nightly_precompute_all_users'")
    assert sched == [["precompute_all_users", "0 3 * * *", "t"]], sched
    # The run must outlast the 1 s lock several times or the test proves
    # nothing; how many users that takes depends on the machine: grow the
    # set until it does (bounded).
    for n in (1200, 4000, 12000):
        if _nightly_precompute_run(n) >= 2.0:
            return
    raise AssertionError("precompute_all_users never ran 2 s, even over 12 000 users")


def _nightly_precompute_run(n):
    """One precompute_all_users over n fresh users under a 1 s lock timeout
    with a second runner polling: checks it ran once, on one runner, with
    every metric right; returns how long it ran (s)."""
    _reset()
    ids = [int(r[0]) for r in psql("INSERT INTO users (name) SELECT 't60-pc-' || g FROM generate_series(1, %d) g"
                                   " RETURNING id" % n)]
    try:
        psql("INSERT INTO transactions (user_id, date, amount_cents, currency, category, category_key)"
             " SELECT id, '2026-07-10', -(1000 + id %% 977), 'EUR', 'Courses', 'courses' FROM users"
             " WHERE id BETWEEN %d AND %d" % (min(ids), max(ids)))
        with paused_supervised_runner():
            job_id = int(ctl("jobs", "enqueue", "precompute_all_users", "--payload", '{"period": "2026-07"}')
                         .stdout.strip())
            long_runner = _runner("t60-pc", "--once", TALLY_JOB_LOCK_TIMEOUT_S=1)
            wait_for(lambda: _job(job_id)[0] == "running", what="job taken")
            other = _runner("t60-pc-other", TALLY_JOB_LOCK_TIMEOUT_S=1)
            _wait_exit([long_runner], timeout=300)
            other.terminate()
            other.wait(timeout=10)
        assert _job(job_id)[:2] == ["succeeded", "1"], _job(job_id)
        runs = psql("SELECT runner, ok, extract(epoch FROM finished_at - started_at) FROM job_runs WHERE job_id = %d"
                    % job_id)
        assert [r[:2] for r in runs] == [["t60-pc", "t"]], runs
        rows = psql("SELECT user_id, metric_type, period, metric_value->>'spending' FROM pre_computed_metrics"
                    " WHERE user_id BETWEEN %d AND %d" % (min(ids), max(ids)))
        assert len(rows) == 8 * n, len(rows)
        for uid, mtype, period, spending in rows:
            if mtype == "monthly_total" and period == "2026-07":
                want = 1000 + int(uid) % 977
                assert round(float(spending) * 100) == want, (uid, spending, want)
            elif mtype == "monthly_total":
                assert period == "2026-06" and float(spending) == 0, (uid, period, spending)
        return float(runs[0][2])
    finally:
        psql("DELETE FROM users WHERE id BETWEEN %d AND %d AND name LIKE 't60-pc-%%'" % (min(ids), max(ids)))


def test_each_job_runs_exactly_once_with_three_runners():
    _reset()
    with paused_supervised_runner():
        psql("INSERT INTO jobs (kind, payload) SELECT 'sleep', '{\"ms\": 5}' FROM generate_series(1, 200)")
        procs = [_runner("t60-once-%d" % i, "--drain") for i in range(3)]
        _wait_exit(procs)
    assert psql("SELECT status, count(*), min(attempts), max(attempts) FROM jobs GROUP BY status") == \
        [["succeeded", "200", "1", "1"]]
    assert psql("SELECT count(*), count(DISTINCT job_id) FROM job_runs") == [["200", "200"]]
    runners = psql("SELECT runner, count(*) FROM job_runs GROUP BY runner ORDER BY runner")
    assert [r[0] for r in runners] == ["t60-once-0", "t60-once-1", "t60-once-2"], runners


def test_priorities_high_first_then_run_at():
    _reset()
    with paused_supervised_runner():
        # Inserted low first so that insertion order alone would be wrong.
        for prio in (2, 1, 0):
            psql("INSERT INTO jobs (kind, priority, run_at) SELECT 'noop', %d, now() - interval '1 minute' + g * "
                 "interval '1 ms' FROM generate_series(1, 10) g" % prio)
        _wait_exit([_runner("t60-prio", "--drain")])
    order = psql("SELECT j.priority, j.id FROM job_runs r JOIN jobs j ON j.id = r.job_id ORDER BY r.id")
    prios = [int(p) for p, _ in order]
    assert prios == sorted(prios) and len(prios) == 30, prios
    for p in (0, 1, 2):
        ids = [int(i) for pr, i in order if int(pr) == p]
        assert ids == sorted(ids), ids        # same priority: oldest run_at first


def test_failing_twice_then_succeeding_ends_with_three_attempts():
    _reset()
    with paused_supervised_runner():
        r = post("/api/v1/admin/jobs", {"kind": "fail", "payload": {"times": 2}, "max_attempts": 5},
                 token=admin_token())
        assert r.status == 201, r
        _wait_exit([_runner("t60-retry", "--drain", TALLY_JOB_BACKOFF_BASE_MS=100)])
    assert _job(r.json["id"])[:2] == ["succeeded", "3"]
    runs = psql("SELECT attempt, ok FROM job_runs WHERE job_id = %d ORDER BY attempt" % r.json["id"])
    assert runs == [["1", "f"], ["2", "f"], ["3", "t"]], runs


def test_always_failing_job_dies_after_max_attempts_with_growing_delays():
    _reset()
    base = 150
    with paused_supervised_runner():
        r = post("/api/v1/admin/jobs", {"kind": "fail", "payload": {"times": 1000}, "max_attempts": 5},
                 token=admin_token())
        assert r.status == 201, r
        _wait_exit([_runner("t60-dead", "--drain", TALLY_JOB_BACKOFF_BASE_MS=base)])
    job_id = r.json["id"]
    status, attempts, _, last_error = _job(job_id)
    assert (status, attempts) == ("dead", "5") and "fail: attempt 5" in last_error
    rows = psql("SELECT attempt, extract(epoch FROM retry_at - finished_at) * 1000,"
                " extract(epoch FROM started_at) * 1000, extract(epoch FROM finished_at) * 1000"
                " FROM job_runs WHERE job_id = %d ORDER BY attempt" % job_id)
    assert [int(x[0]) for x in rows] == [1, 2, 3, 4, 5]
    delays = [float(x[1]) for x in rows[:4]]
    assert rows[4][1] == "", "no retry after the last attempt"
    for n, d in enumerate(delays):
        want = base * 2 ** n
        assert want - 1 <= d <= want * 1.25 + 5, (n, d, delays)      # backoff + at most 25 % jitter
    assert delays == sorted(delays) and len(set(delays)) == 4, delays
    # The runner honoured them: each attempt started no earlier than its retry_at.
    for n in range(4):
        gap = float(rows[n + 1][2]) - float(rows[n][3])
        assert gap >= delays[n] - 1, (n, gap, delays)
    # A dead job can be retried over the API; a queued one cannot.
    admin = admin_token()
    with paused_supervised_runner():
        again = post("/api/v1/admin/jobs/%d/retry" % job_id, token=admin)
        assert again.status == 200, again
        assert again.json["status"] == "queued" and again.json["attempts"] == 0
        assert_error(post("/api/v1/admin/jobs/%d/retry" % job_id, token=admin), 409, "conflict")
        psql("DELETE FROM jobs WHERE id = %d" % job_id)


def test_job_of_a_killed_runner_is_requeued_and_finished_by_another():
    _reset()
    with paused_supervised_runner():
        job_id = int(ctl("jobs", "enqueue", "sleep", "--payload", '{"ms": 1500}').stdout.strip())
        victim = _runner("t60-victim", TALLY_JOB_LOCK_TIMEOUT_S=2)
        wait_for(lambda: _job(job_id)[0] == "running", what="job taken")
        assert _job(job_id)[2] == "t60-victim"
        time.sleep(0.3)
        victim.kill()                                             # SIGKILL mid-job
        victim.wait()
        assert _job(job_id)[0] == "running"
        _wait_exit([_runner("t60-rescuer", "--drain", TALLY_JOB_LOCK_TIMEOUT_S=2)], timeout=30)
    status, attempts, _, _ = _job(job_id)
    assert (status, attempts) == ("succeeded", "2")
    # The rescuer had to wait for the lock to expire: the lost attempt is closed (its job_runs row
    # written by the rescuer) no earlier than job_lock_timeout_s (2 s) after it started (heartbeats
    # only push that later), and the second attempt starts after that. Database clock throughout.
    lost, redo = psql("SELECT extract(epoch FROM finished_at - started_at),"
                      " extract(epoch FROM (SELECT started_at FROM job_runs WHERE job_id = %d AND attempt = 2)"
                      " - finished_at) FROM job_runs WHERE job_id = %d AND attempt = 1" % (job_id, job_id))[0]
    assert float(lost) >= 2.0 - 0.01, lost
    assert float(redo) >= 0, redo
    runs = psql("SELECT attempt, runner, ok, coalesce(error, '') FROM job_runs WHERE job_id = %d ORDER BY attempt"
                % job_id)
    assert [r[:3] for r in runs] == [["1", "t60-victim", "f"], ["2", "t60-rescuer", "t"]], runs
    assert "lock expired" in runs[0][3]


def test_heartbeat_keeps_the_lock_of_a_long_job():
    """A job running longer than job_lock_timeout_s keeps its lock while its
    runner lives (heartbeats), so a second runner does not take it again."""
    _reset()
    with paused_supervised_runner():
        job_id = int(ctl("jobs", "enqueue", "sleep", "--payload", '{"ms": 3500}').stdout.strip())
        long_runner = _runner("t60-long", "--once", TALLY_JOB_LOCK_TIMEOUT_S=1)
        wait_for(lambda: _job(job_id)[0] == "running", what="job taken")
        other = _runner("t60-other", TALLY_JOB_LOCK_TIMEOUT_S=1)
        _wait_exit([long_runner], timeout=30)
        other.terminate()
        other.wait(timeout=10)
    status, attempts, _, _ = _job(job_id)
    assert (status, attempts) == ("succeeded", "1"), _job(job_id)
    runs = psql("SELECT attempt, runner, ok FROM job_runs WHERE job_id = %d ORDER BY attempt" % job_id)
    assert runs == [["1", "t60-long", "t"]], runs


def test_sigterm_stops_a_runner_after_the_job_in_hand():
    _reset()
    with paused_supervised_runner():
        job_id = int(ctl("jobs", "enqueue", "sleep", "--payload", '{"ms": 1000}').stdout.strip())
        p = _runner("t60-term")
        wait_for(lambda: _job(job_id)[0] == "running", what="job taken")
        p.send_signal(signal.SIGTERM)
        _wait_exit([p], timeout=10)
    assert _job(job_id)[:2] == ["succeeded", "1"]


def test_schedule_slot_fires_exactly_once_with_three_runners():
    _reset()
    slot = psql("SELECT date_trunc('minute', now() - interval '2 minutes'),"
                " extract(minute FROM now() - interval '2 minutes'), extract(hour FROM now() - interval '2 minutes')")
    slot_ts, minute, hour = slot[0][0], int(float(slot[0][1])), int(float(slot[0][2]))
    psql("INSERT INTO job_schedules (name, kind, cron, created_at) VALUES ('t60-daily', 'noop', '%d %d * * *',"
         " now() - interval '1 hour')" % (minute, hour))
    psql("INSERT INTO job_schedules (name, kind, cron) VALUES ('t60-bad', 'noop', '61 * * * *')")   # ignored
    with paused_supervised_runner():
        procs = [_runner("t60-sched-%d" % i) for i in range(3)]
        wait_for(lambda: psql("SELECT status FROM jobs WHERE schedule_slot IS NOT NULL") == [["succeeded"]],
                 what="scheduled job done")
        time.sleep(2.5)                    # several maintenance ticks of every runner
        for p in procs:
            p.send_signal(signal.SIGTERM)
        _wait_exit(procs, timeout=10)
    rows = psql("SELECT kind, schedule_slot = '%s'::timestamptz FROM jobs" % slot_ts)
    assert rows == [["noop", "t"]], rows
    assert psql("SELECT count(*) FROM job_runs") == [["1"]]


def test_supervised_runner_runs_api_jobs_counts_them_and_is_restarted():
    _reset()
    admin = admin_token()
    key = 'tally_jobs_total{kind="noop",status="succeeded"}'
    before = scrape()[0]
    ids = [post("/api/v1/admin/jobs", {"kind": "noop"}, token=admin).json["id"] for _ in range(5)]
    wait_for(lambda: all(_job(i)[0] == "succeeded" for i in ids), what="jobs done by tallyd's runner")
    assert all(r[0].endswith(":tallyd") for r in psql("SELECT runner FROM job_runs"))
    after = scrape()[0]
    assert after[key] - before.get(key, 0) == 5, (before.get(key), after[key])
    # Queue depth by priority queue.
    with paused_supervised_runner():
        for prio, n in (("low", 3), ("high", 2)):
            for _ in range(n):
                assert post("/api/v1/admin/jobs", {"kind": "noop", "priority": prio}, token=admin).status == 201
        s = scrape()[0]
        assert (s['tally_jobs_queue_depth{queue="low"}'], s['tally_jobs_queue_depth{queue="high"}'],
                s['tally_jobs_queue_depth{queue="normal"}']) == (3, 2, 0)
    wait_for(lambda: scrape()[0]['tally_jobs_queue_depth{queue="low"}'] == 0, what="queue drained")
    # Killed: the master starts a new one, which keeps working.
    old = _supervised_runner_pid()
    restarts = scrape()[0]["tally_jobs_runner_restarts_total"]
    os.kill(old, signal.SIGKILL)
    new = wait_for(lambda: (lambda p: p if p and p != old else None)(_supervised_runner_pid()),
                   what="runner restarted")
    assert scrape()[0]["tally_jobs_runner_restarts_total"] == restarts + 1
    j = post("/api/v1/admin/jobs", {"kind": "noop"}, token=admin).json["id"]
    wait_for(lambda: _job(j)[0] == "succeeded", what="job done by the new runner")
    assert psql("SELECT runner FROM job_runs WHERE job_id = %d" % j)[0][0].split(":")[-2] == str(new)


def test_unknown_kind_and_non_object_payload_are_dead_at_once():
    """docs/jobs.md: unknown kinds and payloads that are not a JSON object
    are dead at once (one attempt, however many are allowed); the
    supervised runner counts an unknown kind under kind="other"."""
    _reset()
    before = scrape()[0]
    with paused_supervised_runner():
        ids = [int(psql("INSERT INTO jobs (kind, payload, max_attempts) VALUES ('%s', '%s', 5) RETURNING id"
                        % (kind, payload))[0][0])
               for kind, payload in (("t60_no_such_kind", "{}"), ("noop", "[1]"), ("noop", '"text"'))]
    wait_for(lambda: all(_job(i)[0] == "dead" for i in ids), what="dead jobs")
    for i, want in zip(ids, ('unknown job kind "t60_no_such_kind"', "payload is not a JSON object",
                             "payload is not a JSON object")):
        status, attempts, _, last_error = _job(i)
        assert (status, attempts) == ("dead", "1") and want in last_error, (i, _job(i))
        runs = psql("SELECT attempt, ok, coalesce(retry_at::text, '') FROM job_runs WHERE job_id = %d" % i)
        assert runs == [["1", "f", ""]], runs
    after = scrape()[0]
    for key, n in (('tally_jobs_total{kind="other",status="dead"}', 1),
                   ('tally_jobs_total{kind="noop",status="dead"}', 2),
                   ('tally_jobs_total{kind="other",status="failed"}', 0)):
        assert after[key] - before.get(key, 0) == n, (key, before.get(key), after[key])


def test_test_only_kinds_exist_only_with_debug_routes():
    """sleep and fail are test-only kinds (jobs_debug_module, debug_only):
    with debug_routes = 0 tallyctl refuses them like any unknown kind and a
    runner finds such a row dead at once; noop and the domains' kinds stay."""
    _reset()
    nodebug = {"TALLY_DEBUG_ROUTES": "0"}
    with paused_supervised_runner():
        for kind in ("sleep", "fail"):
            p = ctl("jobs", "enqueue", kind, "--payload", "{}", check=False, env=nodebug)
            assert p.returncode == 2 and "kind must be a known job kind" in p.stderr, (kind, p.returncode, p.stderr)
            assert ctl("jobs", "enqueue", kind, "--payload", '{"ms": 1}' if kind == "sleep" else "{}").returncode == 0
        for kind in ("noop", "cleanup_expired_metrics"):
            assert ctl("jobs", "enqueue", kind, check=False, env=nodebug).returncode == 0, kind
        _wait_exit([_runner("t60-nodebug", "--drain", TALLY_DEBUG_ROUTES=0)])
    rows = psql("SELECT kind, status, attempts, coalesce(last_error, '') FROM jobs ORDER BY id")
    assert [r[:3] for r in rows] == [["sleep", "dead", "1"], ["fail", "dead", "1"], ["noop", "succeeded", "1"],
                                     ["cleanup_expired_metrics", "succeeded", "1"]], rows
    assert 'unknown job kind "sleep"' in rows[0][3] and 'unknown job kind "fail"' in rows[1][3], rows


def test_retention_deletes_old_succeeded_jobs_and_runs_only():
    """docs/jobs.md: runners delete succeeded jobs and job_runs rows older
    than job_retention_days (7); dead jobs stay, whatever their age."""
    _reset()
    days = {"old_ok": 8, "new_ok": 6, "old_dead": 30}
    ids = {}
    for name, age in days.items():
        status = "dead" if "dead" in name else "succeeded"
        ids[name] = int(psql("INSERT INTO jobs (kind, status, attempts, finished_at) VALUES ('noop', '%s', 1,"
                             " now() - interval '%d days') RETURNING id" % (status, age))[0][0])
        psql("INSERT INTO job_runs (job_id, attempt, runner, ok, started_at, finished_at) VALUES (%d, 1, 't60-ret',"
             " %s, now() - interval '%d days', now() - interval '%d days')"
             % (ids[name], "true" if status == "succeeded" else "false", age, age))
    with paused_supervised_runner():
        _wait_exit([_runner("t60-retention", "--drain")])
    left = {int(r[0]) for r in psql("SELECT id FROM jobs")}
    assert left == {ids["new_ok"], ids["old_dead"]}, (left, ids)
    runs = {int(r[0]) for r in psql("SELECT job_id FROM job_runs WHERE runner = 't60-ret'")}
    assert runs == {ids["new_ok"]}, (runs, ids)       # the dead job's 30-day-old run row goes too


def test_runner_survives_a_postgresql_restart_and_listens_again():
    """A runner polling only every 3 s picks up a NOTIFYed job at once
    because it LISTENs; after PostgreSQL restarts it reconnects, LISTENs
    again (a new backend), and keeps picking jobs up without waiting for the
    poll. Pickup delays are measured on the database clock."""
    from harness import stack

    def pickup_delay(job_id):
        r = psql("SELECT extract(epoch FROM r.started_at - j.created_at) FROM job_runs r JOIN jobs j ON j.id = r.job_id"
                 " WHERE j.id = %d" % job_id)
        return float(r[0][0])

    def run_one():
        job_id = int(ctl("jobs", "enqueue", "noop").stdout.strip())
        wait_for(lambda: _job(job_id)[0] == "succeeded", timeout=30, what="job %d done" % job_id)
        return job_id

    _reset()
    with paused_supervised_runner():
        p = _runner("t60-listen", TALLY_JOB_POLL_MS=3000)
        try:
            run_one()                                   # the runner is up and idle on its LISTEN
            assert pickup_delay(run_one()) < 1.0
            stack("stop", "pg")
            stack("start", "pg")
            run_one()                                   # reconnected (after its back-off)
            delays = [pickup_delay(run_one()) for _ in range(3)]
            assert all(d < 1.0 for d in delays), delays  # woken by NOTIFY, not by the 3 s poll
            assert p.poll() is None, "the runner must survive the outage"
        finally:
            p.send_signal(signal.SIGTERM)
            _wait_exit([p], timeout=15)


def test_listen_on_a_session_of_its_own_or_poll_only():
    """pg_listen_conninfo (for PgBouncer in transaction mode, where a LISTEN
    hears nothing): set, the runner LISTENs on that session while its job
    work goes through pg_conninfo, and a NOTIFYed job is picked up well
    before the 3 s poll; "off", no LISTEN at all and jobs are still picked
    up by polling. Pickup delays on the database clock."""
    direct = os.environ.get("TALLY_PG_DIRECT_CONNINFO") or os.environ.get("TALLY_PG_CONNINFO", "")

    def pickup_delay(job_id):
        wait_for(lambda: _job(job_id)[0] == "succeeded", timeout=30, what="job %d done" % job_id)
        r = psql("SELECT extract(epoch FROM r.started_at - j.created_at) FROM job_runs r JOIN jobs j ON j.id = r.job_id"
                 " WHERE j.id = %d" % job_id)
        return float(r[0][0])

    def listeners():
        return int(psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %tally_jobs%'")[0][0])

    _reset()
    with paused_supervised_runner():
        base = listeners()                              # tallyd's own (paused) runner LISTENs too
        p = _runner("t60-own-listen", TALLY_JOB_POLL_MS=3000, TALLY_PG_LISTEN_CONNINFO=direct)
        try:
            wait_for(lambda: listeners() == base + 1, what="the runner's LISTEN session")
            pickup_delay(int(ctl("jobs", "enqueue", "noop").stdout.strip()))   # idle on its LISTEN after this
            delays = [pickup_delay(int(ctl("jobs", "enqueue", "noop").stdout.strip())) for _ in range(3)]
            assert all(d < 1.0 for d in delays), delays  # woken by NOTIFY, not by the 3 s poll
        finally:
            p.send_signal(signal.SIGTERM)
            _wait_exit([p], timeout=15)
        wait_for(lambda: listeners() == base, what="the LISTEN session closed")
        p = _runner("t60-poll-only", TALLY_JOB_POLL_MS=300, TALLY_PG_LISTEN_CONNINFO="off", TALLY_LOG_LEVEL="info")
        try:
            delays = [pickup_delay(int(ctl("jobs", "enqueue", "noop").stdout.strip())) for _ in range(3)]
            assert all(d < 2.0 for d in delays), delays
            assert listeners() == base, "pg_listen_conninfo = off must not LISTEN"
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=15)
        err = p.stderr.read()
        assert_no_sanitizer_report(err, "tallyctl worker (poll only)")
        assert "wake-up: polling" in err, err[-500:]


def test_admin_api_shapes_auth_and_errors():
    _reset()
    admin = admin_token()
    _, user_token = new_user("Jobs")
    assert_error(get("/api/v1/admin/jobs"), 401, "unauthenticated")
    assert_error(get("/api/v1/admin/jobs", token=user_token), 403, "forbidden")
    assert_error(post("/api/v1/admin/jobs", {"kind": "noop"}, token=user_token), 403, "forbidden")
    assert_error(post("/api/v1/admin/jobs/1/retry", token=user_token), 403, "forbidden")
    with paused_supervised_runner():
        r = post("/api/v1/admin/jobs", {"kind": "sleep", "payload": {"ms": 1}, "priority": "low"}, token=admin)
        assert r.status == 201, r
        for k in ("id", "kind", "status", "priority", "attempts", "run_at", "last_error", "payload"):
            assert k in r.json, k
        assert (r.json["kind"], r.json["status"], r.json["priority"], r.json["attempts"], r.json["payload"],
                r.json["last_error"]) == ("sleep", "queued", "low", 0, {"ms": 1}, None)
        assert r.json["run_at"].endswith("Z")
        ids = [r.json["id"]] + [post("/api/v1/admin/jobs", {"kind": "noop"}, token=admin).json["id"]
                                for _ in range(2)]
        page = get("/api/v1/admin/jobs?limit=2", token=admin)
        assert page.status == 200 and [i["id"] for i in page.json["items"]] == [ids[2], ids[1]]
        assert page.json["next_cursor"]
        page2 = get("/api/v1/admin/jobs?limit=2&cursor=%s" % page.json["next_cursor"], token=admin)
        assert [i["id"] for i in page2.json["items"]] == [ids[0]] and page2.json["next_cursor"] is None
        only = get("/api/v1/admin/jobs?kind=sleep&status=queued", token=admin).json["items"]
        assert [i["id"] for i in only] == [ids[0]]
        assert get("/api/v1/admin/jobs?status=dead", token=admin).json["items"] == []
        assert_error(get("/api/v1/admin/jobs?status=bogus", token=admin), 400, "invalid_argument", "status")
        assert_error(get("/api/v1/admin/jobs?limit=0", token=admin), 400, "invalid_argument", "limit")
        assert_error(get("/api/v1/admin/jobs?cursor=x", token=admin), 400, "invalid_argument", "cursor")
        assert_error(post("/api/v1/admin/jobs", {"kind": "nope"}, token=admin), 422, "invalid_argument", "kind")
        assert_error(post("/api/v1/admin/jobs", {"kind": "noop", "priority": "urgent"}, token=admin), 422,
                     "invalid_argument", "priority")
        assert_error(post("/api/v1/admin/jobs", {"kind": "noop", "payload": [1]}, token=admin), 422,
                     "invalid_argument", "payload")
        assert_error(post("/api/v1/admin/jobs", {"kind": "noop", "max_attempts": 0}, token=admin), 422,
                     "invalid_argument", "max_attempts")
        assert_error(request("POST", "/api/v1/admin/jobs", body="kind=noop", token=admin,
                             content_type="text/plain"), 415, "unsupported_media_type")
        assert_error(post("/api/v1/admin/jobs", "{", token=admin, content_type="application/json"), 400,
                     "invalid_argument")
        assert_error(post("/api/v1/admin/jobs/999999999/retry", token=admin), 404, "not_found")
        assert_error(post("/api/v1/admin/jobs/%d/retry" % ids[0], token=admin), 409, "conflict")   # queued
    wait_for(lambda: all(_job(i)[0] == "succeeded" for i in ids), what="jobs done")
    assert_error(post("/api/v1/admin/jobs/%d/retry" % ids[0], token=admin), 409, "conflict")       # succeeded


def test_tallyctl_jobs_commands():
    _reset()
    with paused_supervised_runner():
        job_id = int(ctl("jobs", "enqueue", "noop", "--payload", '{"x": 1}', "--priority", "high").stdout)
        listed = ctl("jobs", "list", "--kind", "noop").stdout
        assert '"id":%d' % job_id in listed and '"priority":"high"' in listed and '"payload":{"x":1}' in listed
        assert ctl("jobs", "enqueue", "nope", check=False).returncode == 2
        assert ctl("jobs", "enqueue", "noop", "--payload", "[1]", check=False).returncode == 2
        retry = ctl("jobs", "retry", job_id, check=False)
        assert retry.returncode == 1 and "not dead or failed" in retry.stderr
        assert ctl("jobs", "retry", 999999999, check=False).returncode == 1
        assert ctl("worker", "--once").returncode == 0
    assert _job(job_id)[0] == "succeeded"


def test_metrics_pass_promtool():
    r = get("/metrics")
    assert "# TYPE tally_jobs_total counter" in r.body and "# TYPE tally_jobs_queue_depth gauge" in r.body
    # scripts/install-deps installs it (Debian package prometheus): missing is a failure, not a pass.
    assert shutil.which("promtool") is not None, "promtool not found: run scripts/install-deps"
    p = subprocess.run(["promtool", "check", "metrics"], input=r.body, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
