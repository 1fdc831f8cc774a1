"""Datasets (API.md "Datasets") and the transactions CSV import: canonical
dedupe over 4 encodings, download/upload round trip, type inference and
stats against values computed here, malformed files naming the line, every
transform op against hand-computed results, step validation, the 50 % rule,
preview == applied, lineage, diff, retention and pinning (410), ownership,
and the bank-file imports (French and English shapes, a bad line, re-import,
another user's id)."""
import csv
import hashlib
import io
import os
import re
import statistics
from decimal import Decimal

from harness import ROOT, admin_token, assert_error, ctl, get, new_user, post, psql, request, wait_for

DATA = os.path.join(ROOT, "tests", "data")


def upload(name, body, tok, delimiter=None, ct="text/csv"):
    path = "/api/v1/datasets?name=" + name + ("&delimiter=" + delimiter if delimiter else "")
    return request("POST", path, body=body, token=tok, content_type=ct)


def canonical(rows):
    """The canonical CSV as the contract defines it, computed here: `,`, LF,
    quotes only when needed."""
    out = []
    for r in rows:
        cells = []
        for v in r:
            v = "" if v is None else str(v)
            if any(c in v for c in ',"\r\n') or v.startswith("\ufeff"):
                v = '"' + v.replace('"', '""') + '"'
            cells.append(v)
        out.append(",".join(cells) + "\n")
    return "".join(out)


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def rows_of(did, v, tok, limit=1000):
    r = get("/api/v1/datasets/%d/versions/%d/rows?limit=%d" % (did, v, limit), token=tok)
    assert r.status == 200, r
    return r.json


def transform(did, v, steps, tok, preview=False, force=None):
    body = {"steps": steps, "preview": preview}
    if force is not None:
        body["force"] = force
    return post("/api/v1/datasets/%d/versions/%d/transform" % (did, v), body, token=tok)


TABLE = [["id", "city", "score", "joined", "active", "zip"],
         ["1", "Paris", "12.5", "2026-01-03", "true", "75001"],
         ["2", "Lyon, 2e", "7", "2026-02-10", "false", "08123"],
         ["3", 'Le "Mans"', "", "2025-12-31", "true", "72000"],
         ["4", "Nice\nCôte", "-3.25", "", "false", "06000"]]


def test_dedupe_four_encodings_and_one_cell_change():
    uid, tok = new_user("Datasets dedupe")
    lf = "\n".join(",".join(('"%s"' % c.replace('"', '""')) if any(x in c for x in ',"\n') else c for c in r)
                   for r in TABLE) + "\n"
    crlf = lf.replace("\n", "\r\n").replace('Nice\r\nCôte', 'Nice\r\nCôte')
    bom = "\ufeff" + lf
    quoted = "\n".join(",".join('"%s"' % c.replace('"', '""') for c in r) for r in TABLE)      # no final LF
    semi = "\n".join(";".join(('"%s"' % c.replace('"', '""')) if any(x in c for x in ';"\n') else c for c in r)
                     for r in TABLE) + "\n"
    want_sha = sha(canonical(TABLE))
    first = upload("dd", lf, tok)
    assert first.status == 201, first
    assert first.json["version"] == 1 and first.json["sha256"] == want_sha and first.json["rows"] == 4
    assert first.json["created_by"] == uid and first.json["parent"] is None
    for body in (crlf, bom, quoted, semi):
        r = upload("dd", body.encode(), tok)
        assert r.status == 200, (r, body)
        assert (r.json["version"], r.json["sha256"]) == (1, want_sha), r
    changed = [list(r) for r in TABLE]
    changed[2][2] = "7.5"
    r = upload("dd", canonical(changed), tok)
    assert r.status == 201 and r.json["version"] == 2 and r.json["sha256"] == sha(canonical(changed)), r
    vs = get("/api/v1/datasets/%d/versions" % first.json["dataset_id"], token=tok).json["items"]
    assert [v["version"] for v in vs] == [1, 2]
    # the original again is still version 1, not a third one
    assert upload("dd", lf, tok).json["version"] == 1


