"""Shared by the two-host stages (30_hosts, 31_invalidation): starts a stack
with TALLY_HOSTS=2 under var/scale-<name> on the TALLY_SCALE_* ports,
talks HTTP to nginx's balanced port or to the port pinned to one host, and
finds which host served a request (its X-Request-Id in that host's log).
Not a stage itself (no NN_ prefix)."""
import atexit
import http.client
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import Response  # noqa: E402  (the integration tests' response type)
STACK = os.path.join(ROOT, "scripts", "stack")
HTTP = int(os.environ.get("TALLY_SCALE_HTTP_PORT", "19080"))
PG = int(os.environ.get("TALLY_SCALE_PG_PORT", "19432"))
MC = int(os.environ.get("TALLY_SCALE_MC_PORT", "19211"))

# Test settings appended to every host's tallyd.conf: the debug clock of the
# rate limiter, normal-class limits out of the way of the loads, a small
# heavy class (chat) that the rate-limit check drives.
HEAVY_PER_MINUTE, HEAVY_BURST = 60, 40
EXTRA_CONF = ["debug_routes = 1", "request_timeout_ms = 4000", "db_timeout_ms = 1500",
              "rate_limit_per_minute = 6000000", "rate_limit_burst = 100000",
              "rate_limit_heavy_per_minute = %d" % HEAVY_PER_MINUTE, "rate_limit_heavy_burst = %d" % HEAVY_BURST]


class Stack:
    def __init__(self, name, workers=2):
        self.var = os.path.join(ROOT, "var", "scale-" + name)
        self.env = dict(os.environ, TALLY_VAR=self.var, TALLY_HTTP_PORT=str(HTTP), TALLY_PG_PORT=str(PG),
                        TALLY_MC_PORT=str(MC), TALLY_HOSTS="2", TALLY_WORKERS=str(workers))
        self.env.pop("TALLY_HOST", None)
        self.env.pop("TALLY_BIN_DIR", None)       # the normal in-tree build
        self.started = False

    def run(self, *args, host=None, check=True, extra=None):
        env = dict(self.env)
        if host is not None:
            env["TALLY_HOST"] = str(host)
        env.update(extra or {})
        p = subprocess.run([STACK] + list(args), env=env, capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError("scripts/stack %s (host %s) failed: %s %s" % (args, host, p.stdout, p.stderr))
        return p.stdout.strip()

    def start(self):
        if os.path.exists(self.var):
            self.run("stop", "all", check=False)
            shutil.rmtree(self.var)
        os.makedirs(self.var)
        with open(os.path.join(self.var, "tallyd.extra.conf"), "w") as f:
            f.write("\n".join(EXTRA_CONF) + "\n")
        atexit.register(self.stop)
        self.started = True
        self.run("start", "pg")
        self.run("start", "memcached")
        self.load_env()
        ctl = os.path.join(ROOT, "app", "tallyctl")
        p = subprocess.run([ctl, "-c", self.conf, "migrate", "up"], env=self.env, capture_output=True, text=True,
                           timeout=300)
        if p.returncode != 0:
            raise AssertionError("migrate: %s %s" % (p.stdout, p.stderr))
        self.run("start", "nginx")
        self.run("start", "tallyd")

    def load_env(self):
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

    def stop(self):
        if self.started:
            self.started = False
            print(self.run("stop", "all", check=False))

    def pid(self, host):
        return int(self.run("pid", "tallyd", host=host))

    def workers(self, host):
        out = subprocess.run(["pgrep", "-x", "-P", str(self.pid(host)), "tallyd"], capture_output=True,
                             text=True).stdout
        return sorted(int(x) for x in out.split())

    def log(self, host):
        return self.vals["TALLY_HOST%d_LOG" % host]

    def ctl(self, *args, input=None):
        ctl = os.path.join(ROOT, "app", "tallyctl")
        p = subprocess.run([ctl, "-c", self.conf] + [str(a) for a in args], env=self.env, capture_output=True,
                           text=True, timeout=120, input=input)
        if p.returncode != 0:
            raise AssertionError("tallyctl %s: %s %s" % (args, p.stdout, p.stderr))
        return p.stdout.strip()

    def psql(self, sql):
        p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", self.pg, "-c", sql],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError("psql failed: %s\n%s" % (sql, p.stderr))
        return [line.split("\t") for line in p.stdout.splitlines() if line != ""]


def port_of(host):
    """None: nginx's balanced port; 1, 2: the port pinned to that host."""
    return HTTP if host is None else HTTP + host


def request(method, path, body=None, token=None, headers=None, host=None, timeout=30, form=None):
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


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("  ok  %s" % what)
    sys.stdout.flush()
