"""The assistant's question suite: 40+ French and English questions over data
inserted here, with a fixed X-Tally-Now. Each answer's intent, entities, KPI
values (computed here from the inserted rows), chart types and insights are
checked. Rules: docs/assistant.md."""
import datetime
import json
import random
import statistics
import unicodedata

from harness import admin_token, assert_error, get, new_user, post, psql, request

NOW = datetime.date(2026, 11, 15)          # a Sunday
HDR = {"X-Tally-Now": NOW.isoformat()}


def fold(s):
    s = unicodedata.normalize("NFKD", s)
    return " ".join("".join(c for c in s if not unicodedata.combining(c)).lower().split())


def add_months(d, n):
    idx = d.year * 12 + d.month - 1 + n
    y, m = divmod(idx, 12)
    m += 1
    last = (datetime.date(y + (m == 12), m % 12 + 1, 1) - datetime.timedelta(days=1)).day
    return datetime.date(y, m, min(d.day, last))


def make_data():
    rnd = random.Random(2026)
    rows = []
    start = datetime.date(2025, 11, 1)
    day = start
    n = 0

    def add(d, cents, merchant, category):
        nonlocal n
        n += 1
        rows.append({"external_id": "q-%d" % n, "date": d.isoformat(), "cents": cents,
                     "merchant": merchant, "category": category})

    while day <= NOW:
        if day.day == 2:
            add(day, -90000, "Foncia", "Logement")
        if day.day == 5:
            add(day, -1349, "Netflix", "Abonnements")
            add(day, -1099, "Spotify", "Abonnements")
        if day.day == 28:
            add(day, 250000, "ACME Corp", "Revenus")
        if day.weekday() in (1, 5):
            add(day, -rnd.randint(3000, 12000), "Carrefour", "Alimentation")
        if day.weekday() == 3:
            add(day, -rnd.randint(1500, 4000), rnd.choice(["Monoprix", "Lidl"]), "Alimentation")
        if day.day in (3, 17):
            add(day, -rnd.randint(2000, 9000), "SNCF", "Transport")
        if day.weekday() == 4:
            add(day, -rnd.randint(900, 2500), "Uber", "Transport")
        if day.day in (9, 23):
            add(day, -rnd.randint(1500, 6000), "Amazon", "Shopping")
        if day.weekday() == 6:
            add(day, -rnd.randint(1800, 4500), "Café de Flore", "Restaurant")
        if day.day == 12:
            add(day, -rnd.randint(800, 3000), "Pharmacie Centrale", "Santé")
        if day.day == 20:
            add(day, -rnd.randint(1000, 2400), "Cinéma UGC", "Loisirs")
        day += datetime.timedelta(days=1)
    add(datetime.date(2026, 10, 20), -95000, "Carrefour", "Alimentation")     # outliers
    add(datetime.date(2026, 9, 12), -180000, "Amazon", "Shopping")
    add(NOW, -4250, "Carrefour", "Alimentation")                             # today
    return rows


_state = {}


def setup():
    if "uid" not in _state:
        uid, tok = new_user("Assistant User", language="fr")
        rows = make_data()
        body = [{"external_id": r["external_id"], "date": r["date"], "amount": "%.2f" % (r["cents"] / 100),
                 "merchant": r["merchant"], "category": r["category"]} for r in rows]
        r = post("/api/v1/users/%d/transactions" % uid, body, token=tok)
        assert r.status == 201 and r.json["inserted"] == len(rows), r
        _state.update(uid=uid, tok=tok, rows=rows)
    return _state["uid"], _state["tok"], _state["rows"]


def ask(message, conversation_id=None, token=None):
    uid, tok, _ = setup()
    body = {"user_id": uid, "message": message}
    if conversation_id:
        body["conversation_id"] = conversation_id
    r = post("/api/v1/conversation/chat", body, token=token or tok, headers=HDR)
    assert r.status == 200, (message, r)
    assert r.json["success"] is True
    return r.json


def select(rows, frm, to, category=None, merchant=None, spending=True):
    out = []
    for r in rows:
        if not (frm <= r["date"] <= to):
            continue
        if category and fold(r["category"]) != fold(category):
            continue
        if merchant and fold(r["merchant"]) != fold(merchant):
            continue
        if spending and r["cents"] >= 0:
            continue
        out.append(r)
    return out


def money(cents):
    return round(cents / 100, 2)


def kpis(answer):
    cards = {v["title"]: v["value"] for v in answer["data_visualizations"] if v["type"] == "kpi_card"}
    return cards


def charts(answer):
    return [v for v in answer["data_visualizations"] if v["type"] != "kpi_card"]