def test_types_stats_rows_and_round_trip():
    uid, tok = new_user("Datasets types")
    r = upload("types", canonical(TABLE), tok)
    assert r.status == 201, r
    did = r.json["dataset_id"]
    types = {c["name"]: c["type"] for c in r.json["columns"]}
    assert types == {"id": "integer", "city": "string", "score": "number", "joined": "date", "active": "boolean",
                     "zip": "string"}                     # "08123" keeps zip a string
    meta = get("/api/v1/datasets/%d/versions/1" % did, token=tok).json
    cols = {c["name"]: c for c in meta["columns"]}
    scores = [12.5, 7, -3.25]
    assert cols["score"]["missing"] == 1 and cols["joined"]["missing"] == 1 and cols["id"]["missing"] == 0
    assert cols["score"]["min"] == min(scores) and cols["score"]["max"] == max(scores)
    assert abs(cols["score"]["mean"] - sum(scores) / 3) < 1e-9
    assert cols["id"]["min"] == 1 and cols["id"]["max"] == 4 and cols["id"]["mean"] == 2.5
    assert cols["active"]["distinct"] == 2 and cols["city"]["distinct"] == 4
    assert cols["joined"]["min"] == "2025-12-31" and cols["joined"]["max"] == "2026-02-10"
    page = rows_of(did, 1, tok)
    assert page["columns"] == TABLE[0] and page["total"] == 4
    assert page["rows"][0] == [1, "Paris", 12.5, "2026-01-03", True, "75001"]
    assert page["rows"][2] == [3, 'Le "Mans"', None, "2025-12-31", True, "72000"]
    assert page["rows"][3] == [4, "Nice\nCôte", -3.25, None, False, "06000"]
    p2 = get("/api/v1/datasets/%d/versions/1/rows?offset=1&limit=2" % did, token=tok).json
    assert p2["rows"] == page["rows"][1:3] and p2["total"] == 4
    assert get("/api/v1/datasets/%d/versions/1/rows?offset=10" % did, token=tok).json["rows"] == []
    dl = get("/api/v1/datasets/%d/versions/1.csv" % did, token=tok)
    assert dl.status == 200 and dl.headers["content-type"].startswith("text/csv")
    assert dl.body == canonical(TABLE)
    again = upload("types-copy", dl.body.encode(), tok)
    assert again.status == 201 and again.json["sha256"] == meta["sha256"] == sha(dl.body)
    assert_error(get("/api/v1/datasets/%d/versions/1/rows?limit=0" % did, token=tok), 400, "invalid_argument",
                 "limit")
    assert_error(get("/api/v1/datasets/%d/versions/9" % did, token=tok), 404, "not_found")


def test_malformed_files_name_the_line():
    uid, tok = new_user("Datasets malformed")
    cases = [("a,b\n1,2\n3,4,5\n", 3), ("a,b\r\n1,2\r\n\"x,2\r\n", 3), ("a,b\n1,x\"y\n", 2),
             ("a,b\n\"q\"z,1\n", 2), ("a,b\n1,2\n3\n", 3), ("a,a\n1,2\n", 1), ("a,\n1,2\n", 1), ("", 1)]
    for body, line in cases:
        r = upload("bad", body, tok)
        assert_error(r, 422, "invalid_argument")
        assert r.json["error"]["line"] == line, (body, r)
    r = upload("bad", b"a,b\n1,\xff\xfe\n", tok)
    assert_error(r, 422, "invalid_argument")
    assert r.json["error"]["line"] == 2 and "UTF-8" in r.json["error"]["message"]
    assert_error(upload("bad", "a,b\n1,2\n", tok, ct="application/json"), 415, "unsupported_media_type")
    assert_error(upload("", "a\n1\n", tok), 400, "invalid_argument", "name")
    assert_error(upload("bad", "a\n1\n", tok, delimiter="|"), 400, "invalid_argument", "delimiter")
    r = upload("tabbed", "a\tb\n1\t2\n", tok)
    assert r.status == 201 and [c["name"] for c in r.json["columns"]] == ["a", "b"]
    r = upload("forced", "a;b\n1;2\n", tok, delimiter=",")
    assert r.status == 201 and [c["name"] for c in r.json["columns"]] == ["a;b"]
    assert get("/api/v1/datasets?name=bad", token=tok).json["items"] == []       # nothing half-written


def test_ownership_and_listing():
    u1, t1 = new_user("Datasets owner")
    u2, t2 = new_user("Datasets other")
    did = upload("mine", "x\n1\n", t1).json["dataset_id"]
    assert [d["id"] for d in get("/api/v1/datasets", token=t1).json["items"]] == [did]
    assert get("/api/v1/datasets", token=t2).json["items"] == []
    for path in ("", "/versions", "/versions/1", "/versions/1/rows", "/versions/1.csv", "/versions/1/lineage"):
        assert_error(get("/api/v1/datasets/%d%s" % (did, path), token=t2), 404, "not_found")
    assert_error(transform(did, 1, [{"op": "dedupe"}], t2), 404, "not_found")
    assert get("/api/v1/datasets/%d" % did, token=admin_token()).json["name"] == "mine"
    assert_error(get("/api/v1/datasets"), 401, "unauthenticated")
    # the same name for another user is another dataset
    assert upload("mine", "x\n1\n", t2).json["dataset_id"] != did


OPS = [["name", "age", "city", "score", "tag"],
       ["ann", "30", "Paris", "10", "a"],
       ["bob", "", "Lyon", "20", "b"],
       ["cid", "40", "", "", "a"],
       ["dan", "", "", "40", "c"],
       ["eve", "25", "Paris", "30", "b"],
       ["ann", "30", "Paris", "10", "a"],
       ["fay", "x5", "Nice", "50", "d"]]


def ops_dataset(tok):
    r = upload("ops", canonical(OPS), tok)
    assert r.status in (200, 201), r
    return r.json["dataset_id"], r.json["version"]


def col(rows, header, name):
    return [r[header.index(name)] for r in rows]


def preview_rows(did, v, steps, tok):
    r = transform(did, v, steps, tok, preview=True)
    assert r.status == 200, (steps, r)
    return r.json


