"""The transactions CSV import fed what banks and spreadsheets really write
(docs/datasets.md "Transactions CSV import"): amount shapes, Débit/Crédit
pairs, dates, header variants and layouts, encodings, duplicates. Expected
values are computed here from the documented rules, not read back."""
import hashlib
from decimal import Decimal

from harness import assert_error, get, new_user, request

HDR = "Date;Libellé;Montant\n"


def _import(uid, tok, body):
    if isinstance(body, str):
        body = body.encode()
    return request("POST", "/api/v1/users/%d/transactions/import" % uid, body=body, token=tok,
                   content_type="text/csv")


def _txns(uid, tok):
    r = get("/api/v1/users/%d/transactions?limit=500" % uid, token=tok)
    assert r.status == 200, r
    return r.json["items"]


def _nothing_stored(uid, tok):
    assert _txns(uid, tok) == []
    assert get("/api/v1/datasets?name=transactions-import", token=tok).json["items"] == []


def ref_amount(text):
    """The documented rule: spaces, U+00A0, U+202F and ' dropped; the last
    . or , is the decimal separator, the others group thousands."""
    s = "".join(c for c in text if c not in " \u00a0\u202f'")
    last = max(s.rfind(","), s.rfind("."))
    if last >= 0:
        s = s[:last].replace(",", "").replace(".", "") + "." + s[last + 1:]
    return Decimal(s)


def ref_date(text):
    if len(text) == 10 and text[2] == "/" and text[5] == "/":
        return "%s-%s-%s" % (text[6:], text[3:5], text[:2])
    return text


def test_import_amount_shapes_banks_write():
    uid, tok = new_user("Import amounts")
    amounts = ['"1 234,56"', "-1\u00a0234,56", "-1\u202f234,56", "-1.234,56", '"1,234.56"', "+12,00", "12,5",
               "-12,50   ", "   -7,05", "1'234.50", "-0,99", "3250"]
    body = HDR + "".join("%02d/11/2026;ROW %d;%s\n" % (i + 1, i, a) for i, a in enumerate(amounts))
    r = _import(uid, tok, body)
    assert r.status == 201 and r.json["inserted"] == len(amounts), r
    got = {t["merchant"]: Decimal(str(t["amount"])) for t in _txns(uid, tok)}
    want = {"ROW %d" % i: ref_amount(a.strip('"')) for i, a in enumerate(amounts)}
    assert got == want
    assert want["ROW 0"] == Decimal("1234.56") and want["ROW 6"] == Decimal("12.5")    # the rule itself


def test_import_refuses_amounts_it_cannot_read_and_never_cuts_one():
    uid, tok = new_user("Import bad amounts")
    bad = ["(12.50)", "€ 12,50", "12,50 €", "12.", ".5", "1.234", "0" * 62 + "12,34", "12,50-", "0,00"]
    body = HDR + "".join("0%d/11/2026;ROW %d;%s\n" % (i + 1, i, a) for i, a in enumerate(bad)) + \
        "20/11/2026;GOOD;-1,00\n"
    r = _import(uid, tok, body)
    assert_error(r, 422, "invalid_argument", "amount")
    assert r.json["error"]["line"] == 2
    assert [(j["line"], j["field"]) for j in r.json["rejected"]] == [(i + 2, "amount") for i in range(len(bad))]
    _nothing_stored(uid, tok)
    # 62 leading zeros then 12,34 alone: refused, not cut to 0…01 (it used to be stored as 1.00)
    r = _import(uid, tok, HDR + "01/11/2026;Z;" + "0" * 62 + "12,34\n")
    assert_error(r, 422, "invalid_argument", "amount")
    _nothing_stored(uid, tok)


def test_import_debit_credit_pairs():
    uid, tok = new_user("Import debit credit")
    rows = [("CB A", "12,50", ""), ("VIR B", "", "100,00"), ("CB C", "-7,20", ""),   # a debit written negative
            ("VIR D", "0,00", "55,10"), ("CB E", "9,99", "0,00"), ("REMB F", "", "-3,00")]
    body = "Date opération;Libellé;Débit euros;Crédit euros\n" + \
        "".join("0%d/11/2026;%s;%s;%s\n" % (i + 1, m, d, c) for i, (m, d, c) in enumerate(rows))

    def want(d, c):
        dz = d == "" or ref_amount(d) == 0
        return -abs(ref_amount(d)) if not dz else ref_amount(c)     # a debit is spending; a credit as written

    r = _import(uid, tok, body)
    assert r.status == 201 and r.json["inserted"] == len(rows), r
    got = {t["merchant"]: Decimal(str(t["amount"])) for t in _txns(uid, tok)}
    assert got == {m: want(d, c) for m, d, c in rows}
    assert got["CB C"] == Decimal("-7.20") and got["REMB F"] == Decimal("-3.00") and got["VIR D"] == Decimal("55.10")
    # a debit AND a credit on one row: refused naming the line and amount (the credit was silently dropped)
    uid, tok = new_user("Import debit and credit")
    r = _import(uid, tok, "Date;Libellé;Débit;Crédit\n01/11/2026;OK;1,00;\n02/11/2026;BOTH;12,50;100,00\n"
                          "03/11/2026;NONE;;\n")
    assert_error(r, 422, "invalid_argument", "amount")
    assert r.json["error"]["line"] == 3
    assert [(j["line"], j["field"]) for j in r.json["rejected"]] == [(3, "amount"), (4, "amount")]
    assert "debit" in r.json["rejected"][0]["message"] and "credit" in r.json["rejected"][0]["message"]
    _nothing_stored(uid, tok)