def check_kpis(answer, selected):
    cards = kpis(answer)
    total = sum(r["cents"] for r in selected)
    count = len(selected)
    avg = round(total / count) if count else 0
    assert cards.get("Total") == money(total), (cards, money(total))
    count_key = "Nombre" if answer["language"] == "fr" else "Count"
    avg_key = "Moyenne" if answer["language"] == "fr" else "Average"
    assert cards.get(count_key) == count, (cards, count)
    assert abs(cards.get(avg_key) - money(avg)) <= 0.011, (cards, avg)


def check_chart_config(viz, chart_type):
    chart = viz["chart"]
    assert chart["type"] == chart_type
    assert isinstance(chart["data"]["labels"], list)
    assert chart["data"]["datasets"] and all(len(d["data"]) == len(chart["data"]["labels"])
                                             for d in chart["data"]["datasets"])


def check_pie(answer, frm, to, rows):
    pies = [v for v in charts(answer) if v["type"] == "pie_chart"]
    assert len(pies) == 1, answer
    check_chart_config(pies[0], "pie")
    labels = pies[0]["chart"]["data"]["labels"]
    values = pies[0]["chart"]["data"]["datasets"][0]["data"]
    spent = {}
    for r in select(rows, frm, to):
        spent[fold(r["category"])] = spent.get(fold(r["category"]), 0) - r["cents"]
    assert len(labels) <= 6
    assert abs(sum(values) - money(sum(spent.values()))) < 0.005 * max(1, len(values))
    top = sorted(spent.values(), reverse=True)[:5]
    assert values[:5] == [money(v) for v in top][:len(values[:5])], (values, top)
    if len(spent) > 5:
        assert labels[-1] in ("Autres", "Others")


def expected_anomalies(rows, frm, to, category=None, merchant=None):
    start = datetime.date.fromisoformat(frm)
    hist_from = add_months(start, -6).isoformat()
    found = []
    for r in select(rows, frm, to, category, merchant):
        hist = [-h["cents"] for h in rows if h["cents"] < 0 and fold(h["category"]) == fold(r["category"])
                and hist_from <= h["date"] < frm]
        if len(hist) < 8:
            continue
        med = statistics.median(hist)
        mad = statistics.median([abs(v - med) for v in hist])
        if -r["cents"] > med + 3.5 * max(1.4826 * mad, 0.1 * med, 100):
            found.append(r)
    return sorted(found, key=lambda r: r["cents"])[:10]


def ids_of(rows):
    uid = _state["uid"]
    out = set()
    for r in rows:
        got = psql("SELECT id FROM transactions WHERE user_id = %d AND external_id = '%s'" % (uid, r["external_id"]))
        out.add(int(got[0][0]))
    return out