def test_each_op_against_values_computed_here():
    uid, tok = new_user("Datasets ops")
    did, v = ops_dataset(tok)
    H, R = OPS[0], OPS[1:]
    # age is a string column (x5); cast it: x5 fails -> missing, counted in warnings
    p = preview_rows(did, v, [{"op": "cast", "column": "age", "type": "integer"}], tok)
    want_age = [int(a) if a.isdigit() else None for a in col(R, H, "age")]
    assert col(p["sample"], H, "age") == want_age
    assert any("1 value" in w and "age" in w for w in p["warnings"]), p["warnings"]
    assert {c["name"]: c["type"] for c in p["columns"]}["age"] == "integer"
    cast = [{"op": "cast", "column": "age", "type": "integer"}]
    # drop_missing without threshold (age, city): rows with any missing among them go
    p = preview_rows(did, v, cast + [{"op": "drop_missing", "columns": ["age", "city"]}], tok)
    want = [r for r, a in zip(R, want_age) if a is not None and r[2] != ""]
    assert col(p["sample"], H, "name") == [r[0] for r in want] and p["rows_after"] == len(want)
    # with a threshold over all columns: a row goes when missing share > 0.2
    p = preview_rows(did, v, cast + [{"op": "drop_missing", "threshold": 0.2}], tok)
    def share(r, a):
        cells = [r[0], a, r[2], r[3], r[4]]
        return sum(1 for c in cells if c in ("", None)) / 5
    want = [r[0] for r, a in zip(R, want_age) if share(r, a) <= 0.2]
    assert col(p["sample"], H, "name") == want, p
    # fill mean / median / mode / constant
    present = [a for a in want_age if a is not None]
    for strategy, value in (("mean", sum(present) / len(present)), ("median", statistics.median(present))):
        p = preview_rows(did, v, cast + [{"op": "fill_missing", "column": "age", "strategy": strategy}], tok)
        got = col(p["sample"], H, "age")
        assert all(abs(g - (a if a is not None else value)) < 1e-9 for g, a in zip(got, want_age)), (strategy, got)
        assert {c["name"]: c["type"] for c in p["columns"]}["age"] == "number"
    p = preview_rows(did, v, [{"op": "fill_missing", "column": "city", "strategy": "mode"}], tok)
    assert col(p["sample"], H, "city") == [c or "Paris" for c in col(R, H, "city")]
    p = preview_rows(did, v, [{"op": "fill_missing", "column": "tag", "strategy": "mode"},
                              {"op": "fill_missing", "column": "score", "strategy": "mode"}], tok)
    assert col(p["sample"], H, "score") == [int(s) if s else 10 for s in col(R, H, "score")]   # tie 10/… -> 10
    p = preview_rows(did, v, [{"op": "fill_missing", "column": "city", "strategy": "constant", "value": "?"}], tok)
    assert col(p["sample"], H, "city") == [c or "?" for c in col(R, H, "city")]
    # every filter comparison on a number column; missing never matches but is_missing
    scores = [int(s) if s else None for s in col(R, H, "score")]
    for cmp, fn in (("eq", lambda s: s == 20), ("ne", lambda s: s != 20), ("lt", lambda s: s < 20),
                    ("le", lambda s: s <= 20), ("gt", lambda s: s > 20), ("ge", lambda s: s >= 20)):
        p = preview_rows(did, v, [{"op": "filter", "column": "score", "cmp": cmp, "value": 20}], tok)
        want = [r[0] for r, s in zip(R, scores) if s is not None and fn(s)]
        assert col(p["sample"], H, "name") == want, (cmp, p["sample"])
    p = preview_rows(did, v, [{"op": "filter", "column": "score", "cmp": "in", "value": [10, 50, 99]}], tok)
    assert col(p["sample"], H, "name") == ["ann", "ann", "fay"]
    p = preview_rows(did, v, [{"op": "filter", "column": "score", "cmp": "is_missing"}], tok)
    assert col(p["sample"], H, "name") == ["cid"]
    p = preview_rows(did, v, [{"op": "filter", "column": "city", "cmp": "not_missing"}], tok)
    assert col(p["sample"], H, "name") == [r[0] for r in R if r[2]]
    p = preview_rows(did, v, [{"op": "filter", "column": "name", "cmp": "contains", "value": "a"}], tok)
    assert col(p["sample"], H, "name") == [r[0] for r in R if "a" in r[0]]
    p = preview_rows(did, v, [{"op": "filter", "column": "city", "cmp": "lt", "value": "M"}], tok)
    assert col(p["sample"], H, "name") == [r[0] for r in R if r[2] and r[2] < "M"]
    # minmax and zscore (population standard deviation)
    present = [s for s in scores if s is not None]
    lo, hi = min(present), max(present)
    mean, sd = sum(present) / len(present), statistics.pstdev(present)
    for method, fn in (("minmax", lambda s: (s - lo) / (hi - lo)), ("zscore", lambda s: (s - mean) / sd)):
        p = preview_rows(did, v, [{"op": "scale", "column": "score", "method": method}], tok)
        got = col(p["sample"], H, "score")
        for g, s in zip(got, scores):
            assert (g is None) if s is None else abs(g - fn(s)) < 1e-9, (method, got)
    # dedupe keeps the first; on a subset of columns
    p = preview_rows(did, v, [{"op": "dedupe"}], tok)
    assert col(p["sample"], H, "name") == ["ann", "bob", "cid", "dan", "eve", "fay"]
    p = preview_rows(did, v, [{"op": "dedupe", "columns": ["tag"]}], tok)
    assert col(p["sample"], H, "name") == ["ann", "bob", "dan", "fay"]
    # rename + drop_columns
    p = preview_rows(did, v, [{"op": "rename", "from": "score", "to": "points"},
                              {"op": "drop_columns", "columns": ["tag", "city"]}], tok)
    assert [c["name"] for c in p["columns"]] == ["name", "age", "points"]
    assert p["per_step"] == [{"op": "rename", "rows_after": 7}, {"op": "drop_columns", "rows_after": 7}]