def test_import_dates_documented_and_not():
    uid, tok = new_user("Import dates")
    good = ["01/12/2026", "2026-12-02", "29/02/2028", "31/12/2026"]
    body = HDR + "".join("%s;G%d;-1,00\n" % (d, i) for i, d in enumerate(good))
    r = _import(uid, tok, body)
    assert r.status == 201 and r.json["inserted"] == len(good), r
    assert sorted(t["date"] for t in _txns(uid, tok)) == sorted(ref_date(d) for d in good)
    uid, tok = new_user("Import bad dates")
    bad = ["1/2/2026", "01-12-2026", "01.12.2026", "01/12/26", "31/02/2026", "01/12/2026 14:03", "29/02/2027",
           "13/13/2026"]
    body = HDR + "".join("%s;B%d;-1,00\n" % (d, i) for i, d in enumerate(bad))
    r = _import(uid, tok, body)
    assert_error(r, 422, "invalid_argument", "date")
    rej = r.json["rejected"]
    assert [(j["line"], j["field"]) for j in rej] == [(i + 2, "date") for i in range(len(bad))]
    # each message quotes the date as the file wrote it (not a rewritten 2026-02-31, not cut)
    for j, d in zip(rej, bad):
        assert '"%s"' % d in j["message"], (d, j)
    _nothing_stored(uid, tok)


def test_import_headers_and_layouts():
    cases = [
        "Date opération;Libellé;Montant (EUR)\n01/11/2026;A;-1,00\n",
        "DATE;LIBELLE;MONTANT\n01/11/2026;A;-1,00\n",
        "date d'opération;LIBELLÉ;montant\n01/11/2026;A;-1,00\n",
        "Transaction Date,Payee,Amount\n2026-11-01,A,-1.00\n",
        "Montant;Solde;Libellé;Date de valeur;Date\n-1,00;100,00;A;02/11/2026;01/11/2026\n",
        "Date;Libellé;Montant\n01/11/2026;A;-1,00\n\n\n",
        "Date;Libellé;Montant\r\n01/11/2026;A;-1,00",
        "\ufeffDate;Libellé;Montant\r\n01/11/2026;A;-1,00\r\n",
        "Date\tLibellé\tMontant\n01/11/2026\tA\t-1,00\n",
    ]
    for body in cases:
        uid, tok = new_user("Import layout")
        r = _import(uid, tok, body)
        assert r.status == 201 and r.json["inserted"] == 1, (body, r)
        assert [(t["date"], Decimal(str(t["amount"])), t["merchant"]) for t in _txns(uid, tok)] == \
            [("2026-11-01", Decimal("-1.00"), "A")], body
    # a bank preamble before the header: a 422 on line 1, nothing stored
    uid, tok = new_user("Import preamble")
    r = _import(uid, tok, "Compte courant\nDate;Libellé;Montant\n01/11/2026;A;-1,00\n")
    assert_error(r, 422, "invalid_argument", "body")
    assert r.json["error"]["line"] == 1
    _nothing_stored(uid, tok)
    # Windows-1252 / Latin-1 bytes: a 422 naming the line and column, never mojibake
    for raw, line, col, field in (("Date;Libell\xe9;Montant\n01/11/2026;A;-1,00\n", 1, 12, "body"),
                                  ("Date;Label;Montant\n01/11/2026;Caf\xe9;-1,00\n", 2, 15, "Label")):
        r = _import(uid, tok, raw.encode("latin-1"))
        assert_error(r, 422, "invalid_argument", field)
        assert (r.json["error"]["line"], r.json["error"]["column"]) == (line, col), r
        _nothing_stored(uid, tok)


def test_import_identical_rows_without_id_and_the_same_file_twice():
    uid, tok = new_user("Import twice")
    rows = [("01/11/2026", "NETFLIX", "-13,49"), ("01/11/2026", "NETFLIX", "-13,49"),
            ("01/11/2026", "NETFLIX", "-13,49"), ("02/11/2026", "NETFLIX", "-13,49")]
    body = HDR + "".join("%s;%s;%s\n" % r for r in rows)
    r = _import(uid, tok, body)
    assert r.status == 201 and (r.json["inserted"], r.json["duplicates"]) == (4, 0), r
    # the documented identity: csv- + sha256(date US cents US merchant US description US n)[:32]
    seen, want = {}, set()
    for d, m, a in rows:
        cents = int(ref_amount(a) * 100)
        key = (ref_date(d), cents, m, "")
        seen[key] = seen.get(key, 0) + 1
        text = "\x1f".join([key[0], str(cents), m, "", str(seen[key])])
        want.add("csv-" + hashlib.sha256(text.encode()).hexdigest()[:32])
    assert {t["external_id"] for t in _txns(uid, tok)} == want
    again = _import(uid, tok, body)
    assert again.status == 200 and (again.json["inserted"], again.json["duplicates"]) == (0, 4), again
    # the same rows written with a decimal point and as a debit column: the same transactions
    same = "Date;Libellé;Débit\n" + "".join("%s;%s;%s\n" % (d, m, a.lstrip("-").replace(",", "."))
                                           for d, m, a in rows)
    r = _import(uid, tok, same)
    assert (r.json["inserted"], r.json["duplicates"]) == (0, 4), r
    assert len(_txns(uid, tok)) == 4
