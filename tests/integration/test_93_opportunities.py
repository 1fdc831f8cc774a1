"""Opportunities: CRUD, validation, the ownership matrix, every list filter
and sort with keyset pagination, scoring by the job queue (scores computed
here by an independent implementation of docs/opportunities.md's rules),
a preferences change rescoring each opportunity once, stats, cache-aside
freshness (after patch, delete and scoring; across a memcached restart and
a hang) and the business metrics on /metrics."""
import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
import unicodedata

from harness import (admin_token, assert_error, ctl, get, new_user, post, psql, request, stack, wait_for)
from test_15_metrics import scrape
from test_60_jobs import paused_supervised_runner

API = "/api/v1/opportunities"


def patch(path, body, **kw):
    return request("PATCH", path, body=body, **kw)


def delete(path, **kw):
    return request("DELETE", path, **kw)


def put(path, body, **kw):
    return request("PUT", path, body=body, **kw)


# ---- an independent scorer (docs/opportunities.md) --------------------------------

def words(s):
    s = unicodedata.normalize("NFKD", s or "")
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    s = s.replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    return re.findall(r"[a-z0-9+#\u0080-\uffff]+", s)


def has(text_words, phrase):
    p = words(phrase)
    n = len(p)
    return n > 0 and any(text_words[i:i + n] == p for i in range(len(text_words) - n + 1))


def seniority(title):
    """Learning's segment rules (app/learning/learning_segment.h), first tier
    with a match: strong senior, intern, junior, role words. The titles used
    here hit none of its exclusions."""
    t = re.findall(r"[a-z0-9]+", " ".join(words(title)))
    for seg, ws in (("senior", ["senior", "sr", "snr", "principal", "confirme", "confirmee", "experimente"]),
                    ("intern", ["intern", "internship", "trainee", "stagiaire", "stage", "alternant", "alternante",
                                "alternance", "apprenti", "apprentie", "apprentice"]),
                    ("junior", ["junior", "jr", "debutant", "debutante", "graduate", "entry level", "new grad"]),
                    ("senior", ["lead", "head", "chef", "staff", "expert", "experte"])):
        if any(has(t, w) for w in ws):
            return seg
    return "default"


def expected_score(prefs, o):
    title, company, message = words(o.get("title")), words(o.get("company")), words(o.get("message"))
    raw, kw = 40, 0
    for word, weight in (prefs.get("keywords") or {}).items():
        if has(title, word):
            kw += weight
        elif has(message, word):
            kw += weight // 2
    raw += min(kw, 40)
    for word in prefs.get("avoid") or []:
        if has(title, word) or has(company, word) or has(message, word):
            raw -= 30
    if prefs.get("seniority"):
        seg = seniority(o.get("title"))
        raw += 10 if seg == prefs["seniority"] else 0 if seg == "default" else -15
    if prefs.get("remote") is not None and o.get("remote") is not None:
        raw += 10 if o["remote"] == prefs["remote"] else -10
    if prefs.get("min_salary") is not None:
        lo, hi = o.get("salary_min"), o.get("salary_max")
        if (lo is not None or hi is not None) and o.get("currency", "EUR") == prefs.get("currency", "EUR"):
            bottom = lo if lo is not None else hi
            top = hi if hi is not None else lo
            raw += 10 if bottom >= prefs["min_salary"] else 5 if top >= prefs["min_salary"] else -20
    score = max(0, min(100, raw))
    return score, "A" if score >= 75 else "B" if score >= 50 else "C"


# ---- helpers -------------------------------------------------------------------------

def create(tok, body, status=201):
    r = post(API, body, token=tok)
    assert r.status == status, r
    return r.json


def one(tok, oid):
    r = get("%s/%d" % (API, oid), token=tok)
    assert r.status == 200, r
    return r.json


def jobs_idle():
    return psql("SELECT count(*) FROM jobs WHERE kind IN ('process_opportunity', 'score_opportunities')"
                " AND status IN ('queued', 'running', 'failed')") == [["0"]]


def wait_scored(tok, ids, timeout=30):
    def done():
        items = [one(tok, i) for i in ids]
        return items if all(o["scored_at"] is not None for o in items) and jobs_idle() else None
    return wait_for(done, timeout=timeout, what="opportunities scored")


def list_all(tok, query, limit):
    seen, cursor, pages = [], None, 0
    while True:
        q = query + ("&" if query else "") + "limit=%d" % limit + ("&cursor=" + cursor if cursor else "")
        r = get(API + "?" + q, token=tok)
        assert r.status == 200, r
        seen += r.json["items"]
        pages += 1
        cursor = r.json["next_cursor"]
        assert pages < 1000
        if cursor is None:
            return seen