# (message, intent, period (from, to, label), category, merchant, spending_only, language)
SEARCHES = [
    ("Mes dépenses du mois dernier", "transaction_search.simple", ("2026-10-01", "2026-10-31", "last_month"), None, None, True, "fr"),
    ("Transactions de cette semaine", "transaction_search.simple", ("2026-11-09", "2026-11-15", "this_week"), None, None, False, "fr"),
    ("Combien j'ai dépensé aujourd'hui ?", "transaction_search.simple", ("2026-11-15", "2026-11-15", "today"), None, None, True, "fr"),
    ("Mes dépenses d'hier", "transaction_search.simple", ("2026-11-14", "2026-11-14", "yesterday"), None, None, True, "fr"),
    ("Mes dépenses des 30 derniers jours", "transaction_search.simple", ("2026-10-17", "2026-11-15", "last_n_days"), None, None, True, "fr"),
    ("Mes dépenses en septembre", "transaction_search.simple", ("2026-09-01", "2026-09-30", "month"), None, None, True, "fr"),
    ("Mes transactions du 1er janvier 1970", "transaction_search.simple", ("1970-01-01", "1970-01-01", "date"), None, None, False, "fr"),
    ("Mes dépenses depuis mars", "transaction_search.simple", ("2026-03-01", "2026-11-15", "since"), None, None, True, "fr"),
    ("Mes dépenses de l'année dernière", "transaction_search.simple", ("2025-01-01", "2025-12-31", "last_year"), None, None, True, "fr"),
    ("How much did I spend last month?", "transaction_search.simple", ("2026-10-01", "2026-10-31", "last_month"), None, None, True, "en"),
    ("My transactions this week", "transaction_search.simple", ("2026-11-09", "2026-11-15", "this_week"), None, None, False, "en"),
    ("My spending in the last 3 months", "transaction_search.simple", ("2026-08-16", "2026-11-15", "last_n_months"), None, None, True, "en"),
    ("What did I spend yesterday?", "transaction_search.simple", ("2026-11-14", "2026-11-14", "yesterday"), None, None, True, "en"),
    ("Mes dépenses alimentaires ce mois-ci", "transaction_search.by_category", ("2026-11-01", "2026-11-15", "this_month"), "Alimentation", None, True, "fr"),
    ("Combien j'ai dépensé en transport ?", "transaction_search.by_category", ("2026-11-01", "2026-11-15", "this_month"), "Transport", None, True, "fr"),
    ("Répartition de mes dépenses par catégorie", "transaction_search.by_category", ("2026-11-01", "2026-11-15", "this_month"), None, None, True, "fr"),
    ("Mes dépenses restaurant le mois dernier", "transaction_search.by_category", ("2026-10-01", "2026-10-31", "last_month"), "Restaurant", None, True, "fr"),
    ("Combien pour la santé en octobre ?", "transaction_search.by_category", ("2026-10-01", "2026-10-31", "month"), "Santé", None, True, "fr"),
    ("Show my grocery spending last month", "transaction_search.by_category", ("2026-10-01", "2026-10-31", "last_month"), "Alimentation", None, True, "en"),
    ("Spending breakdown by category last month", "transaction_search.by_category", ("2026-10-01", "2026-10-31", "last_month"), None, None, True, "en"),
    ("Mes dépenses de loisirs depuis mars", "transaction_search.by_category", ("2026-03-01", "2026-11-15", "since"), "Loisirs", None, True, "fr"),
    ("Mes dépenses chez Carrefour", "transaction_search.by_merchant", ("2026-11-01", "2026-11-15", "this_month"), None, "Carrefour", True, "fr"),
    ("Combien j'ai payé à Netflix ce mois ?", "transaction_search.by_merchant", ("2026-11-01", "2026-11-15", "this_month"), None, "Netflix", True, "fr"),
    ("Transactions SNCF du dernier mois", "transaction_search.by_merchant", ("2026-10-01", "2026-10-31", "last_month"), None, "SNCF", False, "fr"),
    ("How much did I spend at Amazon in October?", "transaction_search.by_merchant", ("2026-10-01", "2026-10-31", "month"), None, "Amazon", True, "en"),
    ("Mes dépenses chez Carefour le mois dernier", "transaction_search.by_merchant", ("2026-10-01", "2026-10-31", "last_month"), None, "Carrefour", True, "fr"),
    ("combien chez netflx cette année", "transaction_search.by_merchant", ("2026-01-01", "2026-11-15", "this_year"), None, "Netflix", True, "fr"),
    ("Mes dépenses Uber des 3 derniers mois", "transaction_search.by_merchant", ("2026-08-16", "2026-11-15", "last_n_months"), None, "Uber", True, "fr"),
    ("Dépenses au Café de Flore en septembre", "transaction_search.by_merchant", ("2026-09-01", "2026-09-30", "month"), None, "Café de Flore", True, "fr"),
    ("Combien j'ai dépensé chez Lidl le 2026-10-01 ?", "transaction_search.by_merchant", ("2026-10-01", "2026-10-01", "date"), None, "Lidl", True, "fr"),
]


def test_search_questions():
    uid, tok, rows = setup()
    for msg, intent, (frm, to, label), category, merchant, spending, lang in SEARCHES:
        a = ask(msg)
        assert a["intent"]["name"] == intent, (msg, a["intent"])
        assert a["intent"]["group"] + "." + a["intent"]["subtype"] == intent
        assert 0.5 <= a["intent"]["confidence"] <= 0.99
        p = a["entities"]["period"]
        assert (p["from"], p["to"], p["label"]) == (frm, to, label), (msg, p)
        assert a["entities"]["category"] == category, (msg, a["entities"])
        assert a["entities"]["merchant"] == merchant, (msg, a["entities"])
        assert a["language"] == lang, (msg, a["language"])
        selected = select(rows, frm, to, category, merchant, spending)
        check_kpis(a, selected)
        kinds = [v["type"] for v in charts(a)]
        if intent.endswith("by_category"):
            assert kinds == ["pie_chart"], (msg, kinds)
            check_pie(a, frm, to, rows)
        elif intent.endswith("by_merchant"):
            assert kinds == ["bar_chart"], (msg, kinds)
            bar = charts(a)[0]
            check_chart_config(bar, "bar")
            end = datetime.date.fromisoformat(to)
            months = [add_months(end.replace(day=1), -k).strftime("%Y-%m") for k in range(5, -1, -1)]
            assert bar["chart"]["data"]["labels"] == months
            want = [money(-sum(r["cents"] for r in rows if r["cents"] < 0 and r["date"][:7] == mo
                               and fold(r["merchant"]) == fold(merchant))) for mo in months]
            assert bar["chart"]["data"]["datasets"][0]["data"] == want, (msg, want)
        else:
            assert kinds == [], (msg, kinds)
        if selected:
            assert a["response_text"] and "Aucune" not in a["response_text"]
        else:
            assert ("Aucune" in a["response_text"]) if lang == "fr" else ("No " in a["response_text"])
        # Unusual transactions among the results, by the documented rule.
        want_anomalies = expected_anomalies(rows, frm, to, category, merchant) if selected else []
        got = {i["transaction_id"] for i in a["insights"] if i["type"] == "unusual_transaction"}
        assert got == ids_of(want_anomalies), (msg, got)