def test_validation_names_step_and_reason():
    uid, tok = new_user("Datasets validation")
    did, v = ops_dataset(tok)
    cases = [([{"op": "explode"}], 0, "unknown op"),
             ([{"op": "dedupe"}, {"op": "drop_missing", "columns": ["nope"]}], 1, "unknown column"),
             ([{"op": "scale", "column": "city", "method": "minmax"}], 0, "number column"),
             ([{"op": "rename", "from": "score", "to": "pts"}, {"op": "scale", "column": "score", "method": "zscore"}],
              1, "unknown column"),
             ([{"op": "drop_missing", "threshold": 1.5}], 0, "threshold"),
             ([{"op": "fill_missing", "column": "score", "strategy": "constant"}], 0, "value"),
             ([{"op": "fill_missing", "column": "score", "strategy": "constant", "value": "ten"}], 0, "value"),
             ([{"op": "filter", "column": "score", "cmp": "gt", "value": "20"}], 0, "value"),
             ([{"op": "filter", "column": "score", "cmp": "like", "value": 1}], 0, "cmp"),
             ([{"op": "cast", "column": "age", "type": "float"}], 0, "type"),
             ([{"op": "drop_columns", "columns": ["name", "age", "city", "score", "tag"]}], 0, "remain"),
             ([{"op": "rename", "from": "age", "to": "city"}], 0, "already exists"),
             ([{"op": "cast", "column": "age", "type": "string"}, {"op": "fill_missing", "column": "age",
                                                                  "strategy": "mean"}], 1, "number column")]
    for steps, step, reason in cases:
        for preview in (True, False):
            r = transform(did, v, steps, tok, preview=preview)
            assert_error(r, 422, "invalid_argument")
            assert r.json["step"] == step and reason in r.json["reason"], (steps, r)
    assert_error(transform(did, v, [], tok), 422, "invalid_argument")
    # names and types flow: a rename then a scale of the new name is valid
    ok = transform(did, v, [{"op": "rename", "from": "score", "to": "pts"},
                            {"op": "scale", "column": "pts", "method": "minmax"}], tok, preview=True)
    assert ok.status == 200 and [c["name"] for c in ok.json["columns"]][3] == "pts"
    assert len(get("/api/v1/datasets/%d/versions" % did, token=tok).json["items"]) == 1   # nothing stored
    empty = upload("empty", "a,b\n", tok).json
    r = transform(empty["dataset_id"], 1, [{"op": "dedupe"}], tok)
    assert_error(r, 422, "invalid_argument")
    assert "empty" in r.json["error"]["message"]


def test_loss_rule_preview_equals_apply_and_lineage():
    uid, tok = new_user("Datasets apply")
    did, v = ops_dataset(tok)
    H, R = OPS[0], OPS[1:]
    losing = [{"op": "filter", "column": "tag", "cmp": "eq", "value": "a"}]     # keeps 3 of 7
    p = preview_rows(did, v, losing, tok)
    assert p["rows_before"] == 7 and p["rows_after"] == 3
    assert any("57 %" in w for w in p["warnings"]), p["warnings"]
    r = transform(did, v, losing, tok)
    assert_error(r, 422, "invalid_argument", "force")
    assert "50 %" in r.json["error"]["message"]
    assert_error(transform(did, v, [{"op": "filter", "column": "tag", "cmp": "eq", "value": "zz"}], tok, force=False),
                 422, "invalid_argument", "force")
    forced = transform(did, v, losing, tok, force=True)
    assert forced.status == 201 and forced.json["version"] == 2 and forced.json["parent"] == 1
    assert forced.json["rows"] == 3
    # three transforms in a chain; each preview's sample is the applied version's first rows
    chain = [[{"op": "dedupe"}],
             [{"op": "rename", "from": "score", "to": "pts"}, {"op": "fill_missing", "column": "pts",
                                                              "strategy": "median"}],
             [{"op": "scale", "column": "pts", "method": "minmax"}, {"op": "drop_columns", "columns": ["tag"]}]]
    cur = 1
    made = []
    for steps in chain:
        p = preview_rows(did, cur, steps, tok)
        a = transform(did, cur, steps, tok)
        assert a.status == 201, a
        got = rows_of(did, a.json["version"], tok)
        assert got["rows"][:20] == p["sample"] and got["total"] == p["rows_after"] == a.json["rows"]
        assert [c["name"] for c in a.json["columns"]] == [c["name"] for c in p["columns"]] == got["columns"]
        made.append((a.json["version"], cur, steps))
        cur = a.json["version"]
    lin = get("/api/v1/datasets/%d/versions/%d/lineage" % (did, cur), token=tok).json
    assert [(e["version"], e["parent"]) for e in lin] == [(5, 4), (4, 3), (3, 1), (1, None)]
    assert [e["steps"] for e in lin[:3]] == [m[2] for m in reversed(made)]
    assert lin[-1]["steps"] == [] and all(e["created_by"] == uid for e in lin)
    # the final values, computed here: dedupe, median fill of score, minmax
    rows = []
    for r in R:
        if r not in rows:
            rows.append(r)
    sc = [float(r[3]) for r in rows if r[3]]
    med = statistics.median(sc)
    filled = [float(r[3]) if r[3] else med for r in rows]
    lo, hi = min(filled), max(filled)
    final = rows_of(did, cur, tok)
    assert final["columns"] == ["name", "age", "city", "pts"]
    assert [r[0] for r in final["rows"]] == [r[0] for r in rows]
    assert all(abs(g[3] - (f - lo) / (hi - lo)) < 1e-9 for g, f in zip(final["rows"], filled))