def ns_counters():
    j = get("/api/v1/admin/cache/stats", token=admin_token()).json
    return {n["namespace"]: n["since_start"] for n in j["namespaces"]}["opportunities"]


def scored_total():
    s, _ = scrape()
    return sum(s.get('tally_opportunities_scored_total{tier="%s"}' % t, 0) for t in "ABC")


# ---- CRUD ------------------------------------------------------------------------------

def test_crud_roundtrip_and_defaults():
    uid, tok = new_user("Opp CRUD")
    body = {"title": "Développeur Rust senior", "company": "Acme", "recruiter": "Zoé Martin",
            "recruiter_email": "zoe.martin@acme.example.com", "source": "linkedin",
            "message": "Bonjour,\nposte à Lyon.\tRust & PostgreSQL.", "location": "Lyon", "remote": False,
            "salary_min": 55000, "salary_max": 70000, "currency": "EUR", "tags": ["rust", "lyon"]}
    o = create(tok, body)
    for k, v in body.items():
        assert o[k] == v, (k, o[k], v)
    assert o["status"] == "new" and o["user_id"] == uid
    assert isinstance(o["id"], int) and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", o["created_at"])
    got = one(tok, o["id"])
    for k in body:
        assert got[k] == body[k]
    # minimal body: defaults
    m = create(tok, {"title": "Data engineer"})
    assert (m["source"], m["currency"], m["status"], m["tags"]) == ("manual", "EUR", "new", [])
    for k in ("company", "recruiter", "recruiter_email", "message", "location", "remote", "salary_min", "salary_max"):
        assert m[k] is None, k
    # patch: only the given fields change; null clears a nullable field
    p = patch("%s/%d" % (API, o["id"]), {"status": "contacted", "company": None, "tags": []}, token=tok)
    assert p.status == 200, p
    assert p.json["status"] == "contacted" and p.json["company"] is None and p.json["tags"] == []
    assert p.json["title"] == body["title"] and p.json["salary_min"] == 55000
    assert one(tok, o["id"])["status"] == "contacted"
    # delete
    r = delete("%s/%d" % (API, o["id"]), token=tok)
    assert r.status == 204 and r.body == "", r
    assert_error(get("%s/%d" % (API, o["id"]), token=tok), 404, "not_found")
    assert_error(delete("%s/%d" % (API, o["id"]), token=tok), 404, "not_found")
    assert_error(patch("%s/%d" % (API, o["id"]), {"status": "new"}, token=tok), 404, "not_found")
    assert_error(get(API + "/abc", token=tok), 400, "invalid_argument", "opportunity_id")


