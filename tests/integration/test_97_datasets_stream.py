"""Datasets above the 64 MiB line (docs/datasets.md "Limits and memory"):
the upload and import routes stream their body into the CSV reader (core
ROUTE_STREAM_BODY), so a ~60 MiB upload is stored with a worker's peak RSS
far below the file's size; a body of 64 MiB + 1 byte is refused with the
JSON 413 by nginx (per-location client_max_body_size) and by tallyd itself
(a declared length over csv_body_limit_bytes before any byte is read, an
undeclared one once the stream passes the cap), a body shorter than its
CONTENT_LENGTH is a 400, and nothing is stored on any of these; the
download streams the stored chunks with a Content-Length known up front.

The tallyd-side checks talk FastCGI straight to a second tallyd master on
its own socket (one worker, so its pid is known; request_timeout_ms raised:
the stack's 4 s is for small requests, and the sanitizer build is slow on
60 MiB). Under ASan the quarantine is capped for that master so that the
worker's VmHWM measures the program, not freed memory ASan keeps."""
import contextlib
import hashlib
import http.client
import os
import socket
import struct
import subprocess

from harness import (BIN_DIR, CONF, HOST, PORT, VAR, assert_no_sanitizer_report, fcgi_nv, fcgi_record, fcgi_request,
                     new_user, psql, request, wait_for)

LIMIT = 64 * 1024 * 1024                    # csv_body_limit_bytes and nginx's 64m on these routes
RSS_BOUND_KB = 64 * 1024                    # a 60 MiB upload must peak below 64 MB of worker RSS
_BIG = {}


def big_csv():
    """~60 MiB table in canonical form already (LF, no quoting needed), so
    its SHA-256 is the digest the upload must report; generated once."""
    if "data" not in _BIG:
        pad = "y" * 600
        lines = ["id,name,score,day,note"]
        size, i = len(lines[0]) + 1, 0
        while size < 60 * 1024 * 1024:
            line = "%d,name %d,%d.%02d,2026-%02d-%02d,%s %d" % (i, i % 5000, i % 1000, i % 100 + 1, i % 12 + 1,
                                                                 i % 28 + 1, pad, i)
            lines.append(line)
            size += len(line) + 1
            i += 1
        _BIG["data"] = ("\n".join(lines) + "\n").encode()
        _BIG["rows"] = i
    return _BIG["data"], _BIG["rows"]


class Sent:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        import json
        return json.loads(self.body)


def fcgi_csv(sock_path, path, token, body=b"", declared=None, send_stdin=True, timeout=120):
    """A text/csv POST straight to tallyd. declared: the CONTENT_LENGTH
    given (None: len(body); -1: none at all). send_stdin False sends no
    body record at all, not even its end: tallyd must answer without it."""
    path_only, _, query = path.partition("?")
    params = {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": path_only, "REQUEST_URI": path,
              "DOCUMENT_URI": path_only, "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1",
              "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "localhost", "SERVER_PORT": "80",
              "CONTENT_TYPE": "text/csv", "HTTP_AUTHORIZATION": "Bearer " + token}
    n = len(body) if declared is None else declared
    if n >= 0:
        params["CONTENT_LENGTH"] = str(n)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        pairs = b"".join(fcgi_nv(k, v) for k, v in params.items())
        s.sendall(fcgi_record(1, struct.pack("!HB5x", 1, 0)) + fcgi_record(4, pairs) + fcgi_record(4, b""))
        if send_stdin:
            view = memoryview(body)
            for i in range(0, len(body), 65535):
                s.sendall(fcgi_record(5, bytes(view[i:i + 65535])))
            s.sendall(fcgi_record(5, b""))
        data = bytearray()
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
            if _ended(data):
                break
    finally:
        s.close()
    stdout, pos = bytearray(), 0
    while pos + 8 <= len(data):
        _, rtype, _, clen, plen = struct.unpack("!BBHHB", bytes(data[pos:pos + 7]))
        if rtype == 6:
            stdout += data[pos + 8:pos + 8 + clen]
        pos += 8 + clen + plen
        if rtype == 3:
            break
    head, _, rest = bytes(stdout).partition(b"\r\n\r\n")
    status, hdrs = 200, {}
    for line in head.decode("latin-1").split("\r\n"):
        k, _, v = line.partition(":")
        if k.lower() == "status":
            status = int(v.strip().split()[0])
        elif k:
            hdrs[k.lower()] = v.strip()
    return Sent(status, hdrs, rest.decode("utf-8", "replace"))