def test_diff_counts():
    uid, tok = new_user("Datasets diff")
    a = [["k", "v"], ["1", "x"], ["2", "y"], ["2", "y"], ["3", "z"]]
    b = [["k", "v", "w"], ["2", "y", "n"], ["3", "zz", "n"], ["4", "q", "n"], ["1", "x", "n"]]
    did = upload("diff", canonical(a), tok).json["dataset_id"]
    assert upload("diff", canonical(b), tok).json["version"] == 2
    d = get("/api/v1/datasets/%d/versions/2/diff?against=1" % did, token=tok).json
    # over the common columns k, v: b has (3,zz) (4,q); a has one (2,y) more and (3,z)
    assert d["rows_only_in_version"] == 2 and d["rows_only_in_against"] == 2, d
    assert d["sample_only_in_version"] == [[3, "zz", "n"], [4, "q", "n"]]
    assert sorted(d["sample_only_in_against"]) == sorted([[2, "y"], [3, "z"]])
    assert d["columns_added"] == ["w"] and d["columns_removed"] == [] and d["columns_retyped"] == []
    stats = {s["name"]: s for s in d["stats"]}
    assert stats["k"]["version"]["max"] == 4 and stats["k"]["against"]["max"] == 3
    assert stats["w"]["against"] is None
    assert_error(get("/api/v1/datasets/%d/versions/2/diff" % did, token=tok), 400, "invalid_argument", "against")
    assert_error(get("/api/v1/datasets/%d/versions/2/diff?against=7" % did, token=tok), 404, "not_found")


def _run_retention(keep=None):
    admin = admin_token()
    r = post("/api/v1/admin/jobs", {"kind": "datasets_retention", "payload": {} if keep is None else {"keep": keep},
                                    "priority": "high"}, token=admin)
    assert r.status == 201, r
    jid = r.json["id"]

    def done():
        items = get("/api/v1/admin/jobs?kind=datasets_retention&limit=50", token=admin).json["items"]
        return [j for j in items if j["id"] == jid and j["status"] in ("succeeded", "failed", "dead")]
    job = wait_for(done, timeout=30, what="retention job")[0]
    assert job["status"] == "succeeded", job


def test_retention_keeps_last_n_and_pinned():
    uid, tok = new_user("Datasets retention")
    did = None
    for i in range(12):
        r = upload("ret", "n\n%d\n" % i, tok)
        assert r.status == 201 and r.json["version"] == i + 1
        did = r.json["dataset_id"]
    assert post("/api/v1/datasets/%d/versions/1/pin" % did, token=tok).json["pinned"] is True
    assert post("/api/v1/datasets/%d/versions/3/pin" % did, token=tok).status == 200
    r = request("DELETE", "/api/v1/datasets/%d/versions/3/pin" % did, token=tok)
    assert r.status == 200 and r.json["pinned"] is False
    _run_retention()                                           # dataset_keep_versions = 10: v3..v12 kept
    assert rows_of(did, 1, tok)["rows"] == [[0]]              # pinned
    for v in (2,):
        assert_error(get("/api/v1/datasets/%d/versions/%d/rows" % (did, v), token=tok), 410, "gone")
        assert_error(get("/api/v1/datasets/%d/versions/%d.csv" % (did, v), token=tok), 410, "gone")
        assert_error(transform(did, v, [{"op": "dedupe"}], tok), 410, "gone")
        meta = get("/api/v1/datasets/%d/versions/%d" % (did, v), token=tok).json
        assert meta["purged"] is True and meta["rows"] == 1 and meta["sha256"] == sha("n\n1\n")
    for v in range(3, 13):
        assert rows_of(did, v, tok)["rows"] == [[v - 1]]
    assert psql("SELECT count(*) FROM dataset_chunks c JOIN dataset_versions v ON v.id = c.version_id"
                " WHERE v.dataset_id = %d AND v.version = 2" % did) == [["0"]]
    # the content of a purged version is new content again
    assert upload("ret", "n\n1\n", tok).json["version"] == 13


# ---- transactions import ------------------------------------------------

def _amount(text):
    t = text.replace("\u00a0", "").replace(" ", "")
    last = max(t.rfind(","), t.rfind("."))
    if last >= 0:
        t = t[:last].replace(",", "").replace(".", "") + "." + t[last + 1:]
    return Decimal(t)


def _bank_rows(name, delimiter):
    with open(os.path.join(DATA, name), encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f, delimiter=delimiter))


def _txns(uid, tok):
    r = get("/api/v1/users/%d/transactions?limit=500" % uid, token=tok)
    assert r.status == 200, r
    return r.json["items"]


