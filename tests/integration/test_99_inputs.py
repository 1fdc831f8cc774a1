"""Inputs real users and operators send, against the router, the transaction
filters, the opportunities list and health: special characters in q, money
spellings, broken cursors and limits, path oddities. Expected values are
computed here from the rows this file inserts."""
import http.client
import unicodedata
import urllib.parse
from decimal import Decimal, ROUND_HALF_UP

import harness
from harness import assert_error, check_response, conf_value, get, new_user, post, request, wait_for

ROWS = [  # external_id, date, amount, merchant, category, description
    ("p1", "2026-01-05", "-12.00", "Shop 100%", "Divers", "remise 50% été"),
    ("p2", "2026-01-06", "-12.50", "Under_Score", "Divers", "ref A_B"),
    ("p3", "2026-01-07", "-11.99", "Back\\Slash", "Divers", "path C:\\tmp"),
    ("p4", "2026-01-08", "-30.00", "O'Reilly", "Livres", 'book "quoted"'),
    ("p5", "2026-01-09", "-8.00", "Pizzeria", "Restaurant", "pizza 🍕 night"),
    ("p6", "2026-01-10", "-4.20", "Boulangerie", "Alimentation", "Menu café croissant"),
    ("p7", "2026-01-11", "100.00", "Employer", "Salaire", "virement"),
    ("p8", "2026-01-12", "-1250.00", "Shop plain", "Divers", "PRÉLÈVEMENT\u00a0SEPA  Œuvre"),
    ("p9", "2026-01-12", "-7.00", "Kiosque", "Presse", None),
]


def fold(s):
    """text_fold as documented: lower case, accents removed, œ -> oe, spaces collapsed."""
    s = (s or "").replace("œ", "oe").replace("Œ", "oe")
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    return " ".join(s.lower().split())


def cents(amount):
    return int(Decimal(amount) * 100)


def money(c):
    return float((Decimal(c) / 100).quantize(Decimal("0.01")))


def aggregates(rows):
    total = sum(cents(r[2]) for r in rows)
    avg = (Decimal(total) / len(rows)).quantize(Decimal("1"), rounding=ROUND_HALF_UP) if rows else 0
    return {"count": len(rows),
            "total_spent": money(sum(-cents(r[2]) for r in rows if cents(r[2]) < 0)),
            "total_income": money(sum(cents(r[2]) for r in rows if cents(r[2]) > 0)),
            "average": money(int(avg))}


def q_matches(row, q):
    """openapi: q is a case- and accent-insensitive substring of merchant, category or description."""
    q = fold(q)
    return q in fold(row[3]) or q in fold(row[4]) or q in fold(row[5])


