"""tallyctl and tallyd on the command line: the conventions of a Unix tool.
Usage errors (unknown option, missing value, surplus argument) exit 2 and do
nothing; --help and --version exit 0 on stdout; a failure is one line of
plain words on stderr (no JSON log line, no libpq text); an unreachable
PostgreSQL is named by host:port; tallyctl's validation says what the API
says for the same input; and the list commands show what is in the
database (read here with psql)."""
import os
import re
import socket
import tempfile
import subprocess

from harness import CONF, CTL, ROOT, admin_token, ctl, get, post, psql

TALLYD = os.path.join(ROOT, "app", "tallyd")

# Every command the table must offer, with the words its help starts with.
COMMANDS = [
    ("migrate", "up"), ("migrate", "down"), ("migrate", "status"),
    ("token", "create"), ("token", "revoke"), ("token", "list"),
    ("user", "create"), ("user", "count"), ("user", "list"),
    ("seed-demo",), ("admin", "create"), ("precompute",), ("cleanup",),
    ("worker",), ("jobs", "list"), ("jobs", "enqueue"), ("jobs", "retry"), ("jobs", "schedules"),
]


def _version():
    with open(os.path.join(ROOT, "configure.ac")) as f:
        return re.search(r"AC_INIT\(\[tally\], \[([^\]]+)\]", f.read()).group(1)


def _one_line(p):
    """The stderr of a failure: exactly one line, plain words."""
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert not lines[0].lstrip().startswith("{"), p.stderr
    return lines[0]