def test_anomalies():
    uid, tok, rows = setup()
    for msg, frm, to in (("Quelles sont mes dépenses inhabituelles ?", "2026-08-16", "2026-11-15"),
                         ("Any unusual transactions last month?", "2026-10-01", "2026-10-31")):
        a = ask(msg)
        assert a["intent"]["name"] == "analytics.anomalies", a["intent"]
        assert (a["entities"]["period"]["from"], a["entities"]["period"]["to"]) == (frm, to)
        want = expected_anomalies(rows, frm, to)
        assert want, "the data has an outlier in this window"
        got = [i["transaction_id"] for i in a["insights"] if i["type"] == "unusual_transaction"]
        assert set(got) == ids_of(want), (msg, got, want)
    # The 950 EUR Carrefour run is among them.
    a = ask("Quelles sont mes dépenses inhabituelles ?")
    assert any(i.get("amount") == -950.0 for i in a["insights"]), a["insights"]


def test_trends():
    uid, tok, rows = setup()
    for msg in ("Mes tendances de dépenses", "Spending trends", "Évolution de mes dépenses"):
        a = ask(msg)
        assert a["intent"]["name"] == "analytics.trends", (msg, a["intent"])
        lines = charts(a)
        assert [v["type"] for v in lines] == ["line_chart"]
        check_chart_config(lines[0], "line")
        months = [add_months(NOW.replace(day=1), -k).strftime("%Y-%m") for k in range(5, -1, -1)]
        assert lines[0]["chart"]["data"]["labels"] == months
        spend = [-sum(r["cents"] for r in rows if r["cents"] < 0 and r["date"][:7] == m) for m in months]
        assert lines[0]["chart"]["data"]["datasets"][0]["data"] == [money(s) for s in spend]
        ys = [s / 100 for s in spend]
        n = len(ys)
        sx, sy = sum(range(n)), sum(ys)
        slope = (n * sum(i * y for i, y in enumerate(ys)) - sx * sy) / (n * sum(i * i for i in range(n)) - sx * sx)
        mean = sy / n
        direction = "increasing" if slope > 0.05 * mean else "decreasing" if slope < -0.05 * mean else "stable"
        trend = [i for i in a["insights"] if i["type"] == "spending_trend"]
        assert len(trend) == 1 and trend[0]["direction"] == direction, (trend, direction, slope)
        assert abs(trend[0]["slope_per_month"] - slope) < 0.01


def test_comparison():
    uid, tok, rows = setup()
    for msg in ("Comparaison avec le mois dernier", "Compare my spending this month with last month"):
        a = ask(msg)
        assert a["intent"]["name"] == "analytics.comparison", (msg, a["intent"])
        bars = charts(a)
        assert [v["type"] for v in bars] == ["bar_chart"]
        check_chart_config(bars[0], "bar")
        before = -sum(r["cents"] for r in select(rows, "2026-10-01", "2026-10-15"))
        after = -sum(r["cents"] for r in select(rows, "2026-11-01", "2026-11-15"))
        assert bars[0]["chart"]["data"]["datasets"][0]["data"] == [money(before), money(after)]
        # docs/assistant.md: up to 3 category_change insights, categories with >= 10.00 spent
        # before and something spent now, largest |%| first. Computed here from the rows.
        before_by, after_by = {}, {}
        for r in select(rows, "2026-10-01", "2026-10-15"):
            before_by[fold(r["category"])] = before_by.get(fold(r["category"]), 0) - r["cents"]
        for r in select(rows, "2026-11-01", "2026-11-15"):
            after_by[fold(r["category"])] = after_by.get(fold(r["category"]), 0) - r["cents"]
        want = sorted(((k, 100 * (after_by[k] - b) / b) for k, b in before_by.items()
                       if b >= 1000 and after_by.get(k, 0) > 0), key=lambda kv: -abs(kv[1]))[:3]
        got = [(fold(i["category"]), i["change_pct"]) for i in a["insights"] if i["type"] == "category_change"]
        assert len(want) >= 2, ("the data set must exercise the insight", want)
        assert [k for k, _ in got] == [k for k, _ in want], (got, want)
        for (_, g), (_, w) in zip(got, want):
            assert abs(g - round(w, 1)) <= 0.05, (got, want)