def _ended(data):
    pos = 0
    while pos + 8 <= len(data):
        _, rtype, _, clen, plen = struct.unpack("!BBHHB", bytes(data[pos:pos + 7]))
        if pos + 8 + clen + plen > len(data):
            return False
        if rtype == 3:
            return True
        pos += 8 + clen + plen
    return False


@contextlib.contextmanager
def host_b():
    """A second tallyd master (one worker) on its own socket; yields (socket, worker pid)."""
    run = os.path.join(VAR, "run")
    sock, pidfile = os.path.join(run, "stream.sock"), os.path.join(run, "stream.pid")
    blog = os.path.join(VAR, "log", "tallyd-stream.log")
    asan = os.environ.get("ASAN_OPTIONS", "")
    env = dict(os.environ, TALLY_LISTEN=sock, TALLY_PIDFILE=pidfile, TALLY_WORKERS="1", TALLY_JOB_RUNNER="0",
               TALLY_REQUEST_TIMEOUT_MS="300000", TALLY_DB_TIMEOUT_MS="60000",
               ASAN_OPTIONS=(asan + ":" if asan else "") + "quarantine_size_mb=1:thread_local_quarantine_size_kb=64")
    with open(blog, "ab") as logf:
        b = subprocess.Popen([os.path.join(BIN_DIR, "tallyd"), "-c", CONF], env=env, stdout=logf,
                             stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: os.path.exists(sock) and fcgi_request(sock, "GET", "/api/v1/health").status == 200,
                 timeout=30, what="second tallyd serving")
        pids = subprocess.run(["pgrep", "-x", "-P", str(b.pid), "tallyd"], capture_output=True,
                              text=True).stdout.split()
        assert len(pids) == 1, pids
        yield sock, int(pids[0])
    finally:
        b.terminate()
        try:
            b.wait(timeout=30)
        except subprocess.TimeoutExpired:
            b.kill()
            b.wait()
    with open(blog, "rb") as f:
        assert_no_sanitizer_report(f.read().decode("utf-8", "replace"), "second tallyd")


def _status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s for %d" % (key, pid))


def _versions(owner, name):
    return int(psql("SELECT count(*) FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id"
                    " WHERE d.user_id = %d AND d.name = '%s'" % (owner, name))[0][0])


def _count(sql):
    return int(psql(sql)[0][0])


def _raw_http(path, token, declared):
    """Sends only the request head with Content-Length: declared, then reads
    the answer (nginx refuses an over-size body before reading it)."""
    s = socket.create_connection((HOST, PORT), timeout=30)
    try:
        s.sendall(("POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: text/csv\r\n"
                   "Content-Length: %d\r\nConnection: close\r\n\r\n" % (path, HOST, token, declared)).encode())
        r = http.client.HTTPResponse(s)
        r.begin()
        return r.status, r.getheader("content-type") or "", r.read().decode("utf-8", "replace")
    finally:
        s.close()


def test_nginx_refuses_64m_plus_one_with_the_json_413():
    uid, tok = new_user("Stream nginx limit")
    import json
    for path in ("/api/v1/datasets?name=over", "/api/v1/users/%d/transactions/import" % uid):
        status, ct, body = _raw_http(path, tok, LIMIT + 1)
        assert status == 413 and ct.startswith("application/json"), (path, status, ct, body[:200])
        assert json.loads(body)["error"]["code"] == "payload_too_large", body
    # a 1 MiB route still refuses 2 MiB of CSV
    status, _, body = _raw_http("/api/v1/users/%d/sessions" % uid, tok, 2 * 1024 * 1024)
    assert status == 413, (status, body[:200])
    assert _versions(uid, "over") == 0