def test_validation_errors():
    uid, tok = new_user("Opp validation")
    long_msg_ok = "é" * 20000                       # 20000 characters, 40000 bytes
    ok = create(tok, {"title": "t" * 200, "message": long_msg_ok, "company": "c" * 200})
    assert len(ok["message"]) == 20000
    cases = [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "ok", "company": " "}, "company"),
        ({"title": None}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "bad\u0001title"}, "title"),
        ({"title": "two\nlines"}, "title"),
        ({"title": 12}, "title"),
        ({"title": "ok", "company": "c" * 201}, "company"),
        ({"title": "ok", "message": "m" * 20001}, "message"),
        ({"title": "ok", "source": "fax"}, "source"),
        ({"title": "ok", "source": None}, "source"),
        ({"title": "ok", "status": "won"}, "status"),
        ({"title": "ok", "remote": "yes"}, "remote"),
        ({"title": "ok", "salary_min": -1}, "salary_min"),
        ({"title": "ok", "salary_min": 1.5}, "salary_min"),
        ({"title": "ok", "salary_max": "50000"}, "salary_max"),
        ({"title": "ok", "salary_max": 1000000001}, "salary_max"),
        ({"title": "ok", "salary_min": 70000, "salary_max": 60000}, "salary_min"),
        ({"title": "ok", "currency": "eur"}, "currency"),
        ({"title": "ok", "currency": "EURO"}, "currency"),
        ({"title": "ok", "recruiter_email": "not an email"}, "recruiter_email"),
        ({"title": "ok", "recruiter_email": "a@b"}, "recruiter_email"),
        ({"title": "ok", "recruiter_email": "a@b.c"}, "recruiter_email"),
        ({"title": "ok", "recruiter_email": "a..b@example.com"}, "recruiter_email"),
        ({"title": "ok", "recruiter_email": "a@-x.example.com"}, "recruiter_email"),
        ({"title": "ok", "recruiter_email": "a b@example.com"}, "recruiter_email"),
        ({"title": "ok", "tags": "rust"}, "tags"),
        ({"title": "ok", "tags": ["t%d" % i for i in range(21)]}, "tags"),
        ({"title": "ok", "tags": ["x" * 41]}, "tags"),
        ({"title": "ok", "tags": [""]}, "tags"),
        ({"title": "ok", "tags": [3]}, "tags"),
        ({"title": "ok", "score": 90}, "score"),
        ({"title": "ok", "tier": "A"}, "tier"),
        ({"title": "ok", "id": 5}, "id"),
        ({"title": "ok", "user_id": "me"}, "user_id"),
    ]
    before = psql("SELECT count(*) FROM opportunities WHERE user_id = %d" % uid)
    for body, field in cases:
        assert_error(post(API, body, token=tok), 422, "invalid_argument", field)
    r = post(API, {"title": "ok", "nope": 1}, token=tok)
    assert_error(r, 422, "invalid_argument")
    assert "nope" in r.json["error"]["message"]
    assert psql("SELECT count(*) FROM opportunities WHERE user_id = %d" % uid) == before   # nothing half-written
    good = create(tok, {"title": "ok", "recruiter_email": "first.last+jobs@sub.example.fr"})
    assert good["recruiter_email"] == "first.last+jobs@sub.example.fr"
    assert_error(post(API, "not json", token=tok, content_type="application/json"), 400, "invalid_argument")
    assert_error(post(API, [1, 2], token=tok), 400, "invalid_argument", "body")
    assert_error(post(API, '{"title": "x"}', token=tok, content_type="text/plain"), 415, "unsupported_media_type")
    # patch: the whole row must stay valid
    o = create(tok, {"title": "Range", "salary_min": 50000, "salary_max": 60000})
    path = "%s/%d" % (API, o["id"])
    assert_error(patch(path, {"salary_max": 40000}, token=tok), 422, "invalid_argument", "salary_min")
    assert_error(patch(path, {"title": None}, token=tok), 422, "invalid_argument", "title")
    assert_error(patch(path, {"score": 100}, token=tok), 422, "invalid_argument", "score")
    assert_error(patch(path, {"user_id": uid}, token=tok), 422, "invalid_argument", "user_id")
    assert_error(patch(path, {"status": "maybe"}, token=tok), 422, "invalid_argument", "status")
    assert one(tok, o["id"])["salary_max"] == 60000
    assert patch(path, {"salary_min": None, "salary_max": 40000}, token=tok).json["salary_max"] == 40000


def test_ownership_matrix():
    a, ta = new_user("Opp owner A")
    b, tb = new_user("Opp owner B")
    admin = admin_token()
    oa = create(ta, {"title": "A's job"})
    ob = create(tb, {"title": "B's job"})
    pa = "%s/%d" % (API, oa["id"])
    # another user's opportunity does not exist for B
    assert_error(get(pa, token=tb), 404, "not_found")
    assert_error(patch(pa, {"status": "archived"}, token=tb), 404, "not_found")
    assert_error(delete(pa, token=tb), 404, "not_found")
    assert one(ta, oa["id"])["status"] == "new"
    ids_b = [o["id"] for o in list_all(tb, "", 50)]
    assert ob["id"] in ids_b and oa["id"] not in ids_b
    assert_error(get(API + "?user_id=%d" % a, token=tb), 403, "forbidden")
    assert_error(get(API + "/stats?user_id=%d" % a, token=tb), 403, "forbidden")
    assert get(API + "?user_id=%d" % b, token=tb).status == 200
    # a user cannot create for someone else
    assert_error(post(API, {"title": "x", "user_id": a}, token=tb), 403, "forbidden", "user_id")
    # no token, bad token
    assert_error(get(pa), 401, "unauthenticated")
    assert_error(get(API, token="nope"), 401, "unauthenticated")
    # admin: everything, ?user_id= filter, creates for a given user
    assert get(pa, token=admin).json["user_id"] == a
    ids_admin_a = [o["id"] for o in list_all(admin, "user_id=%d" % a, 100)]
    assert oa["id"] in ids_admin_a and ob["id"] not in ids_admin_a
    assert all(o["user_id"] == a for o in list_all(admin, "user_id=%d" % a, 100))
    assert_error(post(API, {"title": "x"}, token=admin), 422, "invalid_argument", "user_id")
    assert_error(post(API, {"title": "x", "user_id": 999999999}, token=admin), 422, "invalid_argument", "user_id")
    made = create(admin, {"title": "For B", "user_id": b})
    assert made["user_id"] == b and one(tb, made["id"])["title"] == "For B"
    assert patch("%s/%d" % (API, made["id"]), {"status": "offer"}, token=admin).json["status"] == "offer"
    assert delete("%s/%d" % (API, made["id"]), token=admin).status == 204
    assert_error(get("%s/%d" % (API, made["id"]), token=tb), 404, "not_found")
    assert_error(put(API + "/preferences", {}, token=admin), 400, "invalid_argument", "user_id")
    assert put(API + "/preferences?user_id=%d" % a, {"avoid": ["cobol"]}, token=admin).status == 200
    assert get(API + "/preferences", token=ta).json["avoid"] == ["cobol"]


