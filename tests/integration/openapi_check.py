"""Checks every response the integration tests receive against
docs/openapi.yaml, so the document cannot drift from the server.

The YAML is turned into JSON once per run by the real linter's bundler
(`npx --no-install redocly bundle --ext json`, from node_modules, which
scripts/test always installs: scripts/assets); no YAML parser in Python.

Rules (check(method, path, status, content_type, body) -> list of problems):
- the request path is matched against the documented paths (a literal
  segment beats a {param}); the documented operation for the method must
  exist, and so must the response for the status (exact code, then 4XX/5XX,
  then default). The most literal path serves, whatever the method (the
  router's rule); one with no operation for the method must answer 405 as
  documented by the path's operations (the router's Allow answer);
- an /api/ path matching no documented path must be the router's 404 (Error
  body); /admin/ paths likewise with the dashboard's HTML 404 page;
- test-only /api/v1/debug/ routes (TALLY_DEBUG_ROUTES) and nginx's own
  files (/static/, /) are not part of the document and are not checked;
- the response's media type must be one the status documents; a JSON body
  is validated against that schema: type, enum, const, properties, required,
  additionalProperties, items, min/maxItems, oneOf (with its discriminator's
  mapping when it has one)/anyOf/allOf, $ref, nullable,
  minimum/maximum, min/maxLength, pattern, format date / date-time.
Each problem reads "METHOD /documented/path STATUS: $.json.path: expected
..., got ...". Nothing here is weakened to let a test pass: fix the document
(or the server) instead."""
import json
import os
import re
import subprocess
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOC_YAML = os.path.join(ROOT, "docs", "openapi.yaml")

_doc = None
_paths = None          # [(regex, template, n_params)]
SEEN = set()           # (METHOD, template, status) checked, for coverage()


