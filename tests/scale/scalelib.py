"""The plumbing every scale stage (tests/scale/NN_*) shares: a Stack under
var/scale-<name> on the TALLY_SCALE_* ports (scripts/stack with the stage's
extra environment: TALLY_MC_NODES, TALLY_PGBOUNCER, TALLY_STANDBY,
TALLY_HOSTS, ...), started from a wiped var with the stage's extra
tallyd.conf lines, migrated, and always stopped on exit; psql, tallyctl, one
HTTP request helper answering the integration harness's Response (to nginx's
balanced port or to the port pinned to one host), say and check; for the
two-host stages, which host served a request (its X-Request-Id in that
host's log).
Not a stage itself (no NN_ prefix, not executable)."""
import atexit
import http.client
import importlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402  (the integration tests' response type; Stack.harness() points it at the stack)
from harness import Response  # noqa: E402
STACK = os.path.join(ROOT, "scripts", "stack")
BIN = os.path.join(ROOT, "app")                 # the normal in-tree build
CTL = os.path.join(BIN, "tallyctl")
HTTP = int(os.environ.get("TALLY_SCALE_HTTP_PORT", "19080"))
PG = int(os.environ.get("TALLY_SCALE_PG_PORT", "19432"))
MC = int(os.environ.get("TALLY_SCALE_MC_PORT", "19211"))
# The prefix of say(): the stage's file name (a stage may set its own).
NAME = os.path.basename(sys.argv[0])

# Test settings of the two-host stages (30_hosts, 31_invalidation): the debug
# clock of the rate limiter, normal-class limits out of the way of the loads,
# a small heavy class (chat) that the rate-limit check drives.
HEAVY_PER_MINUTE, HEAVY_BURST = 60, 40
HOSTS_CONF = ["debug_routes = 1", "request_timeout_ms = 4000", "db_timeout_ms = 1500",
              "rate_limit_per_minute = 6000000", "rate_limit_burst = 100000",
              "rate_limit_heavy_per_minute = %d" % HEAVY_PER_MINUTE, "rate_limit_heavy_burst = %d" % HEAVY_BURST]


def say(msg):
    print("%s: %s" % (NAME, msg), flush=True)


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("  ok  %s" % what)
    sys.stdout.flush()


def psql(conninfo, sql):
    """One SQL statement on conninfo; rows as lists of strings."""
    p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", conninfo, "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("psql on %s failed: %s\n%s" % (conninfo, sql, p.stderr))
    return [line.split("\t") for line in p.stdout.splitlines() if line != ""]


def conninfo_of(port):
    """A direct session on the PostgreSQL listening on port (primary or standby)."""
    return "host=127.0.0.1 port=%d dbname=tally user=tally connect_timeout=2" % port


class Stack:
    """name: var/scale-<name>. env: the stage's extra scripts/stack
    environment. conf: lines appended to tallyd.conf (tallyd.extra.conf).
    services: started before the migration (nginx and tallyd after it).
    echo: scripts/stack's output shown (else only returned)."""

    def __init__(self, name, env=None, conf=(), workers=None, services=("pg", "memcached"), echo=False):
        self.var = os.path.join(ROOT, "var", "scale-" + name)
        self.env = dict(os.environ, TALLY_VAR=self.var, TALLY_HTTP_PORT=str(HTTP), TALLY_PG_PORT=str(PG),
                        TALLY_MC_PORT=str(MC), TALLY_BIN_DIR=BIN)
        # the caller's stack (scripts/test's) must not leak into this one
        for k in ("TALLY_HOST", "TALLY_CONF", "TALLY_MEMCACHED_SERVERS", "TALLY_PG_CONNINFO", "TALLY_URL"):
            self.env.pop(k, None)
        if workers is not None:
            self.env["TALLY_WORKERS"] = str(workers)
        self.env.update({k: str(v) for k, v in (env or {}).items()})
        self.conf_lines = list(conf)
        self.services = list(services)
        self.echo = echo
        self.started = False
        self.atexit = False
        self.vals = {}

    def run(self, *args, host=None, check=True, quiet=False):
        """scripts/stack ARGS (host: TALLY_HOST); its stdout, stripped."""
        env = dict(self.env)
        if host is not None:
            env["TALLY_HOST"] = str(host)
        p = subprocess.run([STACK] + list(args), env=env, capture_output=True, text=True, timeout=120)
        if self.echo:
            if not quiet:
                sys.stdout.write(p.stdout)
            sys.stderr.write(p.stderr)
        if check and p.returncode != 0:
            raise AssertionError("scripts/stack %s (host %s) failed: %s %s" % (" ".join(args), host, p.stdout,
                                                                                p.stderr))
        return p.stdout.strip()

    def start(self, serve=True):
        """Stops and wipes what a previous run left, writes the extra conf,
        starts the services, migrates; then nginx and tallyd unless serve is
        False (the stage calls serve() itself, e.g. after seeding)."""
        if os.path.exists(self.var):
            self.run("stop", "all", check=False)
            shutil.rmtree(self.var)
        os.makedirs(self.var)
        with open(os.path.join(self.var, "tallyd.extra.conf"), "w") as f:
            f.write("".join(line + "\n" for line in self.conf_lines))
        if not self.atexit:
            atexit.register(self.stop)
            self.atexit = True
        self.started = True
        for service in self.services:
            self.run("start", service)
        self.load_env()
        p = subprocess.run([CTL, "-c", self.conf, "migrate", "up"], env=self.env, capture_output=True, text=True,
                           timeout=300)
        if self.echo:
            sys.stdout.write(p.stdout[-400:])
        if p.returncode != 0:
            raise AssertionError("migrate up failed: %s %s" % (p.stdout, p.stderr))
        if serve:
            self.serve()

    def serve(self):
        self.run("start", "nginx")
        self.run("start", "tallyd")

    def load_env(self):
        """The stack's $TALLY_VAR/env (export K='V' lines), into self.env."""
        vals = {}
        with open(os.path.join(self.var, "env")) as f:
            for line in f:
                if line.startswith("export "):
                    k, _, v = line[7:].strip().partition("=")
                    vals[k] = v.strip("'")
        self.vals = vals
        self.conf = vals["TALLY_CONF"]
        self.pg = vals["TALLY_PG_CONNINFO"]
        self.env.update(vals)
        return vals

    def harness(self):
        """The integration harness, reloaded on this stack's environment
        (it reads TALLY_URL, TALLY_CONF, ... when imported)."""
        os.environ.update(self.vals)
        os.environ["TALLY_BIN_DIR"] = BIN
        return importlib.reload(harness)

    def stop(self):
        if self.started:
            self.started = False
            out = self.run("stop", "all", check=False)
            if not self.echo:
                print(out)

    def pid(self, component="tallyd", host=None):
        return int(self.run("pid", component, host=host, quiet=True))

    def workers(self, host):
        out = subprocess.run(["pgrep", "-x", "-P", str(self.pid(host=host)), "tallyd"], capture_output=True,
                             text=True).stdout
        return sorted(int(x) for x in out.split())

    def log(self, host):
        return self.vals["TALLY_HOST%d_LOG" % host]

    def ctl(self, *args, input=None):
        p = subprocess.run([CTL, "-c", self.conf] + [str(a) for a in args], env=self.env, capture_output=True,
                           text=True, timeout=300, input=input)
        if p.returncode != 0:
            raise AssertionError("tallyctl %s: %s %s" % (args, p.stdout, p.stderr))
        return p.stdout.strip()

    def psql(self, sql, conninfo=None):
        return psql(conninfo or self.pg, sql)


def port_of(host):
    """None: nginx's balanced port; 1, 2: the port pinned to that host."""
    return HTTP if host is None else HTTP + host


def request(method, path, body=None, token=None, headers=None, host=None, timeout=30, form=None):
    """One request on a fresh connection; a harness Response (status,
    headers, body, json; raw_headers: the headers as sent, repeated ones
    kept)."""
    hdrs = dict(headers or {})
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    if token:
        hdrs["Authorization"] = "Bearer " + token
    conn = http.client.HTTPConnection("127.0.0.1", port_of(host), timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        out = Response(r.status, r.getheaders(), r.read().decode("utf-8", "replace"))
        out.raw_headers = r.getheaders()
        return out
    finally:
        conn.close()


def new_user(st, admin, name):
    """A user made by the admin token; (id, a token of the user's own)."""
    r = request("POST", "/api/v1/users", {"name": name, "currency": "EUR", "language": "fr"}, token=admin)
    assert r.status == 201, r
    uid = r.json["id"]
    return uid, st.ctl("token", "create", "--user", uid)


def served_by(stack, request_ids, timeout=10.0):
    """{request id: host} for ids found in the hosts' logs (a log line is
    written after the response, so this polls until all are found)."""
    want = set(request_ids)
    found = {}
    deadline = time.time() + timeout
    while True:
        for host in (1, 2):
            try:
                with open(stack.log(host), "rb") as f:
                    text = f.read().decode("utf-8", "replace")
            except FileNotFoundError:
                continue
            for line in text.splitlines():
                if '"type":"request"' not in line:
                    continue
                try:
                    rid = json.loads(line).get("id")
                except ValueError:
                    continue
                if rid in want:
                    if rid in found and found[rid] != host:
                        raise AssertionError("request %s in both hosts' logs" % rid)
                    found[rid] = host
        if len(found) == len(want) or time.time() > deadline:
            return found
        time.sleep(0.1)


_rid = [0]


def rid(prefix):
    _rid[0] += 1
    return "%s-%d-%d" % (prefix, os.getpid(), _rid[0])
