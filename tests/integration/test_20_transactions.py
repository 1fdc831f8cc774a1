"""Transactions: all-or-nothing insert, de-duplication, exact money,
filters and aggregates against values computed here, pagination, summary."""
import random
import unicodedata
from decimal import Decimal, ROUND_HALF_UP

from harness import assert_error, get, new_user, post, psql

MERCHANTS = [("Carrefour", "Alimentation"), ("Café de Flore", "Restaurant"), ("SNCF", "Transport"),
             ("Netflix", "Abonnements"), ("Pharmacie Centrale", "Santé"), ("Uber", "Transport"),
             ("CARREFOUR Market", "alimentation"), ("Épicerie Fine", "Alimentation")]


def fold(s):
    """Independent re-implementation of the matching rule: lower case, accents removed."""
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    return " ".join(s.lower().split())


def make_items(n, seed, prefix):
    rnd = random.Random(seed)
    items = []
    for i in range(n):
        merchant, category = rnd.choice(MERCHANTS)
        cents = rnd.randint(1, 25000) * (1 if rnd.random() < 0.15 else -1)
        amount = Decimal(cents) / 100
        month = rnd.randint(1, 12)
        day = rnd.randint(1, 28)
        items.append({
            "external_id": "%s-%d" % (prefix, i),
            "date": "2025-%02d-%02d" % (month, day),
            # Alternate JSON numbers and decimal strings.
            "amount": float(amount) if i % 2 else str(amount),
            "_cents": cents,
            "currency": "EUR",
            "merchant": merchant,
            "category": category,
            "description": "achat %d" % i,
        })
    return items


def strip(items):
    return [{k: v for k, v in it.items() if not k.startswith("_")} for it in items]


def money(cents):
    return float((Decimal(cents) / 100).quantize(Decimal("0.01")))


def expected_aggregates(items):
    count = len(items)
    spent = sum(-it["_cents"] for it in items if it["_cents"] < 0)
    income = sum(it["_cents"] for it in items if it["_cents"] > 0)
    total = sum(it["_cents"] for it in items)
    avg = (Decimal(total) / count).quantize(Decimal("1"), rounding=ROUND_HALF_UP) if count else 0
    return {"count": count, "total_spent": money(spent), "total_income": money(income), "average": money(int(avg))}


def fetch_all(path, token, limit):
    seen, cursor, pages = [], None, 0
    while True:
        url = path + ("&" if "?" in path else "?") + "limit=%d" % limit + ("&cursor=" + cursor if cursor else "")
        r = get(url, token=token)
        assert r.status == 200, r
        seen.extend(r.json["items"])
        pages += 1
        cursor = r.json["next_cursor"]
        assert pages < 1000
        if cursor is None:
            return seen, r.json["aggregates"], pages


_state = {}


def setup_user():
    if "uid" not in _state:
        uid, tok = new_user("Txn User")
        items = make_items(300, 7, "t")
        r = post("/api/v1/users/%d/transactions" % uid, strip(items), token=tok)
        assert r.status == 201, r
        assert r.json == {"inserted": 300, "duplicates": 0}, r.json
        _state.update(uid=uid, tok=tok, items=items)
    return _state["uid"], _state["tok"], _state["items"]


def test_insert_and_duplicates():
    uid, tok, items = setup_user()
    r = post("/api/v1/users/%d/transactions" % uid, strip(items[:50]), token=tok)
    assert r.status == 200 and r.json == {"inserted": 0, "duplicates": 50}, r
    more = make_items(5, 99, "extra")
    r = post("/api/v1/users/%d/transactions" % uid, strip(more + items[:3]), token=tok)
    assert r.json == {"inserted": 5, "duplicates": 3}, r
    rows = psql("SELECT count(*), sum(amount_cents) FROM transactions WHERE user_id = %d" % uid)
    assert int(rows[0][0]) == 305
    assert int(rows[0][1]) == sum(it["_cents"] for it in items + more)
    items.extend(more)


def test_exact_money():
    uid, tok = new_user("Money")
    r = post("/api/v1/users/%d/transactions" % uid,
             [{"date": "2026-01-05", "amount": -0.1}, {"date": "2026-01-05", "amount": "-0.20"},
              {"date": "2026-01-06", "amount": 42.1}, {"date": "2026-01-06", "amount": -999999999999.99}],
             token=tok)
    assert r.status == 201, r
    rows = psql("SELECT amount_cents FROM transactions WHERE user_id = %d ORDER BY id" % uid)
    assert [int(x[0]) for x in rows] == [-10, -20, 4210, -99999999999999]
    g = get("/api/v1/users/%d/transactions?from=2026-01-06&to=2026-01-06" % uid, token=tok)
    amounts = sorted(it["amount"] for it in g.json["items"])
    assert amounts == [-999999999999.99, 42.1]
    assert '"amount":42.10' in g.body  # always two decimals on the wire


def test_all_or_nothing():
    uid, tok = new_user("Atomic")
    good = {"date": "2026-02-01", "amount": -10, "merchant": "Lidl"}
    bad_items = [good, good, {"date": "2026-02-30", "amount": -1}, {"date": "2026-02-01", "amount": "1.234"},
                 {"date": "2026-02-01"}, {"date": "2026-02-01", "amount": 1, "currency": "eur"},
                 {"date": "2026-02-01", "amount": 0}, "not an object",
                 {"date": "2026-02-01", "amount": 1e300}, {"date": "2026-02-01", "amount": -5, "merchant": 12}]
    r = post("/api/v1/users/%d/transactions" % uid, bad_items, token=tok)
    assert_error(r, 422, "invalid_argument")
    rejected = {(x["index"], x["field"]) for x in r.json["rejected"]}
    assert rejected == {(2, "date"), (3, "amount"), (4, "amount"), (5, "currency"), (6, "amount"),
                        (7, "item"), (8, "amount"), (9, "merchant")}, rejected
    assert psql("SELECT count(*) FROM transactions WHERE user_id = %d" % uid) == [["0"]]
    assert_error(post("/api/v1/users/%d/transactions" % uid, [], token=tok), 422, "invalid_argument")
    r = post("/api/v1/users/999999999/transactions", [good], token=_admin())
    assert_error(r, 404, "not_found")