# ---- scoring -----------------------------------------------------------------------------

PREFS = {"keywords": {"rust": 15, "postgresql": 10, "kafka": 20, "machine learning": 12}, "avoid": ["php"],
         "seniority": "senior", "remote": True, "min_salary": 60000, "currency": "EUR"}

OPPS = [
    {"title": "Senior Rust Engineer", "message": "PostgreSQL, fully remote", "remote": True,
     "salary_min": 70000, "salary_max": 90000},
    {"title": "Junior PHP developer", "message": "Some Rust later", "remote": False, "salary_max": 35000},
    {"title": "Staff Kafka + Rust engineer", "company": "Streamly", "remote": True, "salary_min": 50000,
     "salary_max": 65000, "status": "contacted"},
    {"title": "Data scientist", "message": "Machine-learning and postgresql", "remote": None},
    {"title": "Lead engineer (Rust)", "message": "php legacy", "remote": True, "currency": "USD", "salary_min": 90000},
    {"title": "Stagiaire Rust", "message": "stage de 6 mois", "remote": False},
    {"title": "Développeur Kafka confirmé", "message": "Kafka, Rust, PostgreSQL", "remote": True,
     "salary_min": 60000, "status": "interviewing"},
    {"title": "Backend developer", "company": "PHP Shop", "message": None},
    {"title": "Principal engineer", "message": "rust rust rust kafka", "salary_max": 59999},
    {"title": "Senior Rust + Kafka + PostgreSQL lead", "message": "machine learning", "remote": True,
     "salary_min": 80000, "status": "offer"},
    {"title": "Rust engineer 100% remote", "message": "50% off % _ literally", "remote": True},
    {"title": "Entry level analyst", "remote": False, "status": "rejected"},
]


def test_create_job_score_visible_and_preferences_rescore_each_once():
    uid, tok = new_user("Opp scoring")
    r = put(API + "/preferences", PREFS, token=tok)
    assert r.status == 200, r
    assert r.json == PREFS
    assert get(API + "/preferences", token=tok).json == PREFS
    made = [create(tok, o) for o in OPPS]
    assert all(m["score"] is None and m["tier"] is None for m in made)
    scored = wait_scored(tok, [m["id"] for m in made])
    for o, got in zip(OPPS, scored):
        want = expected_score(PREFS, o)
        assert (got["score"], got["tier"]) == want, (o["title"], got["score_details"], want)
        d = got["score_details"]
        assert sum(rule["points"] for rule in d["rules"]) == d["raw"] and d["score"] == got["score"]
        assert d["rules"][0] == {"rule": "base", "points": 40, "detail": "starting score"}
    # each create queued exactly one job, run once
    n = psql("SELECT count(*), count(DISTINCT r.job_id) FROM jobs j JOIN job_runs r ON r.job_id = j.id"
             " WHERE j.kind = 'process_opportunity' AND (j.payload->>'opportunity_id')::bigint IN (%s)"
             % ",".join(str(m["id"]) for m in made))
    assert n == [[str(len(OPPS)), str(len(OPPS))]], n

    # a preferences change: one score_opportunities job rescores each opportunity once
    before_total = scored_total()
    before_at = {o["id"]: o["scored_at"] for o in scored}
    prefs2 = {"keywords": {"kafka": 35}, "avoid": [], "seniority": None, "remote": None, "min_salary": None,
              "currency": "EUR"}
    time.sleep(1.1)                               # scored_at has a 1 s resolution: let it move
    assert put(API + "/preferences", prefs2, token=tok).status == 200
    def rescored():
        items = [one(tok, m["id"]) for m in made]
        return items if all(o["scored_at"] != before_at[o["id"]] for o in items) and jobs_idle() else None
    again = wait_for(rescored, timeout=30, what="rescored")
    for o, got in zip(OPPS, again):
        assert (got["score"], got["tier"]) == expected_score(prefs2, o), o["title"]
    assert scored_total() - before_total == len(OPPS)
    jobs = psql("SELECT j.status, count(r.id) FROM jobs j JOIN job_runs r ON r.job_id = j.id"
                " WHERE j.kind = 'score_opportunities' AND (j.payload->>'user_id')::bigint = %d"
                " GROUP BY j.id ORDER BY j.id" % uid)
    assert jobs == [["succeeded", "1"], ["succeeded", "1"]], jobs      # one job per PUT, each run once