def test_edge_cases():
    uid, tok, rows = setup()
    a = ask("Dépenses chez XYZ_MERCHANT_INEXISTANT")
    assert a["intent"]["name"] == "transaction_search.by_merchant"
    assert a["entities"]["merchant"] is None and a["entities"]["unknown_merchant"] == "xyz_merchant_inexistant"
    assert kpis(a) == {"Total": 0.0, "Nombre": 0, "Moyenne": 0.0}
    assert "xyz_merchant_inexistant" in a["response_text"]
    for msg in ("Mes trucs", "", "???", "bonjour", "blah " * 700):
        a = ask(msg)
        assert a["intent"]["name"] == "clarification.needed", (msg[:20], a["intent"])
        assert "Mes dépenses du mois dernier" in a["response_text"]      # suggestions
    a = ask("Mes dépenses du 31 février 2026")
    assert a["entities"]["period"]["label"] == "invalid_date"
    assert kpis(a)["Total"] == 0.0 and kpis(a)["Nombre"] == 0
    a = ask("Mes transactions du 1er janvier 1970")
    assert kpis(a)["Nombre"] == 0 and "Aucune" in a["response_text"]


def test_conversations_are_stored():
    uid, tok, rows = setup()
    a = ask("Mes dépenses chez Carrefour")
    cid = a["conversation_id"]
    assert cid.startswith("c-")
    b = ask("Et le mois dernier ?", conversation_id=cid)
    assert b["conversation_id"] == cid
    got = psql("SELECT role, intent FROM conversation_messages WHERE conversation_id = '%s' ORDER BY id" % cid)
    assert [g[0] for g in got] == ["user", "assistant", "user", "assistant"]
    assert got[0][1] == "transaction_search.by_merchant"
    r = post("/api/v1/conversation/chat", {"user_id": uid, "message": "x", "conversation_id": "c-nope"}, token=tok)
    assert_error(r, 404, "not_found", "conversation_id")
    # Another user's conversation: refused in chat (404, as if it did not exist), nothing stored
    # under it; their context does not show it (null history).
    other, other_tok = new_user("Conversation Thief")
    count = psql("SELECT count(*) FROM conversation_messages WHERE conversation_id = '%s'" % cid)
    r = post("/api/v1/conversation/chat", {"user_id": other, "message": "Mes dépenses chez Carrefour",
                                           "conversation_id": cid}, token=other_tok)
    assert_error(r, 404, "not_found", "conversation_id")
    assert psql("SELECT count(*) FROM conversation_messages WHERE conversation_id = '%s'" % cid) == count
    c = get("/api/v1/users/%d/context?conversation_id=%s" % (other, cid), token=other_tok)
    assert c.status == 200 and c.json["conversation_history"] is None and c.json["user_id"] == other, c
    # The owner still sees it.
    c = get("/api/v1/users/%d/context?conversation_id=%s" % (uid, cid), token=tok)
    assert c.status == 200 and len(c.json["conversation_history"]) == 4, c


def test_malformed_requests():
    uid, tok, rows = setup()
    other, other_tok = new_user("Someone Else")
    url = "/api/v1/conversation/chat"
    assert_error(post(url, {"user_id": uid, "message": "x"}, token=other_tok), 403, "forbidden")
    assert_error(post(url, {"user_id": uid, "message": "x"}), 401, "unauthenticated")
    assert_error(post(url, {"user_id": uid}, token=tok), 422, "invalid_argument", "message")
    assert_error(post(url, {"user_id": str(uid), "message": "x"}, token=tok), 422, "invalid_argument", "user_id")
    assert_error(post(url, {"user_id": uid, "message": "x" * 4001}, token=tok), 422, "invalid_argument", "message")
    assert_error(request("POST", url, body="{", token=tok, content_type="application/json"), 400, "invalid_argument", "body")
    assert_error(post(url, {"user_id": 999999999, "message": "x"}, token=admin_token()), 404, "not_found", "user_id")
    assert_error(post(url, {"user_id": uid, "message": "x"}, token=tok, headers={"X-Tally-Now": "2026-13-01"}),
                 400, "invalid_argument", "X-Tally-Now")