def _admin():
    from harness import admin_token
    return admin_token()


def test_filters_and_aggregates():
    uid, tok, items = setup_user()
    base = "/api/v1/users/%d/transactions" % uid
    cases = [
        ("", lambda it: True),
        ("?from=2025-03-01&to=2025-05-31", lambda it: "2025-03-01" <= it["date"] <= "2025-05-31"),
        ("?category=ALIMENTATION", lambda it: fold(it["category"]) == "alimentation"),
        ("?category=sante", lambda it: fold(it["category"]) == "sante"),
        ("?merchant=carrefour", lambda it: "carrefour" in fold(it["merchant"])),
        ("?merchant=cafe%20de%20flore", lambda it: fold(it["merchant"]) == "cafe de flore"),
        ("?merchant=%C3%A9picerie", lambda it: "epicerie" in fold(it["merchant"])),
        ("?type=credit", lambda it: it["_cents"] > 0),
        ("?type=debit&min_amount=100&max_amount=150.50",
         lambda it: it["_cents"] < 0 and 10000 <= abs(it["_cents"]) <= 15050),
        ("?q=achat%2012", lambda it: "achat 12" in it["description"]),
        ("?category=transport&from=2025-06-01", lambda it: fold(it["category"]) == "transport" and it["date"] >= "2025-06-01"),
        ("?merchant=nobody-here", lambda it: False),
    ]
    for query, pred in cases:
        want = [it for it in items if pred(it)]
        r = get(base + query + ("&" if "?" in query else "?") + "limit=10", token=tok)
        assert r.status == 200, (query, r)
        assert r.json["aggregates"] == expected_aggregates(want), (query, r.json["aggregates"], expected_aggregates(want))
        assert len(r.json["items"]) == min(10, len(want)), query
        assert (r.json["next_cursor"] is None) == (len(want) <= 10), query


def test_pagination_visits_every_row_once():
    uid, tok, items = setup_user()
    base = "/api/v1/users/%d/transactions" % uid
    for limit in (1, 7, 50, 500):
        seen, aggregates, pages = fetch_all(base, tok, limit)
        ids = [it["id"] for it in seen]
        assert len(ids) == len(set(ids)) == len(items), (limit, len(ids), len(set(ids)))
        assert {it["external_id"] for it in seen} == {it["external_id"] for it in items}
        keys = [(it["date"], it["id"]) for it in seen]
        assert keys == sorted(keys, reverse=True)
        assert pages == max(1, -(-len(items) // limit)), (limit, pages)
    seen, _, _ = fetch_all(base + "?category=transport", tok, 13)
    assert len(seen) == sum(1 for it in items if fold(it["category"]) == "transport")


def test_summary():
    uid, tok, items = setup_user()
    base = "/api/v1/users/%d/transactions/summary" % uid
    for group_by, keyf in (("category", lambda it: fold(it["category"])),
                           ("merchant", lambda it: fold(it["merchant"])),
                           ("month", lambda it: it["date"][:7])):
        want = {}
        for it in items:
            k = keyf(it)
            c, t = want.get(k, (0, 0))
            want[k] = (c + 1, t + it["_cents"])
        r = get(base + "?group_by=" + group_by, token=tok)
        assert r.status == 200, r
        groups = r.json["groups"]
        got = {(fold(g["key"]) if group_by != "month" else g["key"]): (g["count"], g["total"]) for g in groups}
        assert got == {k: (c, money(t)) for k, (c, t) in want.items()}, group_by
        totals = [abs(g["total"]) for g in groups]
        assert totals == sorted(totals, reverse=True)
    # A date range inside the busiest month, from its first to its last day with transactions
    # (both ends inclusive): one group, its exact count and total.
    import datetime
    months = {}
    for it in items:
        months[it["date"][:7]] = months.get(it["date"][:7], 0) + 1
    month = max(sorted(months), key=lambda m: months[m])
    inside = [it for it in items if it["date"][:7] == month]
    first, last = min(it["date"] for it in inside), max(it["date"] for it in inside)
    assert len(inside) >= 3 and first < last, months
    r = get(base + "?group_by=month&from=%s&to=%s" % (first, last), token=tok)
    assert r.status == 200, r
    assert [(g["key"], g["count"], g["total"]) for g in r.json["groups"]] == \
        [(month, len(inside), money(sum(it["_cents"] for it in inside)))], (month, first, last, r.json)
    # One day short on both ends: the first and last days' transactions leave the group.
    day = datetime.timedelta(days=1)
    lo = (datetime.date.fromisoformat(first) + day).isoformat()
    hi = (datetime.date.fromisoformat(last) - day).isoformat()
    inner = [it for it in inside if lo <= it["date"] <= hi]
    r = get(base + "?group_by=month&from=%s&to=%s" % (lo, hi), token=tok)
    assert [(g["key"], g["count"]) for g in r.json["groups"]] == ([(month, len(inner))] if inner else []), r.json