def test_patch_of_a_scored_field_requeues_and_others_do_not():
    uid, tok = new_user("Opp rescore patch")
    put(API + "/preferences", {"keywords": {"go": 30}}, token=tok)
    o = create(tok, {"title": "Python developer"})
    first = wait_scored(tok, [o["id"]])[0]
    assert first["score"] == 40
    path = "%s/%d" % (API, o["id"])
    count = lambda: int(psql("SELECT count(*) FROM jobs WHERE kind = 'process_opportunity'"
                             " AND (payload->>'opportunity_id')::bigint = %d" % o["id"])[0][0])
    assert count() == 1
    patch(path, {"status": "contacted", "tags": ["x"], "recruiter": "Bob", "location": "Paris"}, token=tok)
    assert count() == 1                            # not scored fields
    patch(path, {"title": "Python developer"}, token=tok)
    assert count() == 1                            # same value: no change
    patch(path, {"title": "Go developer"}, token=tok)
    assert count() == 2
    wait_for(lambda: one(tok, o["id"])["score"] == 70 and jobs_idle(), timeout=30, what="rescored after patch")


def test_job_of_a_deleted_opportunity_does_nothing_and_scoring_is_idempotent():
    uid, tok = new_user("Opp stale job")
    put(API + "/preferences", {"keywords": {"rust": 20}}, token=tok)
    with paused_supervised_runner():
        o = create(tok, {"title": "Rust dev"})
        gone = create(tok, {"title": "Rust gone"})
        assert delete("%s/%d" % (API, gone["id"]), token=tok).status == 204
        patch("%s/%d" % (API, o["id"]), {"title": "Rust dev, remote"}, token=tok)
        assert ctl("worker", "--drain").returncode == 0
    got = one(tok, o["id"])
    assert got["score"] == 60 and got["title"] == "Rust dev, remote"
    st = psql("SELECT status FROM jobs WHERE kind = 'process_opportunity' AND"
              " (payload->>'opportunity_id')::bigint IN (%d, %d) ORDER BY id" % (o["id"], gone["id"]))
    assert st == [["succeeded"], ["succeeded"], ["succeeded"]], st
    # running the job again gives the same answer
    before = got["score_details"]
    r = post("/api/v1/admin/jobs", {"kind": "process_opportunity", "payload": {"opportunity_id": o["id"]}},
             token=admin_token())
    assert r.status == 201, r
    wait_for(lambda: psql("SELECT status FROM jobs WHERE id = %d" % r.json["id"]) == [["succeeded"]], what="job")
    again = one(tok, o["id"])
    assert again["score"] == 60 and again["score_details"] == before


# ---- list --------------------------------------------------------------------------------