def test_random_messages_never_500():
    """300 random messages (suite words, odd dates, random Unicode, quotes,
    NUL): every answer is a 200; nothing reaches the error path."""
    uid, tok, rows = setup()
    rnd = random.Random(11)
    words = ("mes dépenses chez carrefour le mois dernier en septembre 31 février 2026-02-30 depuis mars "
             "les 99999 derniers jours last 0 months netflx répartition tendances inhabituelles comparaison "
             "1er janvier 1970 ☃ \x00 \" \\ ' % _").split(" ")
    for i in range(300):
        msg = " ".join(rnd.choice(words) for _ in range(rnd.randint(0, 12)))
        if i % 3 == 0:
            msg += "".join(chr(rnd.randint(1, 0x2fff)) for _ in range(rnd.randint(0, 80)))
        now = "%04d-%02d-%02d" % (rnd.choice([1970, 2025, 2026, 2999]), rnd.randint(1, 12), rnd.randint(1, 28))
        r = post("/api/v1/conversation/chat", {"user_id": uid, "message": msg}, token=tok, headers={"X-Tally-Now": now})
        assert r.status == 200 and r.json["success"] is True, (msg, now, r)


# ---- questions as people phrase them (issue 14) ---------------------------

def ask_on(message, now, conversation_id=None):
    uid, tok, _ = setup()
    body = {"user_id": uid, "message": message}
    if conversation_id:
        body["conversation_id"] = conversation_id
    r = post("/api/v1/conversation/chat", body, token=tok, headers={"X-Tally-Now": now})
    assert r.status == 200, (message, r)
    return r.json


def period_of(answer):
    p = answer["entities"]["period"]
    return (p["from"], p["to"])


# (message, from, to, category, merchant): the period computed here by hand
# from NOW = Sunday 2026-11-15; KPIs from the inserted rows.
PHRASINGS = [
    ("Combien j'ai dépensé avant-hier ?", "2026-11-13", "2026-11-13", None, None),
    ("What did I spend the day before yesterday?", "2026-11-13", "2026-11-13", None, None),
    ("Mes dépenses de mercredi dernier", "2026-11-11", "2026-11-11", None, None),
    ("How much did I spend last Friday?", "2026-11-13", "2026-11-13", None, None),
    ("mes dépenses du trimestre précédent", "2026-07-01", "2026-09-30", None, None),
    ("combien j'ai dépensé au T2", "2026-04-01", "2026-06-30", None, None),
    ("Q4 2025", "2025-11-01", "2025-12-31", None, None),          # the data starts on 2025-11-01
    ("du 3 au 9 août", "2026-08-03", "2026-08-09", None, None),
    ("between March 2 and March 9", "2026-03-02", "2026-03-09", None, None),
    ("depuis le 2 mars", "2026-03-02", "2026-11-15", None, None),
    ("le dernier jour de février", "2026-02-28", "2026-02-28", None, None),
    ("the last week of October", "2026-10-25", "2026-10-31", None, None),
    ("comment se répartissent mes dépenses du mois dernier", "2026-10-01", "2026-10-31", None, None),
    ("combien g dépensé en courses la semaine dernière", "2026-11-02", "2026-11-08", "Alimentation", None),
    ("spending at Uber from Oct 5 until Oct 11", "2026-10-05", "2026-10-11", None, "Uber"),
    ("mes dépenses du 12/10/26", "2026-10-12", "2026-10-12", None, None),
    ("what did I spend on 10/31/2026", "2026-10-31", "2026-10-31", None, None),
    ("le week-end dernier", "2026-11-07", "2026-11-08", None, None),
]


def test_phrasings_answer_the_period_asked():
    uid, tok, rows = setup()
    for msg, frm, to, category, merchant in PHRASINGS:
        a = ask(msg)
        got = period_of(a)
        # "Q4 2025" is 2025-10-01..12-31; the rows only start in November
        want = ("2025-10-01", to) if msg == "Q4 2025" else (frm, to)
        assert got == want, (msg, got, want)
        assert a["entities"]["period"]["recognised"] is True
        assert a["entities"]["category"] == category, (msg, a["entities"])
        assert a["entities"]["merchant"] == merchant, (msg, a["entities"])
        check_kpis(a, select(rows, frm, to, category, merchant, a["entities"]["scope"] == "spending"))
    a = ask("comment se répartissent mes dépenses du mois dernier")
    assert a["intent"]["name"] == "transaction_search.by_category"
    check_pie(a, "2026-10-01", "2026-10-31", rows)
    a = ask("how has my spending evolved?")
    assert a["intent"]["name"] == "analytics.trends" and [v["type"] for v in charts(a)] == ["line_chart"]


def test_unreadable_period_is_said_not_replaced():
    for msg, lang in (("Combien j'ai dépensé pendant les vacances ?", "fr"),
                      ("How much did I spend the other day?", "en"),
                      ("mes dépenses du T7", "fr")):
        a = ask(msg)
        p = a["entities"]["period"]
        assert p["recognised"] is False and p["label"] == "unrecognised", (msg, p)
        assert p["from"] is None and p["to"] is None
        assert kpis(a) == {}, (msg, a["data_visualizations"])          # no figures for another period
        assert ("période" in a["response_text"]) if lang == "fr" else ("period" in a["response_text"]), a
    a = ask("Mes dépenses du 31 février 2026")
    assert a["entities"]["period"]["label"] == "invalid_date"