def get_as(path, canonical, token):
    """GET of a spelling of canonical (percent-encoded, double slash), its
    answer checked against openapi.yaml as canonical's."""
    conn = http.client.HTTPConnection(harness.HOST, harness.PORT, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": "Bearer " + token})
        r = conn.getresponse()
        resp = harness.Response(r.status, r.getheaders(), r.read().decode("utf-8", "replace"))
    finally:
        conn.close()
    return check_response("GET", canonical, resp)


_state = {}


def setup():
    if not _state:
        uid, tok = new_user("Inputs User")
        items = [{"external_id": e, "date": d, "amount": a, "currency": "EUR", "merchant": m, "category": c,
                  "description": ds} for e, d, a, m, c, ds in ROWS]
        r = post("/api/v1/users/%d/transactions" % uid, items, token=tok)
        assert r.status == 201 and r.json["inserted"] == len(ROWS), r
        _state.update(uid=uid, tok=tok)
    return _state["uid"], _state["tok"]


def txns(query):
    uid, tok = setup()
    return get("/api/v1/users/%d/transactions?%s" % (uid, query), token=tok)


def order(rows):
    """The list's order: date desc, then insertion (id) desc."""
    idx = {r[0]: i for i, r in enumerate(ROWS)}
    return [r[0] for r in sorted(rows, key=lambda r: (r[1], idx[r[0]]), reverse=True)]


def test_q_special_characters_are_literal():
    for q in ["%", "_", "\\", "O'Reilly", '"quoted"', "🍕", "100%", "A_B", "C:\\tmp"]:
        r = txns("q=" + urllib.parse.quote(q))
        assert r.status == 200, (q, r)
        want = [row for row in ROWS if q_matches(row, q)]
        assert want, q                      # each probe matches something here
        assert [it["external_id"] for it in r.json["items"]] == order(want), q
        assert r.json["aggregates"] == aggregates(want), q


def test_q_in_description_ignores_accents_and_case():
    # only the description holds these words (not the merchant or category)
    for q in ["café", "CAFÉ", "cafe", "été", "prélèvement", "PRELEVEMENT", "prelevement sepa", "oeuvre", "ŒUVRE"]:
        want = [row for row in ROWS if q_matches(row, q)]
        assert len(want) == 1 and fold(q) not in fold(want[0][3] + " " + want[0][4]), q
        r = txns("q=" + urllib.parse.quote(q))
        assert r.status == 200, (q, r)
        assert [it["external_id"] for it in r.json["items"]] == order(want), q
        assert r.json["aggregates"] == aggregates(want), q
    # the summary shares the filter
    uid, tok = setup()
    r = get("/api/v1/users/%d/transactions/summary?group_by=category&q=CAFE" % uid, token=tok)
    assert r.status == 200, r
    assert [(g["key"], g["count"], g["total"]) for g in r.json["groups"]] == [("Alimentation", 1, -4.2)]


def test_q_long_and_too_long():
    r = txns("q=" + "x" * 200)
    assert r.status == 200 and r.json["items"] == [] and r.json["aggregates"]["count"] == 0, r
    assert_error(txns("q=" + "x" * 513), 400, "invalid_argument", "q")


def test_amount_bounds_spellings():
    for text, bound in [("12", 1200), ("12.5", 1250), ("12.50", 1250), ("0", 0), ("1250", 125000)]:
        r = txns("min_amount=" + text)
        assert r.status == 200, (text, r)
        want = [row for row in ROWS if abs(cents(row[2])) >= bound]
        assert [it["external_id"] for it in r.json["items"]] == order(want), text
        assert r.json["aggregates"] == aggregates(want), text
        r = txns("max_amount=" + text)
        want = [row for row in ROWS if abs(cents(row[2])) <= bound]
        assert [it["external_id"] for it in r.json["items"]] == order(want), text
    for name in ["min_amount", "max_amount"]:
        for bad in ["12,50", "-3", "1e2", "12.345", "99999999999999999999", "abc", " 12"]:
            r = txns(name + "=" + urllib.parse.quote(bad))
            assert_error(r, 400, "invalid_argument", name)
            # the message says what is wrong with this value
            want = "at most 999999999999.99" if bad == "99999999999999999999" else "a dot (12.50)"
            assert want in r.json["error"]["message"], (bad, r)


def test_dates_cursor_limit_errors_name_their_field():
    assert_error(txns("from=2026-01-10&to=2026-01-05"), 400, "invalid_argument", "from")
    r = txns("from=2026-01-10&to=2026-01-10")
    assert [it["external_id"] for it in r.json["items"]] == ["p6"], r
    for bad in ["abc", "2026-02-30_5", "2026-01-01_0", "2026-01-01_99999999999999999999", "2026-01-08_-1",
                "2026-01-08 5", "2026-01-08_5x"]:
        assert_error(txns("cursor=" + urllib.parse.quote(bad)), 400, "invalid_argument", "cursor")
    for bad in ["0", "1001", "501", "-1", "abc", "1.5"]:
        assert_error(txns("limit=" + bad), 400, "invalid_argument", "limit")


def test_every_filter_with_cursor_pages():
    query = ("from=2026-01-01&to=2026-01-31&category=DIVERS&merchant=s&q=S&min_amount=11.99"
             "&max_amount=12.5&type=debit")
    want = [row for row in ROWS if "2026-01-01" <= row[1] <= "2026-01-31" and fold(row[4]) == "divers"
            and "s" in fold(row[3]) and q_matches(row, "S") and 1199 <= abs(cents(row[2])) <= 1250
            and cents(row[2]) < 0]
    assert len(want) == 3
    seen, cursor, pages = [], None, 0
    while True:
        r = txns(query + "&limit=1" + ("&cursor=" + urllib.parse.quote(cursor) if cursor else ""))
        assert r.status == 200, r
        assert r.json["aggregates"] == aggregates(want)
        seen += [it["external_id"] for it in r.json["items"]]
        pages += 1
        cursor = r.json["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert seen == order(want)


def test_router_path_oddities():
    uid, tok = setup()
    r = post("/api/v1/opportunities", {"title": "Probe", "source": "manual"}, token=tok)
    assert r.status == 201, r
    oid = r.json["id"]
    assert_error(get("/api/v1/opportunities/stats/", token=tok), 404, "not_found")
    for path in ["/api/v1/opportunities/%73tats", "/api/v1//opportunities/stats"]:
        r = get_as(path, "/api/v1/opportunities/stats", tok)
        assert r.status == 200 and r.json["total"] == 1, (path, r)
    for bad in ["preferences2", "0", "-1", "1e3", "007", "9" * 3000, "%20%31"]:
        assert_error(get("/api/v1/opportunities/" + bad, token=tok), 400, "invalid_argument", "opportunity_id")
    r = request("OPTIONS", "/api/v1/opportunities/stats", token=tok)
    assert_error(r, 405, "method_not_allowed")
    assert r.headers.get("allow") == "GET", r.headers
    r = request("OPTIONS", "/api/v1/opportunities/%d" % oid, token=tok)
    assert_error(r, 405, "method_not_allowed")
    assert {m.strip() for m in r.headers.get("allow", "").split(",")} == {"GET", "PATCH", "DELETE"}, r.headers


def opp_titles(tok, query):
    r = get("/api/v1/opportunities?" + query, token=tok)
    assert r.status == 200, (query, r)
    return r.json


def test_opportunities_list_inputs():
    _, tok = new_user("Inputs Opp")
    titles = ["Dev 100% remote", "Dev 100 remote", "snake_case lover", "snakeXcase", "back\\slash", "Plain",
              "DÉVELOPPEUR SENIOR", "Développeur Rust", "Ingénieur Ÿ"]
    for t in titles:
        assert post("/api/v1/opportunities", {"title": t, "source": "manual"}, token=tok).status == 201
    # openapi: a case-insensitive substring (the non-ASCII letters too)
    for q in ["%", "100%", "_", "e_c", "\\", "développeur", "DÉVELOPPEUR", "Dév", "ingÉnieur ÿ", "EUR"]:
        got = [it["title"] for it in opp_titles(tok, "q=" + urllib.parse.quote(q))["items"]]
        assert sorted(got) == sorted(t for t in titles if q.lower() in t.lower()), q
    for name, bad in [("tier", "D"), ("tier", "a"), ("tier", "unscored"), ("status", "done"), ("status", "NEW"),
                      ("min_score", "101"), ("min_score", "-1"), ("min_score", "50.5"), ("sort", "title"),
                      ("limit", "0"), ("limit", "501")]:
        r = get("/api/v1/opportunities?%s=%s" % (name, bad), token=tok)
        assert_error(r, 400, "invalid_argument", name)
    assert opp_titles(tok, "min_score=100")["items"] == []       # nothing here scores 100


def test_opportunities_sort_cursor_while_rows_are_added():
    _, tok = new_user("Inputs Opp Sort")
    first = [post("/api/v1/opportunities", {"title": "Row %d" % i, "source": "manual"}, token=tok).json["id"]
             for i in range(5)]
    # scoring (a background job) moves a row in the score sorts: walk once all are scored
    wait_for(lambda: get("/api/v1/opportunities/stats", token=tok).json["by_tier"]["unscored"] == 0,
             what="the rows scored")
    for sort in ["created", "-created", "score", "-score"]:
        seen, cursor = [], None
        while True:
            page = opp_titles(tok, "sort=%s&limit=2" % sort + ("&cursor=" + cursor if cursor else ""))
            seen += [it["id"] for it in page["items"]]
            if len(seen) == 2:      # a row added mid-walk
                added = post("/api/v1/opportunities", {"title": "Late", "source": "manual"}, token=tok).json["id"]
                first.append(added)
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)), (sort, seen)
        assert set(first[:5]) <= set(seen), (sort, seen)     # no row that was there is skipped
        if sort == "created":
            assert seen == sorted(seen), seen                  # ids grow with created_at here
        if sort == "-created":
            assert seen[:2] == sorted(seen[:2], reverse=True)
    # a cursor of one sort refused by another
    c = opp_titles(tok, "sort=score&limit=1")["next_cursor"]
    assert_error(get("/api/v1/opportunities?sort=created&cursor=" + c, token=tok), 400, "invalid_argument", "cursor")


def test_health_names_each_configured_server():
    r = get("/api/v1/health")
    assert r.status == 200, r
    configured = [s.strip() for s in (conf_value("memcached_servers") or "").split(",") if s.strip()]
    assert [s["server"] for s in r.json["checks"]["memcached"]["servers"]] == configured
    assert all(s["state"] == "up" for s in r.json["checks"]["memcached"]["servers"])
    assert r.json["status"] == "ok"