def test_list_filters_sorts_and_pagination():
    uid, tok = new_user("Opp list")
    put(API + "/preferences", PREFS, token=tok)
    made = [create(tok, o) for o in OPPS]
    rows = wait_scored(tok, [m["id"] for m in made])
    for o, r in zip(OPPS, rows):
        r["_want"] = expected_score(PREFS, o)
    by_id = {r["id"]: r for r in rows}
    ids = set(by_id)
    # sorts, each through pages of 5 (and of 1): every row once, in order
    for limit in (5, 1, 500):
        created = list_all(tok, "sort=created", limit)
        assert [o["id"] for o in created] == sorted(ids), limit        # created in id order here
        newest = list_all(tok, "", limit)
        assert [o["id"] for o in newest] == sorted(ids, reverse=True)
        for sort, rev in (("score", False), ("-score", True)):
            got = list_all(tok, "sort=" + sort, limit)
            want = sorted(rows, key=lambda r: (r["_want"][0], r["id"]), reverse=rev)
            assert [o["id"] for o in got] == [r["id"] for r in want], (sort, limit)
    # filters, each against a filter computed here
    for tier in "ABC":
        got = {o["id"] for o in list_all(tok, "tier=" + tier, 3)}
        assert got == {i for i, r in by_id.items() if r["_want"][1] == tier}, tier
    for status in ("new", "contacted", "interviewing", "offer", "rejected", "archived"):
        got = {o["id"] for o in list_all(tok, "status=" + status, 4)}
        assert got == {m["id"] for m, o in zip(made, OPPS) if o.get("status", "new") == status}, status
    for ms in (0, 45, 50, 75, 100):
        got = [o["id"] for o in list_all(tok, "min_score=%d&sort=-score" % ms, 2)]
        assert set(got) == {i for i, r in by_id.items() if r["_want"][0] >= ms}, ms
    combo = {o["id"] for o in list_all(tok, "tier=B&status=new&min_score=55", 2)}
    assert combo == {i for i, r in by_id.items() if r["_want"][1] == "B" and r["_want"][0] >= 55
                     and r["status"] == "new"}
    # q: case-insensitive substring of title, company or message; % and _ are literal
    def q_ids(q):
        return {o["id"] for o in list_all(tok, "q=" + q, 3)}
    def q_want(s):
        return {m["id"] for m, o in zip(made, OPPS)
                if any(s.lower() in (o.get(f) or "").lower() for f in ("title", "company", "message"))}
    for q, raw in (("rust", "rust"), ("KAFKA", "kafka"), ("streamly", "streamly"), ("php", "php"),
                   ("50%25%20off", "50% off"), ("100%25", "100%"), ("%25", "%"), ("_", "_"), ("zzz", "zzz")):
        assert q_ids(q) == q_want(raw), q
    assert q_ids("rust&sort=-score&tier=A") == {i for i in q_want("rust") if by_id[i]["_want"][1] == "A"}
    # bad parameters
    assert_error(get(API + "?sort=title", token=tok), 400, "invalid_argument", "sort")
    assert_error(get(API + "?tier=D", token=tok), 400, "invalid_argument", "tier")
    assert_error(get(API + "?status=won", token=tok), 400, "invalid_argument", "status")
    assert_error(get(API + "?min_score=101", token=tok), 400, "invalid_argument", "min_score")
    assert_error(get(API + "?min_score=x", token=tok), 400, "invalid_argument", "min_score")
    assert_error(get(API + "?limit=0", token=tok), 400, "invalid_argument", "limit")
    assert_error(get(API + "?limit=501", token=tok), 400, "invalid_argument", "limit")
    assert_error(get(API + "?cursor=garbage", token=tok), 400, "invalid_argument", "cursor")
    c = get(API + "?sort=score&limit=2", token=tok).json["next_cursor"]
    assert_error(get(API + "?sort=created&cursor=" + c, token=tok), 400, "invalid_argument", "cursor")