def _bundle():
    """The document as a dict (bundled to JSON by redocly; cached by mtime)."""
    cache_dir = os.environ.get("TALLY_VAR") or tempfile.gettempdir()
    if not os.path.isdir(cache_dir):
        cache_dir = tempfile.gettempdir()
    out = os.path.join(cache_dir, "openapi.bundled.json")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(DOC_YAML):
        if not os.path.isdir(os.path.join(ROOT, "node_modules", "@redocly", "cli")):
            raise AssertionError("openapi_check: node_modules/@redocly/cli is missing: run scripts/assets "
                                 "(the integration tests validate every response against docs/openapi.yaml)")
        tmp = out[:-len(".json")] + ".%d.tmp.json" % os.getpid()   # redocly adds .json otherwise
        env = dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true")
        p = subprocess.run(["npx", "--no-install", "redocly", "bundle", DOC_YAML, "--ext", "json", "-o", tmp],
                           cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
        if p.returncode != 0 or not os.path.exists(tmp):
            raise AssertionError("openapi_check: redocly bundle failed (%d): %s %s" % (p.returncode, p.stdout, p.stderr))
        os.replace(tmp, out)
    with open(out) as f:
        return json.load(f)


def _load():
    global _doc, _paths
    if _doc is None:
        _doc = _bundle()
        _paths = []
        for template in _doc.get("paths", {}):
            parts = template.split("/")
            rx = "/".join("[^/]+" if re.fullmatch(r"\{[^}]+\}", p) else re.escape(p) for p in parts)
            # the router's order: a literal segment beats a {param} at the first
            # segment where two templates differ (False sorts before True)
            _paths.append((re.compile("^" + rx + "$"), template, tuple(p.startswith("{") for p in parts)))
    return _doc


def _resolve(schema):
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise AssertionError("openapi_check: external $ref %s" % ref)
        node = _doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema = node
        seen += 1
        if seen > 50:
            raise AssertionError("openapi_check: $ref loop at %s" % ref)
    return schema


def _type_of(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _short(v):
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= 80 else s[:77] + "..."


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def validate(schema, v, path="$"):
    """Problems of value v against schema, as ["$.a.b: expected X, got Y"]."""
    schema = _resolve(schema)
    if schema is True or schema == {}:
        return []
    if schema is False:
        return ["%s: no value allowed here, got %s" % (path, _short(v))]
    errs = []
    for sub in schema.get("allOf", []):
        errs += validate(sub, v, path)
    if "anyOf" in schema:
        if not any(not validate(s, v, path) for s in schema["anyOf"]):
            errs.append("%s: matches none of anyOf, got %s" % (path, _short(v)))
    disc = schema.get("discriminator")
    if "oneOf" in schema and disc and isinstance(v, dict) and "mapping" in disc:
        # The discriminator picks the one schema, so a mismatch names its real path.
        tag = v.get(disc["propertyName"])
        if tag not in disc["mapping"]:
            errs.append("%s.%s: expected one of %s, got %s" % (path, disc["propertyName"],
                                                                _short(sorted(disc["mapping"])), _short(tag)))
        else:
            errs += validate({"$ref": disc["mapping"][tag]}, v, path)
    elif "oneOf" in schema:
        results = [validate(s, v, path) for s in schema["oneOf"]]
        ok = sum(not r for r in results)
        if ok != 1:
            detail = "; ".join(r[0] for r in results if r)[:300]
            errs.append("%s: matches %d of oneOf (need exactly 1), got %s%s" %
                        (path, ok, _short(v), " (" + detail + ")" if ok == 0 else ""))
    t = schema.get("type")
    if t is not None:
        types = t if isinstance(t, list) else [t]
        if schema.get("nullable"):
            types = types + ["null"]
        got = _type_of(v)
        if got not in types and not (got == "integer" and "number" in types):
            return errs + ["%s: expected %s, got %s %s" % (path, "|".join(types), got, _short(v))]
    if "const" in schema and v != schema["const"]:
        errs.append("%s: expected %s, got %s" % (path, _short(schema["const"]), _short(v)))
    if "enum" in schema and v not in schema["enum"]:
        errs.append("%s: expected one of %s, got %s" % (path, _short(schema["enum"]), _short(v)))
    if isinstance(v, dict):
        props = schema.get("properties", {})
        for k in schema.get("required", []):
            if k not in v:
                errs.append("%s: required property %r missing" % (path, k))
        extra = schema.get("additionalProperties", True)
        for k, val in v.items():
            if k in props:
                errs += validate(props[k], val, "%s.%s" % (path, k))
            elif extra is False:
                errs.append("%s: undocumented property %r (%s)" % (path, k, _short(val)))
            elif isinstance(extra, dict):
                errs += validate(extra, val, "%s.%s" % (path, k))
    elif isinstance(v, list):
        if "minItems" in schema and len(v) < schema["minItems"]:
            errs.append("%s: expected at least %d items, got %d" % (path, schema["minItems"], len(v)))
        if "maxItems" in schema and len(v) > schema["maxItems"]:
            errs.append("%s: expected at most %d items, got %d" % (path, schema["maxItems"], len(v)))
        if "items" in schema:
            for i, item in enumerate(v):
                errs += validate(schema["items"], item, "%s[%d]" % (path, i))
    elif isinstance(v, str):
        if "minLength" in schema and len(v) < schema["minLength"]:
            errs.append("%s: expected at least %d characters, got %s" % (path, schema["minLength"], _short(v)))
        if "maxLength" in schema and len(v) > schema["maxLength"]:
            errs.append("%s: expected at most %d characters, got %d" % (path, schema["maxLength"], len(v)))
        if "pattern" in schema and not re.search(schema["pattern"], v):
            errs.append("%s: expected pattern %s, got %s" % (path, schema["pattern"], _short(v)))
        fmt = schema.get("format")
        if fmt == "date" and not _DATE.match(v):
            errs.append("%s: expected a date YYYY-MM-DD, got %s" % (path, _short(v)))
        if fmt == "date-time" and not _DATETIME.match(v):
            errs.append("%s: expected an RFC 3339 date-time, got %s" % (path, _short(v)))
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        if "minimum" in schema and v < schema["minimum"]:
            errs.append("%s: expected >= %s, got %s" % (path, schema["minimum"], v))
        if "maximum" in schema and v > schema["maximum"]:
            errs.append("%s: expected <= %s, got %s" % (path, schema["maximum"], v))
    return errs


def _match_paths(path):
    """Documented templates matching path, literal segments first (the
    router's order: /opportunities/stats before /opportunities/{id})."""
    return [t for n, t in sorted((n, t) for rx, t, n in _paths if rx.match(path))]


def _match_path(path, method=None):
    """The template serving path, whatever the method: the most literal one
    (a method it lacks is its 405, as in the router)."""
    found = _match_paths(path)
    return found[0] if found else None


def allowed_methods(path):
    """The methods the router serves on path: those of the most literal
    matching template."""
    _load()
    t = _match_path(path)
    return {m.upper() for m in _doc["paths"][t] if m in ("get", "post", "put", "patch", "delete")} if t else set()


def _response_for(responses, status):
    for key in (str(status), "%dXX" % (status // 100), "default"):
        if key in responses:
            return _resolve(responses[key])
    return None


def _check_response(label, resp, status, content_type, body):
    media = (content_type or "").split(";")[0].strip().lower()
    content = resp.get("content")
    if not content:
        if media == "application/json" and body:
            return ["%s: answers a JSON body but the document gives this status no content" % label]
        return []
    if media not in content:
        return ["%s: content type %r not documented (documented: %s)" % (label, media, ", ".join(sorted(content)))]
    if media != "application/json":
        return []
    try:
        value = json.loads(body) if body else None
    except ValueError:
        return ["%s: body is not JSON: %s" % (label, body[:120])]
    schema = content[media].get("schema")
    if schema is None:
        return []
    return ["%s: %s" % (label, e) for e in validate(schema, value)]


def check(method, raw_path, status, content_type, body):
    """Problems of one response (empty list when it matches the document)."""
    _load()
    path = raw_path.split("?", 1)[0].split("#", 1)[0]
    method = method.upper()
    if path.startswith("/api/v1/debug/") or not (path.startswith("/api/") or path.startswith("/admin")
                                                  or path == "/metrics"):
        return []
    template = _match_path(path, method)
    if template is None:
        label = "%s %s (no documented path) %d" % (method, path, status)
        if status != 404:
            return ["%s: an undocumented path must be the router's 404" % label]
        if path.startswith("/api/"):
            return _check_response(label, _resolve({"$ref": "#/components/responses/NotFound"}), status,
                                   content_type, body)
        return []
    item = _doc["paths"][template]
    op = item.get(method.lower()) or (item.get("get") if method == "HEAD" else None)
    label = "%s %s %d" % (method, template, status)
    if op is None:
        SEEN.update((m.upper(), template, str(status)) for m in item if m in ("get", "post", "put", "patch", "delete"))
        if status != 405:
            return ["%s: method not documented for this path, so the answer must be 405" % label]
        ops = [o for m, o in item.items() if m in ("get", "post", "put", "patch", "delete")]
        resp = next((_resolve(o["responses"]["405"]) for o in ops if "405" in o.get("responses", {})), None)
        if resp is None:
            return ["%s: no operation of the path documents 405" % label]
        return _check_response(label, resp, status, content_type, body if method != "HEAD" else "")
    resp = _response_for(op.get("responses", {}), status)
    SEEN.add((method, template, str(status)))
    if resp is None:
        return ["%s: status not documented (documented: %s)" % (label, ", ".join(sorted(op.get("responses", {}))))]
    return _check_response(label, resp, status, content_type, body if method != "HEAD" else "")


def coverage():
    """(documented (METHOD, path, status) pairs, those that a test received)."""
    if _doc is None:
        return set(), set()
    documented = set()
    for template, item in _doc["paths"].items():
        for m, op in item.items():
            if m in ("get", "post", "put", "patch", "delete"):
                documented |= {(m.upper(), template, st) for st in op.get("responses", {})}
    return documented, SEEN & documented