def _import(uid, tok, body):
    return request("POST", "/api/v1/users/%d/transactions/import" % uid, body=body, token=tok,
                   content_type="text/csv")


def test_import_french_bank_file():
    uid, tok = new_user("Import FR")
    raw = open(os.path.join(DATA, "bank_fr.csv"), "rb").read()
    rows = _bank_rows("bank_fr.csv", ";")
    r = _import(uid, tok, raw)
    assert r.status == 201, r
    assert r.json["inserted"] == len(rows) - 1 and r.json["duplicates"] == 0
    dv = r.json["dataset_version"]
    items = _txns(uid, tok)
    assert len(items) == len(rows) - 1
    want = sorted(("%s-%s-%s" % (d[6:], d[3:5], d[:2]), _amount(a), m, c or None, desc.replace("\n", " ") or None)
                  for d, m, a, c, desc in rows[1:])
    got = sorted((t["date"], Decimal(str(t["amount"])), t["merchant"], t["category"], t["description"])
                 for t in items)
    assert got == want
    assert all(t["dataset_version"] == dv for t in items)
    # the file is a version of the user's transactions-import dataset, the same table as the file
    ds = get("/api/v1/datasets?name=transactions-import", token=tok).json["items"]
    assert [d["id"] for d in ds] == [dv["dataset_id"]]
    dl = get("/api/v1/datasets/%d/versions/%d.csv" % (dv["dataset_id"], dv["version"]), token=tok)
    assert dl.body == canonical(rows)
    # re-import: all duplicates (the two identical Netflix rows included), nothing new
    again = _import(uid, tok, raw)
    assert again.status == 200 and again.json["inserted"] == 0 and again.json["duplicates"] == len(rows) - 1
    assert again.json["dataset_version"] == dv
    assert len(_txns(uid, tok)) == len(rows) - 1
    # the same file re-saved with LF and no BOM is the same table, so still all duplicates
    lf = raw.decode("utf-8-sig").replace("\r\n", "\n").encode()
    assert _import(uid, tok, lf).json["duplicates"] == len(rows) - 1
    # metrics see the import (invalidated like the JSON insert)
    m = get("/api/v1/users/%d/metrics/monthly_total?period=2026-10" % uid, token=tok).json
    spent = sum(-_amount(a) for _, _, a, _, _ in rows[1:] if _amount(a) < 0)
    assert abs(Decimal(str(m["value"]["spending"])) - spent) < Decimal("0.01"), m
    extra = _import(uid, tok, "date;montant;libellé\n28/10/2026;-10,00;CB TEST\n")
    assert extra.status == 201 and extra.json["dataset_version"]["version"] == dv["version"] + 1
    m2 = get("/api/v1/users/%d/metrics/monthly_total?period=2026-10" % uid, token=tok).json
    assert abs(Decimal(str(m2["value"]["spending"])) - spent - 10) < Decimal("0.01"), m2


def test_import_english_and_debit_credit_files():
    uid, tok = new_user("Import EN")
    rows = _bank_rows("bank_en.csv", ",")
    r = _import(uid, tok, open(os.path.join(DATA, "bank_en.csv"), "rb").read())
    assert r.status == 201 and r.json["inserted"] == len(rows) - 1, r
    by_ext = {t["external_id"]: t for t in _txns(uid, tok)}
    for d, m, a, cur, cat, desc, ext in rows[1:]:
        t = by_ext[ext]
        assert (t["date"], Decimal(str(t["amount"])), t["merchant"], t["currency"], t["category"]) == \
            (d, _amount(a), m, cur, cat)
    dc = _bank_rows("bank_fr_debit_credit.csv", ";")
    r = _import(uid, tok, open(os.path.join(DATA, "bank_fr_debit_credit.csv"), "rb").read())
    assert r.status == 201 and r.json["inserted"] == 3, r
    got = {t["merchant"]: Decimal(str(t["amount"])) for t in _txns(uid, tok) if t["date"] >= "2026-11-01"}
    assert got == {m: (-_amount(deb) if deb else _amount(cre)) for _, m, deb, cre in dc[1:]}
    # the JSON insert carries dataset_version null
    post("/api/v1/users/%d/transactions" % uid, [{"date": "2026-12-01", "amount": -1, "external_id": "j1"}], token=tok)
    assert [t["dataset_version"] for t in _txns(uid, tok) if t["external_id"] == "j1"] == [None]


