"""Migrations: all ups, all downs, all ups again on a scratch database;
every down really reverses its up (schema dumps compared)."""
import re
import subprocess

from harness import PG, ctl, psql


# WITH (FORCE): behind PgBouncer (tests/scale/20_pgbouncer) the pool keeps
# server connections to the scratch database open after tallyctl is done.
def _scratch_conninfo():
    psql("DROP DATABASE IF EXISTS tally_migtest WITH (FORCE)")
    psql("CREATE DATABASE tally_migtest")
    return re.sub(r"dbname=\S+", "dbname=tally_migtest", PG)


def _schema(conninfo):
    out = subprocess.run(["pg_dump", "--schema-only", "--no-owner", "--no-privileges", "-d", conninfo],
                         capture_output=True, text=True, check=True).stdout
    return "\n".join(l for l in out.splitlines() if l and not l.startswith("--") and not l.startswith("SET ")
                     and "pg_catalog.set_config" not in l
                     and not l.startswith("\\restrict") and not l.startswith("\\unrestrict"))


def _tables(conninfo):
    return sorted(r[0] for r in psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", conninfo))


def test_up_down_up():
    ci = _scratch_conninfo()
    env = {"TALLY_PG_CONNINFO": ci}
    before = _tables(ci)
    assert before == []
    up = ctl("migrate", "up", env=env).stdout
    assert "applied" in up
    first = _schema(ci)
    tables = _tables(ci)
    assert "transactions" in tables and "users" in tables and "api_tokens" in tables
    status = ctl("migrate", "status", env=env).stdout
    assert "pending" not in status.split("\n")[0] and "0 pending" in status
    # Idempotent.
    assert "0 migration(s) applied" in ctl("migrate", "up", env=env).stdout
    ctl("migrate", "down", "--all", env=env)
    assert _tables(ci) == ["schema_migrations"]
    assert psql("SELECT count(*) FROM schema_migrations", ci) == [["0"]]
    ctl("migrate", "up", env=env)
    assert _schema(ci) == first
    # One step down and up again.
    ctl("migrate", "down", "1", env=env)
    assert "1 pending" in ctl("migrate", "status", env=env).stdout
    ctl("migrate", "up", env=env)
    assert _schema(ci) == first
    psql("DROP DATABASE tally_migtest WITH (FORCE)")


def test_failed_migration_rolls_back(tmp_dir=None):
    import os
    import shutil
    import tempfile
    ci = _scratch_conninfo()
    d = tempfile.mkdtemp()
    try:
        src = os.path.join(os.path.dirname(__file__), "..", "..", "sql")
        for f in os.listdir(src):
            shutil.copy(os.path.join(src, f), d)
        with open(os.path.join(d, "900_broken.up.sql"), "w") as f:
            f.write("CREATE TABLE broken_half (id int);\nSELECT * FROM no_such_table;\n")
        with open(os.path.join(d, "900_broken.down.sql"), "w") as f:
            f.write("DROP TABLE broken_half;\n")
        p = ctl("migrate", "up", env={"TALLY_PG_CONNINFO": ci, "TALLY_SQL_DIR": d}, check=False)
        assert p.returncode == 1, p.stdout
        assert "FAILED" in p.stdout
        assert "broken_half" not in _tables(ci)
        assert psql("SELECT count(*) FROM schema_migrations WHERE version = 900", ci) == [["0"]]
    finally:
        shutil.rmtree(d)
        psql("DROP DATABASE tally_migtest WITH (FORCE)")


def test_two_runners_at_once_apply_each_migration_once():
    """The lock is taken per migration transaction (pg_advisory_xact_lock,
    so it holds through PgBouncer in transaction mode) and schema_migrations
    is re-read under it: two `migrate up` started together both succeed and
    every migration is applied exactly once between them."""
    import os
    ci = _scratch_conninfo()
    try:
        src = os.path.join(os.path.dirname(__file__), "..", "..", "sql")
        files = sorted(f for f in os.listdir(src) if f.endswith(".up.sql"))
        env = dict(os.environ, TALLY_PG_CONNINFO=ci)
        cmd = [os.path.join(os.environ.get("TALLY_BIN_DIR") or os.path.join(src, "..", "app"), "tallyctl")]
        conf = os.environ.get("TALLY_CONF")
        cmd += (["-c", conf] if conf else []) + ["migrate", "up"]
        procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        outs = [p.communicate(timeout=120) for p in procs]
        for p, (out, err) in zip(procs, outs):
            assert p.returncode == 0, (out, err)
        applied = sum(out.count("... ok (") for out, _ in outs)
        assert applied == len(files), (applied, len(files), outs)
        assert psql("SELECT count(*) FROM schema_migrations", ci) == [[str(len(files))]]
        assert "0 pending" in ctl("migrate", "status", env={"TALLY_PG_CONNINFO": ci}).stdout
    finally:
        psql("DROP DATABASE tally_migtest WITH (FORCE)")


def test_unreachable_postgresql_is_named_for_each_migrate_command():
    from test_12_cli import _free_port
    env = {"TALLY_PG_CONNINFO": "host=127.0.0.1 port=%d dbname=tally connect_timeout=5" % _free_port()}
    for args in (["migrate", "status"], ["migrate", "up"], ["migrate", "down"]):
        p = ctl(*args, env=env, check=False)
        assert p.returncode == 1, (args, p)
        out = p.stdout + p.stderr
        assert "cannot reach PostgreSQL" in out and "refused" in out.lower(), (args, out)
        assert "schema_migrations" not in out, (args, out)