def test_tallyd_cap_short_body_and_a_60m_upload_in_bounded_memory():
    data, nrows = big_csv()
    assert 56 * 1024 * 1024 < len(data) < LIMIT
    uid, tok = new_user("Stream big upload")
    with host_b() as (sock, wpid):
        # 1. a declared length over the cap: refused before any byte is read
        # (no body record is ever sent; reading one would block to the timeout).
        r = fcgi_csv(sock, "/api/v1/datasets?name=capped", tok, declared=LIMIT + 1, send_stdin=False, timeout=20)
        assert r.status == 413, (r.status, r.body[:300])
        assert r.json()["error"] == {"code": "payload_too_large", "message": r.json()["error"]["message"],
                                     "field": "body"}, r.body
        assert str(LIMIT) in r.json()["error"]["message"]
        # 2. no declared length: the stream itself stops at the cap (64 MiB + 1 byte of
        # valid rows: the refusal is about the size, not the content).
        over = data + b"".join(b"%d,n,1.5,2026-01-01,z\n" % i for i in range(200000))
        over = over[:LIMIT + 1]
        r = fcgi_csv(sock, "/api/v1/datasets?name=capped", tok, body=over, declared=-1)
        assert r.status == 413 and r.json()["error"]["code"] == "payload_too_large", (r.status, r.body[:300])
        # 3. the same for the import route
        imp = b"date,amount,description\n" + b"2026-10-01,-1.00,x\n" * 10
        r = fcgi_csv(sock, "/api/v1/users/%d/transactions/import" % uid, tok, declared=LIMIT + 1,
                     send_stdin=False, timeout=20)
        assert r.status == 413 and r.json()["error"]["code"] == "payload_too_large", (r.status, r.body[:300])
        # 4. a body cut short of its CONTENT_LENGTH: 400, nothing stored, for both routes
        small = b"a,b\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(1000))
        r = fcgi_csv(sock, "/api/v1/datasets?name=capped", tok, body=small[:len(small) // 2], declared=len(small))
        assert r.status == 400 and r.json()["error"]["field"] == "body", (r.status, r.body[:300])
        assert "short" in r.json()["error"]["message"], r.body
        r = fcgi_csv(sock, "/api/v1/users/%d/transactions/import" % uid, tok, body=imp[:30], declared=len(imp))
        assert r.status == 400 and "short" in r.json()["error"]["message"], (r.status, r.body[:300])
        assert _versions(uid, "capped") == 0 and _versions(uid, "transactions-import") == 0
        assert _count("SELECT count(*) FROM transactions WHERE user_id = %d" % uid) == 0
        # 5. the same worker still serves: a whole small body goes in
        r = fcgi_csv(sock, "/api/v1/datasets?name=small", tok, body=small)
        assert r.status == 201 and r.json()["rows"] == 1000, (r.status, r.body[:300])
        # 6. ~60 MiB: stored, digest of the file (already canonical), peak RSS bounded
        with open("/proc/%d/clear_refs" % wpid, "w") as f:
            f.write("5")                       # resets VmHWM to the current RSS
        before = _status_kb(wpid, "VmHWM")
        r = fcgi_csv(sock, "/api/v1/datasets?name=big", tok, body=data)
        peak = _status_kb(wpid, "VmHWM")
        assert r.status == 201, (r.status, r.body[:300])
        v = r.json()
        assert v["rows"] == nrows and v["sha256"] == hashlib.sha256(data).hexdigest(), v
        assert v["content_bytes"] == len(data), v
        assert [c["type"] for c in v["columns"]] == ["integer", "string", "number", "date", "string"], v
        print("worker VmHWM: %d kB before, %d kB after a %d-byte upload" % (before, peak, len(data)))
        assert peak < RSS_BOUND_KB, (before, peak, len(data))
        assert peak - before < len(data) // 1024 // 2, (before, peak)   # far from holding the file
    # 7. the download streams it back through nginx, Content-Length up front, byte for byte
    conn = http.client.HTTPConnection(HOST, PORT, timeout=120)
    try:
        conn.request("GET", "/api/v1/datasets/%d/versions/%d.csv" % (v["dataset_id"], v["version"]),
                     headers={"Authorization": "Bearer " + tok})
        resp = conn.getresponse()
        assert resp.status == 200, resp.status
        assert resp.getheader("Content-Length") == str(len(data)), resp.getheaders()
        assert resp.getheader("Content-Type").startswith("text/csv")
        assert "attachment" in (resp.getheader("Content-Disposition") or "")
        got = resp.read()
    finally:
        conn.close()
    assert len(got) == len(data) and hashlib.sha256(got).hexdigest() == v["sha256"]


def test_a_bad_line_deep_in_a_streamed_upload_stores_nothing_and_names_the_column():
    uid, tok = new_user("Stream bad line")
    rows = ["k,city,amount"] + ["%d,c%d,%d.5" % (i, i % 7, i) for i in range(50000)]
    rows[40000] = '40000,c"x,1.5'                    # a quote inside an unquoted field (physical line 40001)
    r = request("POST", "/api/v1/datasets?name=deep", body="\n".join(rows) + "\n", token=tok,
                content_type="text/csv")
    assert r.status == 422, r
    err = r.json["error"]
    assert err["line"] == 40001 and err["field"] == "city" and err["column"] == len('40000,c"'), err
    rows[40000] = "40000,c1"                          # a short row: the row, not a column
    r = request("POST", "/api/v1/datasets?name=deep", body="\n".join(rows) + "\n", token=tok,
                content_type="text/csv")
    assert r.status == 422 and r.json["error"]["line"] == 40001 and r.json["error"]["field"] == "body", r
    assert _versions(uid, "deep") == 0
    assert _count("SELECT count(*) FROM dataset_chunks c JOIN dataset_versions v ON v.id = c.version_id"
                  " JOIN datasets d ON d.id = v.dataset_id WHERE d.user_id = %d" % uid) == 0
    # the import: a bad amount on line 3 of a streamed file, nothing stored, the line named
    body = "date;montant;libellé\n01/10/2026;-12,50;Boulangerie\n02/10/2026;douze;Café\n"
    r = request("POST", "/api/v1/users/%d/transactions/import" % uid, body=body, token=tok, content_type="text/csv")
    assert r.status == 422 and r.json["error"]["line"] == 3 and r.json["rejected"][0]["line"] == 3, r
    assert _versions(uid, "transactions-import") == 0
    assert _count("SELECT count(*) FROM transactions WHERE user_id = %d" % uid) == 0


def test_a_download_that_cannot_keep_its_content_length_is_cut_not_ended():
    """The download announces the version's content_bytes; a stored length
    that the chunks cannot meet (short, or long) must not give a response
    that looks complete: the body ends short of Content-Length and the
    connection is cut (http.client raises IncompleteRead)."""
    uid, tok = new_user("Stream cut download")
    body = "n,t\n" + "".join("%d,%s\n" % (i, "z" * 50) for i in range(20000))     # ~1.1 MB, ~35 chunks
    r = request("POST", "/api/v1/datasets?name=cut", body=body, token=tok, content_type="text/csv")
    assert r.status == 201 and r.json["content_bytes"] == len(body), r
    did, ver = r.json["dataset_id"], r.json["version"]

    def download():
        conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
        try:
            conn.request("GET", "/api/v1/datasets/%d/versions/%d.csv" % (did, ver),
                         headers={"Authorization": "Bearer " + tok})
            resp = conn.getresponse()
            length = int(resp.getheader("Content-Length"))
            try:
                return resp.status, length, resp.read(), None
            except http.client.IncompleteRead as e:
                return resp.status, length, e.partial, e
        finally:
            conn.close()

    status, length, got, cut = download()
    assert status == 200 and length == len(body) and got == body.encode() and cut is None
    for delta in (+100, -100):
        psql("UPDATE dataset_versions SET content_bytes = %d WHERE dataset_id = %d AND version = %d"
             % (len(body) + delta, did, ver))
        status, length, got, cut = download()
        assert status == 200 and length == len(body) + delta, (status, length)
        assert cut is not None and len(got) < length, (delta, len(got), length)
    psql("UPDATE dataset_versions SET content_bytes = %d WHERE dataset_id = %d AND version = %d"
         % (len(body), did, ver))