def test_unknown_category_is_said():
    uid, tok, rows = setup()
    a = ask("Combien j'ai dépensé en jardinage ?")
    assert a["entities"]["category"] is None and a["entities"]["unknown_category"] == "jardinage", a["entities"]
    assert "jardinage" in a["response_text"] and "Alimentation" in a["response_text"]
    assert kpis(a) == {"Total": 0.0, "Nombre": 0, "Moyenne": 0.0}
    a = ask("how much did I spend on gaming last month")
    assert a["entities"]["unknown_category"] == "gaming" and a["language"] == "en"
    assert "gaming" in a["response_text"]


def test_merchant_as_the_search_finds_it():
    """The user's rows say "Carrefour Market" and "Carrefour City"; asking for
    Carrefour counts both, as ?merchant=carrefour finds them, and says so."""
    uid, tok = new_user("Market User", language="en")
    rows = [("m-1", "2026-10-03", -4210, "Carrefour Market"), ("m-2", "2026-10-17", -1890, "Carrefour City"),
            ("m-3", "2026-10-20", -990, "Carrefour Market"), ("m-4", "2026-10-21", -5000, "Monoprix"),
            ("m-5", "2026-11-02", -700, "Carrefour City")]
    body = [{"external_id": e, "date": d, "amount": "%.2f" % (c / 100), "merchant": m, "category": "Alimentation"}
            for e, d, c, m in rows]
    assert post("/api/v1/users/%d/transactions" % uid, body, token=tok).status == 201
    search = request("GET", "/api/v1/users/%d/transactions?merchant=carrefour&from=2026-10-01&to=2026-10-31" % uid,
                     token=tok)
    assert search.status == 200
    found = search.json.get("transactions", search.json.get("items"))
    r = post("/api/v1/conversation/chat", {"user_id": uid, "message": "How much did I spend at Carrefour last month?"},
             token=tok, headers=HDR)
    a = r.json
    assert a["intent"]["name"] == "transaction_search.by_merchant", a["intent"]
    assert a["entities"]["merchant"] == "Carrefour"
    want = [c for e, d, c, m in rows if m.startswith("Carrefour") and d.startswith("2026-10")]
    assert kpis(a)["Count"] == len(want) == len(found)
    assert kpis(a)["Total"] == money(sum(want))
    assert sorted(a["entities"]["merchants_counted"]) == ["Carrefour City", "Carrefour Market"]
    assert "Carrefour Market" in a["response_text"] and "Carrefour City" in a["response_text"]
    # a typo and a prefix find the same merchants
    for msg in ("spending at carefour last month", "how much at carref last month"):
        b = post("/api/v1/conversation/chat", {"user_id": uid, "message": msg}, token=tok, headers=HDR).json
        assert kpis(b)["Total"] == money(sum(want)), (msg, b["entities"])


def test_comparison_says_which_periods():
    uid, tok, rows = setup()
    a = ask("compare ce mois-ci avec le mois dernier")
    cmp = a["entities"]["compared_with"]
    assert period_of(a) == ("2026-11-01", "2026-11-15")
    assert (cmp["from"], cmp["to"], cmp["basis"]) == ("2026-10-01", "2026-10-15", "to_date")
    assert "mêmes jours" in a["response_text"]
    # Asked on the 1st: one day against one day makes no sense; whole months instead.
    a = ask_on("compare ce mois-ci avec le mois dernier", "2026-12-01")
    cmp = a["entities"]["compared_with"]
    assert period_of(a) == ("2026-11-01", "2026-11-30"), a["entities"]
    assert (cmp["from"], cmp["to"], cmp["basis"]) == ("2026-10-01", "2026-10-31", "whole")
    bars = charts(a)[0]["chart"]["data"]["datasets"][0]["data"]
    before = -sum(r["cents"] for r in select(rows, "2026-10-01", "2026-10-31") if r["category"])
    after = -sum(r["cents"] for r in select(rows, "2026-11-01", "2026-11-30") if r["category"])
    assert bars == [money(before), money(after)]
    assert "complètes" in a["response_text"]
    a = ask("this week vs last week")
    cmp = a["entities"]["compared_with"]
    assert period_of(a) == ("2026-11-09", "2026-11-15") and (cmp["from"], cmp["to"]) == ("2026-11-02", "2026-11-08")
    a = ask("October vs September")
    cmp = a["entities"]["compared_with"]
    assert period_of(a) == ("2026-10-01", "2026-10-31") and (cmp["from"], cmp["to"], cmp["basis"]) == \
        ("2026-09-01", "2026-09-30", "named")