def _usage_error(p, prefix, message):
    """Exit 2, and the first stderr line is 'PREFIX: MESSAGE' (a usage line may follow)."""
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    first = p.stderr.splitlines()[0]
    assert first == "%s: %s" % (prefix, message), p.stderr
    assert p.stdout == "", p.stdout
    assert "{" not in p.stderr, p.stderr


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _ctl_raw(*args, timeout=30, env=None, input=None):
    """tallyctl without the harness's -c (to test the global options)."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([CTL] + [str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                          env=e, input=input)


def test_version_and_help():
    p = _ctl_raw("--version")
    assert (p.returncode, p.stdout, p.stderr) == (0, "tallyctl %s\n" % _version(), ""), p
    assert _ctl_raw("-V").stdout == p.stdout
    p = _ctl_raw("--help")
    assert p.returncode == 0 and p.stderr == "", p
    assert p.stdout.startswith("usage: tallyctl "), p.stdout
    listed = [line.strip() for line in p.stdout.splitlines() if line.startswith("  ")]
    for words in COMMANDS:
        name = " ".join(words)
        assert any(l == name or l.startswith(name + " ") for l in listed), (name, p.stdout)
    for words in COMMANDS:
        name = " ".join(words)
        p = ctl(*words, "--help", check=False)
        assert p.returncode == 0, (name, p.returncode, p.stderr)
        assert p.stderr == "", (name, p.stderr)
        assert p.stdout.startswith("usage: tallyctl %s" % name), (name, p.stdout)
        assert "-h, --help" in p.stdout, (name, p.stdout)
    # -h anywhere among the options, and a group's help lists its commands.
    assert ctl("token", "create", "--user", "1", "-h", check=False).stdout.startswith("usage: tallyctl token create")
    p = ctl("jobs", "--help", check=False)
    assert p.returncode == 0, p
    for sub in ("list", "enqueue", "retry", "schedules"):
        assert "jobs %s" % sub in p.stdout, p.stdout
    assert "token create" not in p.stdout, p.stdout


def test_no_or_unknown_command():
    p = ctl(check=False)
    assert p.returncode == 2 and p.stdout == "", p
    assert p.stderr.splitlines()[0] == "tallyctl: missing COMMAND", p.stderr
    p = ctl("frobnicate", check=False)
    assert (p.returncode, _one_line(p)) == (2, "tallyctl: unknown command 'frobnicate' (tallyctl --help lists them)")
    p = ctl("token", "mint", check=False)
    assert p.returncode == 2, p
    assert p.stderr.splitlines()[0] == "tallyctl token: unknown subcommand 'mint'", p.stderr
    p = ctl("token", check=False)
    assert p.returncode == 2 and p.stderr.splitlines()[0] == "tallyctl token: missing subcommand", p


def test_global_options():
    _usage_error(_ctl_raw("-c"), "tallyctl", "option -c needs a value")
    _usage_error(_ctl_raw("--config"), "tallyctl", "option --config needs a value")
    _usage_error(_ctl_raw("--bogus", "user", "count"), "tallyctl", "unknown option --bogus")
    if CONF:
        # --config=FILE and --config FILE are -c FILE.
        a = _ctl_raw("--config=" + CONF, "user", "count")
        b = _ctl_raw("--config", CONF, "user", "count")
        assert a.returncode == 0 and b.returncode == 0, (a, b)
        assert a.stdout == b.stdout == ctl("user", "count").stdout
    p = _ctl_raw("-c", "/nonexistent/tally.conf", "user", "count")
    assert p.returncode == 1 and "/nonexistent/tally.conf" in _one_line(p), p
    # A command's help needs no configuration.
    p = _ctl_raw("-c", "/nonexistent/tally.conf", "user", "count", "--help")
    assert p.returncode == 0 and p.stdout.startswith("usage: tallyctl user count"), p


def test_worker_bogus_option_does_not_start_a_runner():
    # Before: a live job runner that never returns (the timeout fails this test).
    p = _ctl_raw(*(["-c", CONF] if CONF else []), "worker", "--bogus", timeout=30)
    _usage_error(p, "tallyctl worker", "unknown option --bogus")
    _usage_error(ctl("worker", "--once", "now", check=False), "tallyctl worker", "unexpected argument 'now'")
    _usage_error(ctl("worker", "--name", check=False), "tallyctl worker", "option --name needs a value")
    _usage_error(ctl("worker", "--once=1", check=False), "tallyctl worker", "option --once takes no value")


def test_cleanup_extra_argument_deletes_nothing():
    uid = post("/api/v1/users", {"name": "Cleanup Extra"}, token=admin_token()).json["id"]
    psql("INSERT INTO pre_computed_metrics (user_id, metric_type, period, metric_value, expires_at)"
         " VALUES (%d, 'monthly_total', '2019-01', '{}', now() - interval '30 days')" % uid)
    count = "SELECT count(*) FROM pre_computed_metrics WHERE user_id = %d" % uid
    _usage_error(ctl("cleanup", "extra", check=False), "tallyctl cleanup", "unexpected argument 'extra'")
    _usage_error(ctl("cleanup", "--all", check=False), "tallyctl cleanup", "unknown option --all")
    assert psql(count) == [["1"]]
    assert ctl("cleanup").returncode == 0
    assert psql(count) == [["0"]]


def test_missing_values_and_unknown_options_write_nothing():
    tokens = "SELECT count(*) FROM api_tokens"
    before = psql(tokens)
    _usage_error(ctl("token", "create", "--admin", "--label", check=False), "tallyctl token create",
                 "option --label needs a value")
    _usage_error(ctl("token", "create", "--label", "--admin", check=False), "tallyctl token create",
                 "option --label needs a value")
    _usage_error(ctl("token", "create", "--admin", "--bogus", check=False), "tallyctl token create",
                 "unknown option --bogus")
    _usage_error(ctl("token", "create", "--admin", "x", check=False), "tallyctl token create",
                 "unexpected argument 'x'")
    _usage_error(ctl("token", "create", check=False), "tallyctl token create",
                 "give exactly one of --user ID or --admin")
    _usage_error(ctl("token", "create", "--user", "abc", check=False), "tallyctl token create",
                 "--user must be a positive integer")
    assert psql(tokens) == before
    users = "SELECT count(*) FROM users"
    before = psql(users)
    _usage_error(ctl("seed-demo", "--users", "0", check=False), "tallyctl seed-demo",
                 "--users must be an integer from 1 to 100000")
    _usage_error(ctl("seed-demo", "--months", "121", check=False), "tallyctl seed-demo",
                 "--months must be an integer from 1 to 120")
    _usage_error(ctl("seed-demo", "--end", "2026-02-30", check=False), "tallyctl seed-demo",
                 "--end must be a date YYYY-MM-DD")
    _usage_error(ctl("user", "create", "--name", check=False), "tallyctl user create", "option --name needs a value")
    assert psql(users) == before
    jobs = "SELECT count(*) FROM jobs"
    before = psql(jobs)
    _usage_error(ctl("jobs", "enqueue", "noop", "--max-attempts", "0", check=False), "tallyctl jobs enqueue",
                 "--max-attempts must be an integer from 1 to 100")
    _usage_error(ctl("jobs", "enqueue", check=False), "tallyctl jobs enqueue", "missing KIND")
    _usage_error(ctl("jobs", "enqueue", "noop", "sleep", check=False), "tallyctl jobs enqueue",
                 "unexpected argument 'sleep'")
    assert psql(jobs) == before
    _usage_error(ctl("token", "revoke", check=False), "tallyctl token revoke", "missing token ID")
    _usage_error(ctl("token", "revoke", "1", "2", check=False), "tallyctl token revoke", "unexpected argument '2'")
    _usage_error(ctl("jobs", "list", "--limit", "0", check=False), "tallyctl jobs list",
                 "--limit must be an integer from 1 to 10000")
    _usage_error(ctl("precompute", "--all", "--user", "1", check=False), "tallyctl precompute",
                 "give exactly one of --all or --user ID")
    _usage_error(ctl("precompute", "--all", "--month", "2026-13", check=False), "tallyctl precompute",
                 "--month must be a month YYYY-MM")
    _usage_error(ctl("migrate", "status", "extra", check=False), "tallyctl migrate status",
                 "unexpected argument 'extra'")
    _usage_error(ctl("admin", "create", "--username", check=False, input="longpassword\n"),
                 "tallyctl admin create", "option --username needs a value")


def test_datasets_and_learning_commands_follow_the_same_conventions():
    """The subcommands of `datasets` and `learning` parse like every other
    command: the bad option or value named, exit 2, nothing stored; --help
    on stdout with status 0."""
    csv_path = os.path.join(tempfile.mkdtemp(), "small.csv")
    with open(csv_path, "w") as f:
        f.write("a,b\n1,2\n")
    datasets = "SELECT count(*) FROM dataset_versions"
    before = psql(datasets)
    _usage_error(ctl("datasets", "upload", "--name", check=False), "tallyctl datasets upload",
                 "option --name needs a value")
    _usage_error(ctl("datasets", "upload", "--name", "x", "--bogus", csv_path, check=False),
                 "tallyctl datasets upload", "unknown option --bogus")
    _usage_error(ctl("datasets", "upload", csv_path, check=False), "tallyctl datasets upload",
                 "--name NAME is required")
    _usage_error(ctl("datasets", "upload", "--name", "x", check=False), "tallyctl datasets upload", "missing FILE")
    _usage_error(ctl("datasets", "upload", "--name", "x", csv_path, csv_path, check=False),
                 "tallyctl datasets upload", "unexpected argument '%s'" % csv_path)
    _usage_error(ctl("datasets", "upload", "--name", "x", "--delimiter", "|", csv_path, check=False),
                 "tallyctl datasets upload", "--delimiter must be ',', ';' or tab, got '|'")
    _usage_error(ctl("datasets", "import", csv_path, check=False), "tallyctl datasets import",
                 "--user ID is required")
    _usage_error(ctl("datasets", "import", "--user", "abc", csv_path, check=False), "tallyctl datasets import",
                 "--user must be a positive integer")
    _usage_error(ctl("datasets", "retention", "--keep", "0", check=False), "tallyctl datasets retention",
                 "--keep must be an integer from 1 to 100000")
    _usage_error(ctl("datasets", "frobnicate", check=False), "tallyctl datasets",
                 "unknown subcommand 'frobnicate' (upload, import, retention)")
    assert psql(datasets) == before
    p = ctl("datasets", "upload", "--name", "x", "/nonexistent/none.csv", check=False)
    assert p.returncode == 1 and "No such file or directory" in p.stderr, p
    _usage_error(ctl("learning", "aggregate", "--days", check=False), "tallyctl learning aggregate",
                 "option --days needs a value")
    _usage_error(ctl("learning", "aggregate", "--full", "extra", check=False), "tallyctl learning aggregate",
                 "unexpected argument 'extra'")
    _usage_error(ctl("learning", "seed-demo", "--seed", "-1", check=False), "tallyctl learning seed-demo",
                 "--seed must be an integer of at least 0")
    _usage_error(ctl("learning", check=False), "tallyctl learning", "which subcommand? (aggregate, seed-demo)")
    for args in (["datasets", "--help"], ["datasets", "upload", "--help"], ["datasets", "import", "-h"],
                 ["learning", "--help"], ["learning", "aggregate", "--help"], ["learning", "seed-demo", "-h"]):
        p = ctl(*args, check=False)
        assert p.returncode == 0 and p.stdout.startswith("usage: tallyctl %s" % args[0]) and p.stderr == "", (args, p)


def test_unknown_user_is_one_plain_line():
    missing = int(psql("SELECT coalesce(max(id), 0) + 1000 FROM users")[0][0])
    api = get("/api/v1/users/%d" % missing, token=admin_token())
    assert api.status == 404, api
    want = api.json["error"]["message"]
    assert want == "user %d not found" % missing, want
    before = psql("SELECT count(*) FROM api_tokens")
    p = ctl("token", "create", "--user", missing, check=False)
    assert p.returncode == 1 and p.stdout == "", p
    assert _one_line(p) == "tallyctl token create: " + want
    assert "foreign key" not in p.stderr and "violates" not in p.stderr
    assert psql("SELECT count(*) FROM api_tokens") == before
    p = ctl("precompute", "--user", missing, check=False)
    assert (p.returncode, _one_line(p)) == (1, "tallyctl precompute: " + want)
    p = ctl("jobs", "retry", 999999999, check=False)
    assert (p.returncode, _one_line(p)) == (1, "tallyctl jobs retry: job 999999999 not found")


def test_same_validation_messages_as_the_api():
    cases = [
        ({"name": "Ann", "language": "de"}, ["--name", "Ann", "--language", "de"]),
        ({"name": "Ann", "currency": "euros"}, ["--name", "Ann", "--currency", "euros"]),
        ({"name": "Ann", "currency": "eur"}, ["--name", "Ann", "--currency", "eur"]),
        ({"name": ""}, ["--name", ""]),
        ({"language": "fr"}, ["--language", "fr"]),
        ({"name": "x" * 201}, ["--name", "x" * 201]),   # LIMIT_NAME_BYTES is 200
        ({"name": "a\u0001b"}, ["--name", "a\u0001b"]),
    ]
    users = "SELECT count(*) FROM users"
    for body, args in cases:
        before = psql(users)
        r = post("/api/v1/users", body, token=admin_token())
        assert r.status == 422, (body, r)
        p = ctl("user", "create", *args, check=False)
        assert p.returncode == 2 and p.stdout == "", (args, p)
        assert _one_line(p) == "tallyctl user create: " + r.json["error"]["message"], (body, p.stderr)
        assert psql(users) == before
    # And the accepted input is stored as the API stores it.
    p = ctl("user", "create", "--name", "Zoé Martin", "--currency", "CHF", "--language", "en")
    uid = int(p.stdout)
    assert psql("SELECT name, currency, language FROM users WHERE id = %d" % uid) == [["Zoé Martin", "CHF", "en"]]
    _usage_error(ctl("jobs", "list", "--status", "done", check=False), "tallyctl jobs list",
                 get("/api/v1/admin/jobs?status=done", token=admin_token()).json["error"]["message"])
    _usage_error(ctl("jobs", "enqueue", "noop", "--priority", "urgent", check=False), "tallyctl jobs enqueue",
                 post("/api/v1/admin/jobs", {"kind": "noop", "priority": "urgent"},
                      token=admin_token()).json["error"]["message"])


def test_unreachable_postgresql_is_named():
    port = _free_port()
    env = {"TALLY_PG_CONNINFO": "host=127.0.0.1 port=%d dbname=tally connect_timeout=5" % port}
    for args in (["user", "count"], ["token", "create", "--admin"], ["user", "list"], ["jobs", "schedules"],
                 ["token", "list"], ["cleanup"], ["precompute", "--user", "1"], ["jobs", "list"]):
        p = ctl(*args, env=env, check=False)
        assert p.returncode == 1 and p.stdout == "", (args, p)
        line = _one_line(p)
        prefix = "tallyctl %s: cannot reach PostgreSQL at 127.0.0.1:%d: " % (" ".join(a for a in args[:2]
                                                                                   if not a.startswith("-")), port)
        assert line.startswith(prefix), (args, line)
        assert "refused" in line.lower(), line
    # A conninfo without host or port: libpq's defaults are named, never an empty host.
    default_port = os.environ.get("PGPORT") or "5432"
    p = ctl("user", "count", env={"TALLY_PG_CONNINFO": "dbname=tally_nowhere host=/nonexistent-dir"}, check=False)
    assert p.returncode == 1
    assert _one_line(p).startswith("tallyctl user count: cannot reach PostgreSQL at /nonexistent-dir:%s: "
                                   % default_port), p.stderr


def test_token_list():
    uid = post("/api/v1/users", {"name": "Token Lister"}, token=admin_token()).json["id"]
    ctl("token", "create", "--user", uid, "--label", "laptop\tof ann")
    ctl("token", "create", "--user", uid)
    rows = psql("SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                " FROM api_tokens WHERE user_id = %d ORDER BY id" % uid)
    assert len(rows) == 2, rows
    out = ctl("token", "list", "--user", uid).stdout.splitlines()
    assert out[0].split("\t") == ["id", "user", "label", "created_at", "revoked_at"], out
    # A tab in a label would break the columns: it is shown as a space. No label: "-".
    want = [[rows[0][0], str(uid), "laptop of ann", rows[0][1], "-"], [rows[1][0], str(uid), "-", rows[1][1], "-"]]
    assert [l.split("\t") for l in out[1:]] == want, (out, want)
    # Revoked: gone from the default list, shown with --all.
    ctl("token", "revoke", rows[0][0])
    out = ctl("token", "list", "--user", uid).stdout.splitlines()
    assert [l.split("\t")[0] for l in out[1:]] == [rows[1][0]], out
    out = ctl("token", "list", "--user", uid, "--all").stdout.splitlines()
    assert [l.split("\t")[0] for l in out[1:]] == [rows[0][0], rows[1][0]], out
    assert out[1].split("\t")[4] != "-" and out[2].split("\t")[4] == "-", out
    # Admin tokens say "admin" in the user column.
    admin_ids = {r[0] for r in psql("SELECT id FROM api_tokens WHERE is_admin AND revoked_at IS NULL")}
    listed = [l.split("\t") for l in ctl("token", "list").stdout.splitlines()[1:]]
    assert {l[0] for l in listed if l[1] == "admin"} == admin_ids


def test_user_list():
    first = post("/api/v1/users", {"name": "List A", "currency": "USD", "language": "en"}, token=admin_token()).json
    second = post("/api/v1/users", {"name": "List B"}, token=admin_token()).json
    r = post("/api/v1/users/%d/transactions" % second["id"],
             [{"external_id": "l1", "date": "2026-03-01", "amount": "-1.50", "category": "x", "merchant": "m"},
              {"external_id": "l2", "date": "2026-03-02", "amount": "2.00", "category": "x", "merchant": "m"}],
             token=admin_token())
    assert r.status == 201 and r.json["inserted"] == 2, r
    out = ctl("user", "list", "--after", first["id"] - 1, "--limit", 2).stdout.splitlines()
    assert out[0].split("\t") == ["id", "name", "currency", "language", "created_at", "transactions"], out
    assert out[1].split("\t") == [str(first["id"]), "List A", "USD", "en", first["created_at"], "0"], out
    assert out[2].split("\t") == [str(second["id"]), "List B", "EUR", "fr", second["created_at"], "2"], out
    assert len(out) == 3
    total = int(ctl("user", "count").stdout)
    assert total == int(psql("SELECT count(*) FROM users")[0][0])
    assert len(ctl("user", "list", "--limit", 100000).stdout.splitlines()) == min(total, 100000) + 1


def test_jobs_schedules():
    off, yearly = "cli-off-%d" % os.getpid(), "cli-yearly-%d" % os.getpid()
    psql("INSERT INTO job_schedules (name, kind, cron, payload, priority, max_attempts, enabled)"
         " VALUES ('%s', 'noop', '*/5 1 * * 1-5', '{\"a\": 1}', 0, 3, false),"
         " ('%s', 'noop', '0 0 1 1 *', '{}', 2, 5, true)" % (off, yearly))
    try:
        out = ctl("jobs", "schedules").stdout.splitlines()
        assert out[0].split("\t") == ["name", "kind", "cron", "enabled", "priority", "max_attempts", "payload",
                                      "next_run", "last_slot", "last_status"], out
        rows = {l.split("\t")[0]: l.split("\t") for l in out[1:]}
        assert set(rows) == {r[0] for r in psql("SELECT name FROM job_schedules")}, rows
        # The latest slot of kind noop, read here (other tests may have fired noop schedules).
        last = psql("SELECT coalesce(to_char(max(schedule_slot) AT TIME ZONE 'UTC',"
                    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-') FROM jobs WHERE kind = 'noop'")[0][0]
        assert rows[off][:9] == [off, "noop", "*/5 1 * * 1-5", "no", "high", "3", '{"a": 1}', "-", last], rows[off]
        # A disabled schedule has no next run; a yearly one runs next on January 1st, 00:00 UTC.
        year = int(psql("SELECT extract(year FROM now() AT TIME ZONE 'UTC')::int")[0][0])
        assert rows[yearly][:8] == [yearly, "noop", "0 0 1 1 *", "yes", "low", "5", "{}",
                                    "%d-01-01T00:00:00Z" % (year + 1)], rows[yearly]
    finally:
        psql("DELETE FROM job_schedules WHERE name IN ('%s', '%s')" % (off, yearly))


def test_seed_demo_loads_what_it_says_and_is_deterministic():
    def run():
        before = int(psql("SELECT coalesce(max(id), 0) FROM users")[0][0])
        p = ctl("seed-demo", "--users", 2, "--months", 2, "--seed", 7, "--end", "2026-01-31")
        m = re.match(r"seeded 2 users, (\d+) transactions in ", p.stdout)
        assert m, p.stdout
        rows = psql("SELECT u.id, u.name, count(t.id), min(t.date), max(t.date) FROM users u"
                    " LEFT JOIN transactions t ON t.user_id = u.id WHERE u.id > %d GROUP BY u.id ORDER BY u.id"
                    % before)
        assert len(rows) == 2, rows
        assert sum(int(r[2]) for r in rows) == int(m.group(1)), (rows, p.stdout)
        for r in rows:   # the window: the 2 months ending 2026-01-31
            assert int(r[2]) > 0 and r[3] >= "2025-12-01" and r[4] <= "2026-01-31", r
        return [r[1:] for r in rows]
    assert run() == run()   # same seed, same users and transactions


def test_tallyd_command_line():
    def run(*args):
        return subprocess.run([TALLYD] + list(args), capture_output=True, text=True, timeout=30)
    _usage_error(run("-x"), "tallyd", "unknown option -x")
    _usage_error(run("-c"), "tallyd", "option -c needs a value")
    _usage_error(run("-t", "extra"), "tallyd", "unexpected argument 'extra'")
    p = run("--help")
    assert p.returncode == 0 and p.stderr == "", p
    assert p.stdout.startswith("usage: tallyd "), p.stdout
    for flag in ("-c, --config CONFIG", "-t, --test", "-r, --routes", "-v, --version", "-h, --help", "HUP"):
        assert flag in p.stdout, (flag, p.stdout)
    p = run("-v")
    assert (p.returncode, p.stdout) == (0, "tallyd %s\n" % _version()), p
    if CONF:
        p = run("-c", CONF, "-t")
        assert p.returncode == 0 and p.stdout.startswith("configuration ok"), p
        assert run("--config=" + CONF, "--test").stdout == p.stdout