def test_import_bad_line_stores_nothing_and_403():
    uid, tok = new_user("Import bad")
    body = ("Date;Libellé;Montant\r\n"
            "01/10/2026;CB A;-1,00\r\n"
            "\"02/10/2026\";\"CB\r\nB\";-2,00\r\n"       # a quoted line break: the next row starts on line 5
            "31/02/2026;CB C;-3,00\r\n"
            "04/10/2026;CB D;-4,123\r\n")
    r = _import(uid, tok, body)
    assert_error(r, 422, "invalid_argument", "date")
    assert r.json["error"]["line"] == 5
    assert [(j["line"], j["field"]) for j in r.json["rejected"]] == [(5, "date"), (6, "amount")]
    assert _txns(uid, tok) == []
    assert get("/api/v1/datasets?name=transactions-import", token=tok).json["items"] == []
    fixed = body.replace("31/02/2026", "28/02/2026").replace("-4,123", "-4,12")
    r = _import(uid, tok, fixed)
    assert r.status == 201 and r.json["inserted"] == 4, r
    assert sorted(t["merchant"] for t in _txns(uid, tok)) == ["CB A", "CB B", "CB C", "CB D"]  # line break -> space
    uid, tok = new_user("Import bad 2")
    r = _import(uid, tok, "Date;Montant\n01/10/2026;-1,00;x\n")
    assert_error(r, 422, "invalid_argument")
    assert r.json["error"]["line"] == 2
    assert_error(_import(uid, tok, "libellé;montant\nX;-1\n"), 422, "invalid_argument")
    other, _ = new_user("Import other")
    assert_error(_import(other, tok, "date,amount\n2026-10-01,-1\n"), 403, "forbidden")
    assert_error(request("POST", "/api/v1/users/%d/transactions/import" % uid, body="date,amount\n", token=tok,
                         content_type="application/json"), 415, "unsupported_media_type")


def test_body_limit_is_64m_on_these_routes_only():
    uid, tok = new_user("Datasets body limit")
    line = "%d,%s\n"
    body = "n,text\n" + "".join(line % (i, "x" * 90) for i in range(25000))     # ~2.4 MB
    assert len(body) > 2 * 1024 * 1024
    r = upload("big", body, tok)
    assert r.status == 201 and r.json["rows"] == 25000, r
    imp = "date,amount,description\n" + "".join("2026-10-%02d,-1.%02d,%s %d\n" % (i % 28 + 1, i % 100, "y" * 400, i)
                                                 for i in range(5500))
    assert len(imp) > 2 * 1024 * 1024
    r = _import(uid, tok, imp)
    assert r.status == 201 and r.json["inserted"] == 5500, r
    # elsewhere the 1 MiB limit stands, whatever the content type
    assert_error(request("POST", "/api/v1/users/%d/sessions" % uid, body=body, token=tok, content_type="text/csv"),
                 413, "payload_too_large")
    assert_error(request("POST", "/api/v1/users/%d/transactions" % uid, body="[" + " " * (2 * 1024 * 1024) + "]",
                         token=tok, content_type="application/json"), 413, "payload_too_large")


def test_dashboard_pages_lineage_diff_and_pin():
    from test_90_admin import csrf_of, logged_in
    uid, tok = new_user("Datasets dashboard")
    table = [["k", "note"], ["1", "<script>alert(1)</script>"], ["2", "b & c"], ["2", "b & c"], ["3", ""]]
    did = upload("<b>dash</b>", canonical(table), tok).json["dataset_id"]
    assert transform(did, 1, [{"op": "dedupe"}], tok).status == 201
    assert transform(did, 2, [{"op": "filter", "column": "k", "cmp": "ge", "value": 2}], tok).status == 201
    anon = request("GET", "/admin/datasets")
    assert anon.status == 303 and anon.headers["location"] == "/admin/login"
    b = logged_in()
    page = b.req("GET", "/admin/datasets")
    assert page.status == 200 and 'href="/admin/datasets/%d"' % did in page.body
    assert "&lt;b&gt;dash&lt;/b&gt;" in page.body and "<b>dash</b>" not in page.body
    page = b.req("GET", "/admin/datasets/%d?v=3&against=1" % did)
    assert page.status == 200, page
    body = page.body
    assert "<script>alert" not in body
    assert 'id="only-against"' in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body   # a v1-only row
    assert 'id="lineage-1"' in body and "v1 → v3" not in body
    assert "v2 → v3" in body and "v1 → v2" in body and ">filter<" in body and ">dedupe<" in body
    # diff v3 against v1 over k, note: v3 = rows k >= 2 deduped -> (2, b & c), (3, "")
    counts = re.search(r"<strong>(\d+)</strong> rows only in v3, <strong>(\d+)</strong> only in v1", body)
    assert counts and counts.groups() == ("0", "2"), body[body.find("diff-counts") - 50:][:400]
    page1 = b.req("GET", "/admin/datasets/%d?v=1" % did).body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page1 and "<script>alert" not in page1
    assert "b &amp; c" in page1
    form = "/admin/datasets/%d/versions/1/pin" % did
    assert b.req("POST", form, {"action": "pin"}).status == 403
    assert b.req("POST", form, {"action": "pin", "csrf_token": "0" * 64}).status == 403
    r = b.req("POST", form, {"action": "pin", "csrf_token": csrf_of(page1)})
    assert r.status == 303, r
    assert get("/api/v1/datasets/%d/versions/1" % did, token=tok).json["pinned"] is True
    page1 = b.req("GET", r.headers["location"]).body
    assert "Unpin" in page1
    r = b.req("POST", form, {"action": "unpin", "csrf_token": csrf_of(page1)})
    assert r.status == 303 and get("/api/v1/datasets/%d/versions/1" % did, token=tok).json["pinned"] is False
    assert b.req("GET", "/admin/datasets/999999999").status == 404


