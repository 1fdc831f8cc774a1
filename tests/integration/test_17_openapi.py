"""docs/openapi.yaml against the running server, beyond what every other
test's responses check (openapi_check runs on all of them): the validator
itself catches drift, every documented path answers 405 with an Allow header
naming exactly its documented methods, unknown paths are the documented 404,
the 400-vs-422 rule and the money sign rules the document states."""
import re

import openapi_check
from harness import admin_token, assert_error, get, new_user, post, request


def _doc():
    openapi_check._load()
    return openapi_check._doc


def test_validator_reports_route_status_path_expected_and_got():
    doc = _doc()
    # A wrong type deep inside a $ref'd schema: the JSON path and both sides are named.
    bad_metric = {"user_id": 1, "metric_type": "monthly_total", "period": "2026-01", "source": "cache",
                  "value": {"spending": "12.00", "income": 0.0, "net": -12.0, "count": 1},
                  "computed_at": "2026-01-01T00:00:00Z", "expires_at": "2026-01-02T00:00:00Z",
                  "computation_time_ms": 1.0, "data_points_count": 1}
    problems = openapi_check.validate({"$ref": "#/components/schemas/Metric"}, bad_metric)
    assert problems and problems[0].startswith("$.value.spending: expected number"), problems
    # The same value with the right type passes (the schema is not simply refusing everything).
    bad_metric["value"]["spending"] = 12.0
    assert openapi_check.validate({"$ref": "#/components/schemas/Metric"}, bad_metric) == []
    # An undocumented property (the drift the issue saw with category_breakdown's count) is caught.
    item = {"category": "Food", "total": 10.0, "share": 1.0, "count": 2, "extra": 1}
    schema = doc["components"]["schemas"]["CategoryBreakdownValue"]["properties"]["categories"]["items"]
    assert any("undocumented property 'extra'" in p for p in openapi_check.validate(schema, item))
    # A missing required property, a value outside an enum, a malformed date-time.
    p = openapi_check.validate({"$ref": "#/components/schemas/Job"}, {"id": 1, "status": "lost", "run_at": "soon"})
    assert any("required property 'kind' missing" in x for x in p), p
    assert any("$.status: expected one of" in x for x in p), p
    assert any("$.run_at: expected an RFC 3339 date-time" in x for x in p), p
    # oneOf: an insight matching none of the three kinds.
    p = openapi_check.validate({"$ref": "#/components/schemas/Insight"}, {"type": "horoscope", "message": "x"})
    assert p and p[0].startswith("$.type: expected one of"), p
    p = openapi_check.validate({"oneOf": [{"type": "integer"}, {"type": "string"}]}, 1.5)
    assert p and "matches 0 of oneOf" in p[0], p
    # A status the route does not document, and a method the path does not serve.
    p = openapi_check.check("GET", "/api/v1/health", 418, "application/json", "{}")
    assert p and "GET /api/v1/health 418: status not documented" in p[0], p
    p = openapi_check.check("DELETE", "/api/v1/users/7", 200, "application/json", "{}")
    assert p and "must be 405" in p[0], p
    # An unknown /api/ path may only be the router's 404.
    assert openapi_check.check("GET", "/api/v1/nope", 200, "application/json", "{}")
    # A JSON answer where the document says HTML.
    p = openapi_check.check("GET", "/admin/cache", 200, "application/json", "{}")
    assert p and "content type 'application/json' not documented" in p[0], p


def _fill(template):
    return re.sub(r"\{[^}]+\}", lambda m: "monthly_total" if m.group(0) == "{type}" else "1", template)