def test_pagination_visits_each_row_once_while_rows_are_added():
    uid, tok = new_user("Opp pages")
    ids = [create(tok, {"title": "Job %d" % i})["id"] for i in range(23)]
    seen, cursor = [], None
    for page in range(30):
        r = get(API + "?sort=created&limit=4" + ("&cursor=" + cursor if cursor else ""), token=tok).json
        seen += [o["id"] for o in r["items"]]
        if page == 2:
            ids.append(create(tok, {"title": "late"})["id"])      # sorts after every seen row
        cursor = r["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


# ---- stats ---------------------------------------------------------------------------------

def test_stats_by_tier_status_histogram():
    uid, tok = new_user("Opp stats")
    put(API + "/preferences", PREFS, token=tok)
    made = [create(tok, o) for o in OPPS]
    wait_scored(tok, [m["id"] for m in made])
    with paused_supervised_runner():
        extra = create(tok, {"title": "not scored yet"})
        s = get(API + "/stats", token=tok).json
    wants = [expected_score(PREFS, o) for o in OPPS]
    assert s["total"] == len(OPPS) + 1
    assert s["by_tier"] == {"A": sum(w[1] == "A" for w in wants), "B": sum(w[1] == "B" for w in wants),
                            "C": sum(w[1] == "C" for w in wants), "unscored": 1}
    statuses = [o.get("status", "new") for o in OPPS] + ["new"]
    assert s["by_status"] == {k: statuses.count(k) for k in
                              ("new", "contacted", "interviewing", "offer", "rejected", "archived")}
    hist = [{"from": b * 10, "to": b * 10 + 10, "count": sum(1 for w in wants if min(w[0] // 10, 9) == b)}
            for b in range(10)]
    assert s["score_histogram"] == hist
    wait_scored(tok, [extra["id"]])
    admin_all = get(API + "/stats", token=admin_token()).json
    assert admin_all["total"] >= s["total"]
    assert get(API + "/stats?user_id=%d" % uid, token=admin_token()).json["total"] == len(OPPS) + 1


# ---- cache ---------------------------------------------------------------------------------

def test_second_read_from_cache_and_fresh_after_patch_delete_create():
    uid, tok = new_user("Opp cache")
    o = create(tok, {"title": "Cached"})
    path = "%s/%d" % (API, o["id"])
    wait_scored(tok, [o["id"]])
    one(tok, o["id"])
    before = ns_counters()
    for _ in range(5):
        assert one(tok, o["id"])["title"] == "Cached"
    after = ns_counters()
    assert after["hits"] - before["hits"] >= 5            # token + entry per read, all hits
    assert after["misses"] == before["misses"]
    for i in range(3):                                     # each write is seen by every worker at once
        assert patch(path, {"location": "City %d" % i}, token=tok).status == 200
        for _ in range(12):
            assert one(tok, o["id"])["location"] == "City %d" % i
    s1 = get(API + "/stats", token=tok).json
    assert get(API + "/stats", token=tok).json == s1
    create(tok, {"title": "Second"})
    for _ in range(8):
        assert get(API + "/stats", token=tok).json["total"] == s1["total"] + 1
    assert delete(path, token=tok).status == 204
    for _ in range(12):
        assert get(path, token=tok).status == 404
        assert get(API + "/stats", token=tok).json["total"] == s1["total"]


def test_fresh_after_scoring():
    uid, tok = new_user("Opp cache scoring")
    put(API + "/preferences", {"keywords": {"rust": 30}}, token=tok)
    with paused_supervised_runner():
        o = create(tok, {"title": "Rust engineer"})
        for _ in range(6):
            assert one(tok, o["id"])["score"] is None           # now cached unscored
        s = get(API + "/stats", token=tok).json
        assert s["by_tier"]["unscored"] == 1
        assert ctl("worker", "--drain").returncode == 0
        for _ in range(12):
            got = one(tok, o["id"])
            assert got["score"] == 70 and got["tier"] == "B", got
            assert get(API + "/stats", token=tok).json["by_tier"] == {"A": 0, "B": 1, "C": 0, "unscored": 0}


def test_fresh_across_memcached_restart_and_while_it_hangs():
    uid, tok = new_user("Opp cache mc")
    o = create(tok, {"title": "Sturdy"})
    path = "%s/%d" % (API, o["id"])
    wait_scored(tok, [o["id"]])
    for _ in range(4):
        one(tok, o["id"])
    # restart: the entries are gone, answers come from PostgreSQL, then the cache again
    stack("stop", "memcached")
    try:
        assert patch(path, {"location": "Down"}, token=tok).status == 200
        for _ in range(6):
            assert one(tok, o["id"])["location"] == "Down"
    finally:
        stack("start", "memcached")
    for _ in range(12):
        assert one(tok, o["id"])["location"] == "Down"
    wait_for(lambda: all(one(tok, o["id"])["location"] == "Down" for _ in range(4)) and
             ns_counters()["hits"] > 0, timeout=10, what="cache used again")
    # hang: memcached keeps its (now old) entries but answers nothing; one
    # write per hang, so each kind of write is shown to invalidate on its own
    mc = int(stack("pid", "memcached"))

    def all_from_cache():
        """8 reads of the opportunity and of the stats, every one a hit (2
        keys each) on whichever worker answered: the old values are cached."""
        before = ns_counters()
        for _ in range(8):
            one(tok, o["id"])
            get(API + "/stats", token=tok)
        after = ns_counters()
        return after["hits"] - before["hits"] >= 32 and after["errors"] == before["errors"] \
            and after["misses"] == before["misses"]

    @contextlib.contextmanager
    def hung():
        wait_for(all_from_cache, timeout=15, what="every worker reading from the cache")
        os.kill(mc, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(mc, signal.SIGCONT)
        time.sleep(1.2)   # clients retry the server after their 1 s back-off

    # (no read inside the hang: a read's own token set, queued in the socket,
    # would invalidate on its own when memcached resumes)
    with hung():
        assert patch(path, {"location": "Hung"}, token=tok).status == 200
    for _ in range(12):
        assert one(tok, o["id"])["location"] == "Hung"
    with hung():
        assert post(API, {"title": "made while hung"}, token=tok).status == 201
    for _ in range(12):
        assert get(API + "/stats", token=tok).json["total"] == 2
    with hung():
        assert delete(path, token=tok).status == 204
    for _ in range(12):
        assert get(path, token=tok).status == 404
        assert get(API + "/stats", token=tok).json["total"] == 1


# ---- metrics -------------------------------------------------------------------------------

def test_business_metrics_and_promtool():
    uid, tok = new_user("Opp metrics")
    put(API + "/preferences", {"keywords": {"rust": 35}}, token=tok)
    # the preferences' job (and any job of an earlier test) done before counting
    wait_for(jobs_idle, timeout=30, what="no opportunity job in flight")
    s0, _ = scrape()
    made = [create(tok, {"title": "Rust", "source": "linkedin"}), create(tok, {"title": "Rust", "source": "email"}),
            create(tok, {"title": "Other", "source": "email"})]
    wait_scored(tok, [m["id"] for m in made])
    s1, body = scrape()
    d = lambda k: s1.get(k, 0) - s0.get(k, 0)
    assert d('tally_opportunities_created_total{source="linkedin"}') == 1
    assert d('tally_opportunities_created_total{source="email"}') == 2
    assert d('tally_opportunities_created_total{source="manual"}') == 0
    assert d('tally_opportunities_scored_total{tier="A"}') == 2        # 75
    assert d('tally_opportunities_scored_total{tier="C"}') == 1        # 40
    assert d("tally_opportunity_score_count") == 3 and d("tally_opportunity_score_sum") == 75 + 75 + 40
    assert d('tally_opportunity_score_bucket{le="40"}') == 1 and d('tally_opportunity_score_bucket{le="70"}') == 1
    assert d('tally_opportunity_score_bucket{le="80"}') == 3
    assert "# TYPE tally_opportunity_score histogram" in body
    if shutil.which("promtool") is None:
        return
    p = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_preferences_validation():
    uid, tok = new_user("Opp prefs")
    assert get(API + "/preferences", token=tok).json == {"keywords": {}, "avoid": [], "seniority": None,
                                                         "remote": None, "min_salary": None, "currency": "EUR"}
    cases = [({"keywords": []}, "keywords"), ({"keywords": {"rust": 0}}, "keywords"),
             ({"keywords": {"rust": 51}}, "keywords"), ({"keywords": {"rust": 1.5}}, "keywords"),
             ({"keywords": {"!!!": 5}}, "keywords"), ({"keywords": {"w%d" % i: 1 for i in range(51)}}, "keywords"),
             ({"avoid": "php"}, "avoid"), ({"avoid": [""]}, "avoid"), ({"avoid": ["x" * 65]}, "avoid"),
             ({"seniority": "mid"}, "seniority"), ({"remote": 1}, "remote"), ({"min_salary": -5}, "min_salary"),
             ({"currency": "euro"}, "currency")]
    for body, field in cases:
        assert_error(put(API + "/preferences", body, token=tok), 422, "invalid_argument", field)
    r = put(API + "/preferences", {"colour": "red"}, token=tok)
    assert_error(r, 422, "invalid_argument")
    assert "colour" in r.json["error"]["message"]
    assert get(API + "/preferences", token=tok).json["keywords"] == {}     # nothing stored


# ---- dashboard -----------------------------------------------------------------------------

def test_dashboard_pages():
    import html as html_mod
    from test_90_admin import logged_in
    uid, tok = new_user("Opp dashboard")
    put(API + "/preferences", {"keywords": {"rust": 35}}, token=tok)
    a = create(tok, {"title": "Rust <b>lead</b> & co", "company": "Ac\"me"})
    c = create(tok, {"title": "Plain job"})
    wait_scored(tok, [a["id"], c["id"]])
    assert get("/admin/opportunities").status == 303
    assert get("/admin/opportunities/%d" % a["id"]).status == 303
    b = logged_in()
    page = b.req("GET", "/admin/opportunities")
    assert page.status == 200, page
    assert "Rust &lt;b&gt;lead&lt;/b&gt; &amp; co" in page.body and "<b>lead" not in page.body
    stats = get(API + "/stats", token=admin_token()).json
    for t in ("A", "B", "C", "unscored"):
        assert '<tr id="tier-%s"><td>%s</td><td>%d</td></tr>' % (t, t, stats["by_tier"][t]) in page.body, t
    assert 'id="chart-data"' in page.body and '"opp_hist"' in page.body
    only_a = b.req("GET", "/admin/opportunities?tier=A")
    rows = re.findall(r'<tr id="opp-(\d+)">(.*?)</tr>', only_a.body)
    assert rows and all("<td>A</td>" in r for _, r in rows)
    assert str(a["id"]) in [i for i, _ in rows] and str(c["id"]) not in [i for i, _ in rows]
    bad = b.req("GET", "/admin/opportunities?tier=Z")
    assert bad.status == 200 and 'role="alert"' in bad.body
    one_page = b.req("GET", "/admin/opportunities/%d" % a["id"])
    assert one_page.status == 200
    assert "&quot;" in one_page.body or "&#34;" in one_page.body
    assert "<td>keyword</td><td>+35</td>" in one_page.body and "75 (tier A)" in one_page.body
    assert b.req("GET", "/admin/opportunities/999999999").status == 404