def test_tallyctl_datasets_import_upload_and_retention():
    import json
    uid, tok = new_user("Datasets CLI")
    path = os.path.join(DATA, "bank_fr_debit_credit.csv")
    out = json.loads(ctl("datasets", "import", "--user", uid, path).stdout)
    assert out["inserted"] == 3 and out["duplicates"] == 0
    assert len(_txns(uid, tok)) == 3
    again = json.loads(ctl("datasets", "import", "--user", uid, path).stdout)
    assert again["inserted"] == 0 and again["duplicates"] == 3 and again["dataset_version"] == out["dataset_version"]
    up = json.loads(ctl("datasets", "upload", "--name", "cli", "--user", uid, os.path.join(DATA, "bank_en.csv")).stdout)
    assert up["version"] == 1 and up["rows"] == 6
    assert [d["name"] for d in get("/api/v1/datasets", token=tok).json["items"]] == ["transactions-import", "cli"]
    bad = ctl("datasets", "import", "--user", uid, os.path.join(DATA, "bank_en.csv"), "--delimiter", ";",
              check=False)
    assert bad.returncode == 1 and "no date column" in bad.stderr
    assert ctl("datasets", "frobnicate", check=False).returncode == 2
    assert int(ctl("datasets", "retention").stdout) >= 0


def test_tallyctl_datasets_upload_streams_a_large_file_identically():
    """A file larger than the CLI's progress step (8 MiB), with quoted
    cells holding delimiters, doubled quotes and newlines, CRLF lines and a
    BOM: tallyctl streams it through the same reader as the HTTP upload, so
    both store the same canonical table (same sha256, rows, columns), and it
    reports progress on stderr a few times, not per row."""
    import json
    import tempfile
    uid, tok = new_user("Datasets CLI stream")
    rows = 120000
    out = io.StringIO()
    out.write("\ufeffid,amount,note,day\r\n")
    for i in range(rows):
        amount = "" if i % 17 == 0 else "%d.%02d" % (i % 5000 - 2500, i % 100)
        note = '"line %d, with ""quotes""\nand a second line ' % i + "x" * (i % 23) + '"'
        out.write("%d,%s,%s,2026-%02d-%02d\r\n" % (i, amount, note, i % 12 + 1, i % 28 + 1))
    data = out.getvalue().encode()
    assert len(data) > 8 << 20
    with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as f:
        f.write(data)
        path = f.name
    try:
        p = ctl("datasets", "upload", "--name", "big-cli", "--user", uid, path)
    finally:
        os.unlink(path)
    cli = json.loads(p.stdout)
    progress = [ln for ln in p.stderr.splitlines() if "MiB read" in ln]
    assert 2 <= len(progress) <= 4, p.stderr
    assert progress[-1].endswith("done"), p.stderr
    http = upload("big-http", data, tok)
    assert http.status == 201, http
    assert cli["sha256"] == http.json["sha256"]
    assert cli["rows"] == http.json["rows"] == rows
    assert [c["name"] for c in cli["columns"]] == ["id", "amount", "note", "day"]
    assert [c["type"] for c in cli["columns"]] == [c["type"] for c in http.json["columns"]]
    # the digest of the canonical form, computed here from the file parsed independently
    expected = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(expected) == rows + 1 and expected[1][2].startswith("line 0, with \"quotes\"\nand")
    assert cli["sha256"] == sha(canonical(expected))
    page = get("/api/v1/datasets/%d/versions/1/rows?offset=60000&limit=3" % cli["dataset_id"], token=tok).json
    assert [r[2] for r in page["rows"]] == [expected[i][2] for i in (60001, 60002, 60003)]
    # a small file prints no progress
    small = ctl("datasets", "upload", "--name", "small-cli", "--user", uid, os.path.join(DATA, "bank_en.csv"))
    assert "MiB read" not in small.stderr


def _counters():
    r = get("/metrics")
    assert r.status == 200, r
    out = {}
    for line in r.body.splitlines():
        m = re.match(r'^(tally_(?:datasets|transactions_import)\w*)\{(\w+)="(\w+)"\} (\d+)$', line)
        if m:
            out[(m.group(1), m.group(3))] = int(m.group(4))
    return out


def test_metrics_count_uploads_transforms_and_imports():
    uid, tok = new_user("Datasets metrics")
    before = _counters()
    did = upload("m", "a\n1\n2\n", tok).json["dataset_id"]
    upload("m", "a\r\n1\r\n2\r\n", tok)
    upload("m", "a,b\n1\n", tok)
    preview_rows(did, 1, [{"op": "dedupe"}], tok)
    transform(did, 1, [{"op": "nope"}], tok)
    transform(did, 1, [{"op": "filter", "column": "a", "cmp": "gt", "value": 1}], tok, force=True)
    _import(uid, tok, "date,amount\n2026-10-01,-1\n2026-10-02,-2\n")
    _import(uid, tok, "date,amount\n2026-10-01,-1\n2026-10-03,-3\n")
    _import(uid, tok, "date,amount\n2026-10-01,zero\n")
    after = _counters()

    def delta(name, label):
        return after.get((name, label), 0) - before.get((name, label), 0)
    assert [delta("tally_datasets_uploads_total", k) for k in ("created", "existing", "rejected")] == [1, 1, 1]
    assert [delta("tally_datasets_transforms_total", k) for k in ("preview", "apply", "rejected")] == [1, 1, 1]
    assert [delta("tally_transactions_imports_total", k) for k in ("ok", "rejected")] == [2, 1]
    assert [delta("tally_transactions_import_rows_total", k) for k in ("inserted", "duplicate")] == [3, 1]
