"""Every transaction filter at once, through the statement builder (sqlbuf):
the list, its cursor pages and its aggregates, and the summary, against
values computed here. With all filters and a cursor the statement binds the
most parameters any request can (user, from, to, category, merchant, q used
three times, min, max, cursor date and id): a placeholder that drifted from
its parameter would give a wrong set or a PostgreSQL type error."""
import random
import unicodedata
from decimal import Decimal, ROUND_HALF_UP

from harness import get, new_user, post

# (merchant, category): "bio" stands in a merchant, a category and descriptions,
# so ?q=bio matches through each of the three places q looks at.
MERCHANTS = [("Biocoop", "Alimentation"), ("Carrefour", "Alimentation"), ("La Vie Claire", "Bio et Vrac"),
             ("SNCF", "Transport"), ("Café Zoé", "Restaurant"), ("Pharmacie", "Santé")]
DESCRIPTIONS = ["panier bio", "courses", "billet", "menu du jour", "Ordonnance BIO", "divers"]


def fold(s):
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    return " ".join(s.lower().split())


def money(cents):
    return float((Decimal(cents) / 100).quantize(Decimal("0.01")))


def aggregates(items):
    count = len(items)
    total = sum(it["_cents"] for it in items)
    avg = (Decimal(total) / count).quantize(Decimal("1"), rounding=ROUND_HALF_UP) if count else 0
    return {"count": count,
            "total_spent": money(sum(-it["_cents"] for it in items if it["_cents"] < 0)),
            "total_income": money(sum(it["_cents"] for it in items if it["_cents"] > 0)),
            "average": money(int(avg))}


_state = {}


def setup():
    if not _state:
        rnd = random.Random(21)
        items = []
        for i in range(240):
            merchant, category = rnd.choice(MERCHANTS)
            cents = rnd.randint(1, 30000) * (1 if rnd.random() < 0.2 else -1)
            items.append({"external_id": "f-%d" % i, "date": "2025-%02d-%02d" % (rnd.randint(1, 12), rnd.randint(1, 28)),
                          "amount": str(Decimal(cents) / 100), "_cents": cents, "merchant": merchant,
                          "category": category, "description": "%s %d" % (rnd.choice(DESCRIPTIONS), i)})
        uid, tok = new_user("Filter User")
        r = post("/api/v1/users/%d/transactions" % uid,
                 [{k: v for k, v in it.items() if not k.startswith("_")} for it in items], token=tok)
        assert r.status == 201 and r.json["inserted"] == len(items), r
        _state.update(uid=uid, tok=tok, items=items)
    return _state["uid"], _state["tok"], _state["items"]


def q_matches(it, q):
    """The q rule as documented: folded merchant or category, or lower-cased description, holds q."""
    return q in fold(it["merchant"]) or q in fold(it["category"]) or q in it["description"].lower()


def pages(path, tok, limit):
    seen, cursor, aggs = [], None, []
    for _ in range(500):
        r = get(path + "&limit=%d" % limit + ("&cursor=" + cursor if cursor else ""), token=tok)
        assert r.status == 200, r
        seen.extend(r.json["items"])
        aggs.append(r.json["aggregates"])
        cursor = r.json["next_cursor"]
        if cursor is None:
            return seen, aggs
    raise AssertionError("no last page")


def test_q_looks_in_merchant_category_and_description():
    uid, tok, items = setup()
    base = "/api/v1/users/%d/transactions?limit=500" % uid
    r = get(base + "&q=BIO", token=tok)
    assert r.status == 200, r
    want = [it for it in items if q_matches(it, "bio")]
    got = {it["external_id"] for it in r.json["items"]}
    assert got == {it["external_id"] for it in want}
    # each of the three places contributes rows the others do not
    assert any("bio" in fold(it["merchant"]) and "bio" not in it["description"].lower() for it in want)
    assert any("bio" in fold(it["category"]) and "bio" not in fold(it["merchant"]) for it in want)
    assert any("bio" in it["description"].lower() and "bio" not in fold(it["merchant"] + it["category"])
               for it in want)
    assert r.json["aggregates"] == aggregates(want)


def test_all_filters_with_cursor_pages():
    uid, tok, items = setup()
    query = ("from=2025-02-01&to=2025-11-30&category=alimentation&merchant=O&q=bio"
             "&min_amount=10&max_amount=250.5&type=debit")

    def pred(it):
        return ("2025-02-01" <= it["date"] <= "2025-11-30" and fold(it["category"]) == "alimentation"
                and "o" in fold(it["merchant"]) and q_matches(it, "bio")
                and 1000 <= abs(it["_cents"]) <= 25050 and it["_cents"] < 0)

    want = sorted((it for it in items if pred(it)), key=lambda it: it["date"], reverse=True)
    assert len(want) >= 5, len(want)          # the data makes the combined filter non-trivial
    seen, aggs = pages("/api/v1/users/%d/transactions?%s" % (uid, query), tok, 2)
    assert sorted(it["external_id"] for it in seen) == sorted(it["external_id"] for it in want)
    assert len(seen) == len({it["id"] for it in seen})
    dates = [it["date"] for it in seen]
    assert dates == sorted(dates, reverse=True)
    # the aggregates are of the filtered set, not of the page: the same on every page
    assert len(aggs) == -(-len(want) // 2)
    assert all(a == aggregates(want) for a in aggs), (aggs[0], aggregates(want))
    by_id = {it["external_id"]: it for it in items}
    for it in seen:
        assert it["amount"] == money(by_id[it["external_id"]]["_cents"])
        assert it["merchant"] == by_id[it["external_id"]]["merchant"]


def test_summary_with_all_filters():
    uid, tok, items = setup()
    query = "from=2025-01-15&to=2025-12-15&merchant=c&q=o&min_amount=5&max_amount=299.99&type=debit"

    def pred(it):
        return ("2025-01-15" <= it["date"] <= "2025-12-15" and "c" in fold(it["merchant"])
                and q_matches(it, "o") and 500 <= abs(it["_cents"]) <= 29999 and it["_cents"] < 0)

    want = {}
    for it in items:
        if pred(it):
            c, t = want.get(fold(it["merchant"]), (0, 0))
            want[fold(it["merchant"])] = (c + 1, t + it["_cents"])
    assert len(want) >= 2, want
    r = get("/api/v1/users/%d/transactions/summary?group_by=merchant&%s" % (uid, query), token=tok)
    assert r.status == 200, r
    got = {fold(g["key"]): (g["count"], g["total"]) for g in r.json["groups"]}
    assert got == {k: (c, money(t)) for k, (c, t) in want.items()}
