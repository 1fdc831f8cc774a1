"""Integration test harness: talks HTTP to nginx (which passes to tallyd),
runs tallyctl and psql, and controls the stack through scripts/stack.
Everything is real: no mocks. Configuration comes from the environment that
scripts/test exports (the stack's env file)."""
import http.client
import json
import os
import subprocess
import time
import urllib.parse

import openapi_check

ROOT = os.environ.get("TALLY_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
URL = os.environ.get("TALLY_URL", "http://127.0.0.1:18080")
CONF = os.environ.get("TALLY_CONF", "")
PG = os.environ.get("TALLY_PG_CONNINFO", "")
VAR = os.environ.get("TALLY_VAR", os.path.join(ROOT, "var", "test"))
# scripts/test exports TALLY_BIN_DIR (the sanitizer build): tallyctl comes from there.
BIN_DIR = os.environ.get("TALLY_BIN_DIR") or os.path.join(ROOT, "app")
CTL = os.path.join(BIN_DIR, "tallyctl")
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

_parsed = urllib.parse.urlparse(URL)
HOST, PORT = _parsed.hostname, _parsed.port or 80


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


def request(method, path, body=None, token=None, headers=None, content_type=None, timeout=30):
    """One HTTP request on a fresh connection. body: dict/list (sent as
    JSON), str or bytes (sent as is). The response is checked against
    docs/openapi.yaml (openapi_check): a mismatch raises AssertionError."""
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", content_type or "application/json")
        else:
            data = body.encode() if isinstance(body, str) else body
            if content_type:
                hdrs["Content-Type"] = content_type
    if token:
        hdrs["Authorization"] = "Bearer " + token
    conn = http.client.HTTPConnection(HOST, PORT, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        resp = Response(r.status, r.getheaders(), r.read().decode("utf-8", "replace"))
    finally:
        conn.close()
    return check_response(method, path, resp)


def check_response(method, path, resp):
    """Raises AssertionError when resp does not match docs/openapi.yaml for
    (method, path, status); returns resp. request() calls it on every
    response; tests with their own HTTP client call it too."""
    problems = openapi_check.check(method, path, resp.status, resp.headers.get("content-type", ""), resp.body)
    if problems:
        SCHEMA_FAILURES.extend(problems)
        raise AssertionError("response does not match docs/openapi.yaml (tests/integration/openapi_check.py):\n  "
                             + "\n  ".join(problems[:20]) + "\n  body: " + resp.body[:300])
    return resp


# Every mismatch seen (also those of requests made in threads, whose
# exception a test may not see); run.py fails the run when it is not empty.
SCHEMA_FAILURES = []


def fcgi_record(rtype, content):
    """One FastCGI record of request id 1 (type 1 BEGIN, 4 PARAMS, 5 STDIN)."""
    import struct
    return struct.pack("!BBHHBx", 1, rtype, 1, len(content), 0) + content


def fcgi_nv(k, v):
    """One FastCGI name-value pair (PARAMS content)."""
    import struct
    k, v = k.encode(), v.encode()
    ln = lambda n: struct.pack("!B", n) if n < 128 else struct.pack("!I", n | 0x80000000)
    return ln(len(k)) + ln(len(v)) + k + v


def fcgi_request(socket_path, method, path, body=b"", headers=None, token=None, timeout=30):
    """One request straight to a tallyd FastCGI socket (no nginx): for a
    second tallyd master the stack's nginx does not know. Returns a Response."""
    import socket
    import struct
    path_only, _, query = path.partition("?")
    params = {"REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path_only, "REQUEST_URI": path,
              "DOCUMENT_URI": path_only, "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1",
              "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "localhost", "SERVER_PORT": "80",
              "CONTENT_LENGTH": str(len(body))}
    if body:
        params["CONTENT_TYPE"] = "application/json"
    if token:
        params["HTTP_AUTHORIZATION"] = "Bearer " + token
    for k, v in (headers or {}).items():
        params["HTTP_" + k.upper().replace("-", "_")] = v

    record, nv = fcgi_record, fcgi_nv
    pairs = b"".join(nv(k, v) for k, v in params.items())
    out = record(1, struct.pack("!HB5x", 1, 0)) + record(4, pairs) + record(4, b"")
    for i in range(0, len(body), 65535):
        out += record(5, body[i:i + 65535])
    out += record(5, b"")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(socket_path)
        sock.sendall(out)
        data, stdout = b"", b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        while len(data) >= 8:
            _, rtype, _, clen, plen = struct.unpack("!BBHHB", data[:7])
            content, data = data[8:8 + clen], data[8 + clen + plen:]
            if rtype == 6:
                stdout += content
            elif rtype == 3:
                break
    finally:
        sock.close()
    head, _, rest = stdout.partition(b"\r\n\r\n")
    hdrs, status = [], 200
    for line in head.decode("latin-1").split("\r\n"):
        k, _, v = line.partition(":")
        if k.lower() == "status":
            status = int(v.strip().split()[0])
        elif k:
            hdrs.append((k, v.strip()))
    return Response(status, hdrs, rest.decode("utf-8", "replace"))


def get(path, **kw):
    return request("GET", path, **kw)


def post(path, body=None, **kw):
    return request("POST", path, body=body, **kw)


def ctl(*args, check=True, env=None, input=None):
    cmd = [CTL] + (["-c", CONF] if CONF else []) + [str(a) for a in args]
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(cmd, capture_output=True, text=True, env=e, input=input, timeout=300)
    assert_no_sanitizer_report(p.stderr, "tallyctl %s" % (args,))
    if check and p.returncode != 0:
        raise AssertionError("tallyctl %s failed (%d): %s %s" % (args, p.returncode, p.stdout, p.stderr))
    return p


def assert_no_sanitizer_report(stderr, what):
    """A sanitizer build reports on stderr and may still exit 0: any report
    fails the test that ran the command."""
    for mark in SANITIZER_MARKS:
        if mark in (stderr or ""):
            raise AssertionError("sanitizer report from %s:\n%s" % (what, stderr[-4000:]))


def psql(sql, conninfo=None):
    """Runs one SQL statement; returns rows as lists of strings. Tests only
    pass integers and literals they generated themselves."""
    p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                        conninfo or PG, "-c", sql], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("psql failed: %s\n%s" % (sql, p.stderr))
    return [line.split("\t") for line in p.stdout.splitlines() if line != ""]


def stack(*args, check=True):
    p = subprocess.run([os.path.join(ROOT, "scripts", "stack")] + list(args), capture_output=True,
                       text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError("scripts/stack %s failed: %s %s" % (args, p.stdout, p.stderr))
    return p.stdout.strip()


def wait_for(pred, timeout=15.0, interval=0.1, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


LOG = os.path.join(VAR, "log", "tallyd.log")


def log_size():
    return os.path.getsize(LOG) if os.path.exists(LOG) else 0


def log_since(offset):
    """tallyd.log from byte offset on (offset from log_size())."""
    with open(LOG, "rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", "replace")


def log_request(request_id, timeout=5.0):
    """The request-log line (a dict) tallyd wrote for X-Request-Id
    request_id; it is written after the response, so this polls."""
    needle = '"id":"%s"' % request_id

    def find():
        if not os.path.exists(LOG):
            return None
        with open(LOG, "rb") as f:
            for line in f.read().decode("utf-8", "replace").splitlines():
                if needle in line and '"type":"request"' in line:
                    return json.loads(line)
        return None
    return wait_for(find, timeout=timeout, interval=0.05, what="request log line %s" % request_id)


_rid = [0]


def unique_request_id(prefix="t"):
    _rid[0] += 1
    return "%s-%d-%d-%d" % (prefix, os.getpid(), int(time.time() * 1000), _rid[0])


def conf_value(key, default=None):
    """A key of the running tallyd.conf (the last assignment wins), as a string."""
    value = default
    if CONF and os.path.exists(CONF):
        with open(CONF) as f:
            for line in f:
                k, sep, v = line.partition("=")
                if sep and k.strip() == key:
                    value = v.strip()
    return value


_admin = None


def admin_token():
    global _admin
    if _admin is None:
        _admin = ctl("token", "create", "--admin", "--label", "integration").stdout.strip()
    return _admin


def new_user(name="Test User", currency="EUR", language="fr"):
    """Creates a user through the API; returns (id, user token)."""
    r = post("/api/v1/users", {"name": name, "currency": currency, "language": language}, token=admin_token())
    assert r.status == 201, r
    uid = r.json["id"]
    token = ctl("token", "create", "--user", uid).stdout.strip()
    return uid, token


def assert_error(r, status, code, field=None):
    assert r.status == status, "want %d, got %r" % (status, r)
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    assert r.json and "error" in r.json, r
    assert r.json["error"]["code"] == code, r
    assert r.json["error"].get("message"), r
    if field is not None:
        assert r.json["error"].get("field") == field, r


def tallyd_pid():
    return int(stack("pid", "tallyd"))


def worker_pids():
    master = tallyd_pid()
    # Only the FastCGI workers (named tallyd), not the job-runner child (tallyd-jobs).
    out = subprocess.run(["pgrep", "-x", "-P", str(master), "tallyd"], capture_output=True, text=True).stdout
    return sorted(int(x) for x in out.split())