def test_follow_up_questions():
    uid, tok, rows = setup()
    a = ask("Mes dépenses chez Carrefour")
    cid = a["conversation_id"]
    b = ask("et le mois dernier ?", conversation_id=cid)
    assert b["intent"]["name"] == "transaction_search.by_merchant" and b["entities"]["merchant"] == "Carrefour"
    assert period_of(b) == ("2026-10-01", "2026-10-31") and b["entities"]["follow_up"] is True
    check_kpis(b, select(rows, "2026-10-01", "2026-10-31", merchant="Carrefour"))
    c = ask("et le mois d'avant ?", conversation_id=cid)
    assert period_of(c) == ("2026-09-01", "2026-09-30") and c["entities"]["merchant"] == "Carrefour"
    d = ask("et chez Amazon ?", conversation_id=cid)
    assert period_of(d) == ("2026-09-01", "2026-09-30") and d["entities"]["merchant"] == "Amazon"
    check_kpis(d, select(rows, "2026-09-01", "2026-09-30", merchant="Amazon"))
    e = ask("pareil pour les restaurants", conversation_id=cid)
    assert e["intent"]["name"] == "transaction_search.by_category"
    assert (e["entities"]["category"], e["entities"]["merchant"]) == ("Restaurant", None)
    check_kpis(e, select(rows, "2026-09-01", "2026-09-30", category="Restaurant"))
    # A full new question in the same conversation takes nothing from before.
    f = ask("Quelles sont mes dépenses inhabituelles ?", conversation_id=cid)
    assert f["intent"]["name"] == "analytics.anomalies" and f["entities"]["follow_up"] is False
    assert f["entities"]["category"] is None and period_of(f) == ("2026-08-16", "2026-11-15")
    # English, and the context endpoint shows what was understood.
    g = ask("How much did I spend last month?")
    h = ask("and in September?", conversation_id=g["conversation_id"])
    assert period_of(h) == ("2026-09-01", "2026-09-30") and h["intent"]["name"] == "transaction_search.simple"
    i = ask("same for restaurants", conversation_id=g["conversation_id"])
    assert i["entities"]["category"] == "Restaurant" and period_of(i) == ("2026-09-01", "2026-09-30")
    ctx = request("GET", "/api/v1/users/%d/context?conversation_id=%s" % (uid, g["conversation_id"]), token=tok).json
    users = [m for m in ctx["conversation_history"] if m["type"] == "user_message"]
    assert [m["content"] for m in users] == ["How much did I spend last month?", "and in September?",
                                             "same for restaurants"]
    assert users[1]["entities"]["period"]["from"] == "2026-09-01"
    assert users[2]["entities"]["category"] == "Restaurant" and users[2]["intent"] == "transaction_search.by_category"


def test_follow_ups_filter_trends_and_comparisons():
    """A category named in a follow-up filters the trend line and both
    periods of a comparison (sums computed here from the rows)."""
    uid, tok, rows = setup()
    a = ask("Mes tendances de dépenses")
    b = ask("et pour l'alimentation ?", conversation_id=a["conversation_id"])
    assert b["intent"]["name"] == "analytics.trends" and b["entities"]["category"] == "Alimentation", b["entities"]
    months = [add_months(NOW.replace(day=1), -k).strftime("%Y-%m") for k in range(5, -1, -1)]
    line = charts(b)[0]["chart"]["data"]
    assert line["labels"] == months
    want = [money(-sum(r["cents"] for r in rows if r["cents"] < 0 and r["date"][:7] == m
                       and r["category"] == "Alimentation")) for m in months]
    assert line["datasets"][0]["data"] == want, (line["datasets"][0]["data"], want)
    c = ask("compare ce mois-ci avec le mois dernier")
    d = ask("et pour les transports ?", conversation_id=c["conversation_id"])
    assert d["intent"]["name"] == "analytics.comparison" and d["entities"]["category"] == "Transport"
    cmp = d["entities"]["compared_with"]
    assert (cmp["from"], cmp["to"]) == ("2026-10-01", "2026-10-15") and period_of(d) == ("2026-11-01", "2026-11-15")
    bars = charts(d)[0]["chart"]["data"]["datasets"][0]["data"]
    before = -sum(r["cents"] for r in select(rows, "2026-10-01", "2026-10-15", category="Transport"))
    after = -sum(r["cents"] for r in select(rows, "2026-11-01", "2026-11-15", category="Transport"))
    assert bars == [money(before), money(after)], (bars, before, after)