def test_every_documented_path_answers_405_with_the_documented_methods():
    doc = _doc()
    tok = admin_token()
    checked = 0
    for template, item in doc["paths"].items():
        path = _fill(template)
        # The most literal matching path serves, whatever the method.
        methods = openapi_check.allowed_methods(path)
        other = next(m for m in ("PUT", "PATCH", "DELETE", "POST", "GET") if m not in methods)
        # The response is validated by harness.request against the path's documented 405.
        r = request(other, path, token=tok)
        assert r.status == 405, (template, other, r)
        allow = {m.strip() for m in r.headers.get("allow", "").split(",") if m.strip()}
        assert allow == methods, (template, allow, methods)
        if template.startswith("/api/"):
            assert_error(r, 405, "method_not_allowed")
        checked += 1
    assert checked == len(doc["paths"]) and checked >= 30, checked
    # No fall-through: a literal path's missing method is its own 405, not the
    # parameterised route's answer (which would be a 400 for the id "stats").
    for method, path, allow in (("PATCH", "/api/v1/opportunities/stats", {"GET"}),
                                ("DELETE", "/api/v1/opportunities/stats", {"GET"}),
                                ("PATCH", "/api/v1/opportunities/preferences", {"GET", "PUT"}),
                                ("DELETE", "/api/v1/opportunities/preferences", {"GET", "PUT"})):
        r = request(method, path, body={} if method == "PATCH" else None, token=tok)
        assert_error(r, 405, "method_not_allowed")
        assert {m.strip() for m in r.headers.get("allow", "").split(",")} == allow, (method, path, r.headers)
    # ... while an id still reaches the parameterised routes
    uid, utok = new_user("Router literal")
    o = post("/api/v1/opportunities", {"title": "Routed"}, token=utok).json
    r = request("PATCH", "/api/v1/opportunities/%d" % o["id"], body={"location": "Here"}, token=utok)
    assert r.status == 200 and r.json["location"] == "Here", r
    assert_error(request("PATCH", "/api/v1/opportunities/stat", body={}, token=utok), 400, "invalid_argument",
                 "opportunity_id")


def test_unknown_paths_are_the_documented_404():
    tok = admin_token()
    for path in ("/api/v1/nope", "/api/v1/users/1/nope", "/api/v2/health", "/api/v1/health/"):
        assert_error(get(path, token=tok), 404, "not_found")
    r = get("/admin/nope")
    assert r.status in (303, 404), r   # not logged in: to the login page, else the HTML 404


def test_400_for_the_wrong_json_type_422_for_refused_values():
    uid, tok = new_user("OpenAPI Rules")
    url = "/api/v1/users/%d/transactions" % uid
    assert_error(post(url, {}, token=tok), 400, "invalid_argument", "body")
    assert_error(post(url, {"date": "2026-01-01", "amount": -1}, token=tok), 400, "invalid_argument", "body")
    assert_error(post(url, [], token=tok), 422, "invalid_argument", "body")
    r = post(url, [{"date": "2026-01-01", "amount": "-1.5"}, {"date": "2026-02-30", "amount": 3},
                   {"date": "2026-01-02", "amount": "1.234"}], token=tok)
    assert_error(r, 422, "invalid_argument")
    assert sorted(x["index"] for x in r.json["rejected"]) == [1, 2], r
    # Nothing was stored.
    assert get(url, token=tok).json["aggregates"]["count"] == 0


def test_money_signs_and_rounding_as_documented():
    uid, tok = new_user("OpenAPI Money")
    url = "/api/v1/users/%d/transactions" % uid
    amounts = ["-10.00", "-0.01", "-0.02", "25.00"]      # cents: -1000, -1, -2, 2500
    r = post(url, [{"date": "2026-03-0%d" % (i + 1), "amount": a, "category": "Cat"} for i, a in enumerate(amounts)],
             token=tok)
    assert r.status == 201, r
    agg = get(url, token=tok).json["aggregates"]
    assert agg["count"] == 4
    assert agg["total_spent"] == 10.03          # debits as a positive number
    assert agg["total_income"] == 25.0
    # signed mean: (2500 - 1003) / 4 = 374.25 cents -> 374 (half away from zero) = 3.74
    assert agg["average"] == 3.74, agg
    r = post(url, [{"date": "2026-03-10", "amount": "-3.75"}], token=tok)   # sum 1497 - 375 = 1122
    agg = get(url, token=tok).json["aggregates"]
    # 1122 / 5 = 224.4 cents -> 224
    assert agg["average"] == 2.24, agg
    r = post(url, [{"date": "2026-03-11", "amount": "-30.01"}], token=tok)  # sum 1122 - 3001 = -1879
    agg = get(url, token=tok).json["aggregates"]
    # -1879 / 6 = -313.17 cents -> -313: a negative mean stays negative
    assert agg["average"] == -3.13, agg
    m = get("/api/v1/users/%d/metrics/monthly_total?period=2026-03" % uid, token=tok).json["value"]
    assert m["spending"] == 43.79 and m["income"] == 25.0, m     # 1003 + 375 + 3001 = 4379
    assert m["net"] == round(25.0 - 43.79, 2), m
