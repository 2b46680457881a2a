"""Hardening: security headers, a CSP the pages pass, secure cookies in production, and no
secrets in the repository."""

from __future__ import annotations

import math
import re
import subprocess
from collections import Counter

import pytest
from flask import url_for

from postal import ROOT, create_app
from postal.http.security import CSP
from tests.conftest import csrf_from

TEMPLATES = ROOT / "templates"


@pytest.fixture
def app_config():
    # as in production: an exception the handlers miss is a 500 answer, not a test error
    return {"PROPAGATE_EXCEPTIONS": False}

# what a strict CSP (no 'unsafe-inline') blocks: inline script bodies, inline styles,
# event-handler attributes and javascript: URLs
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I)
STYLE_BLOCK = re.compile(r"<style\b", re.I)
STYLE_ATTR = re.compile(r"""\sstyle\s*=\s*["']""", re.I)
HANDLER_ATTR = re.compile(r"""\son[a-z]+\s*=\s*["']""", re.I)
JS_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']\s*javascript:""", re.I)
FOREIGN = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*(?:src|href)\s*=\s*["'](?:https?:)?//""",
                     re.I)


def csp_breaches(html: str) -> list[str]:
    found = []
    for name, pattern in (("inline <script>", INLINE_SCRIPT), ("<style> block", STYLE_BLOCK),
                          ("style= attribute", STYLE_ATTR), ("on*= handler", HANDLER_ATTR),
                          ("javascript: URL", JS_URL), ("resource from another host", FOREIGN)):
        for m in pattern.finditer(html):
            line = html.count("\n", 0, m.start()) + 1
            found.append(f"{name} at line {line}: {html[m.start():m.start() + 60]!r}")
    return found


def test_the_breach_finder_finds_what_the_csp_blocks():
    assert csp_breaches('<script src="/static/a.js"></script><p class="x">') == []
    for bad in ("<script>alert(1)</script>", '<p style="color:red">', "<style>p{}</style>",
                '<button onclick="go()">', '<a href="javascript:go()">',
                '<script src="https://cdn.example/x.js"></script>'):
        assert csp_breaches(bad), bad


@pytest.mark.parametrize("template", sorted(str(p.relative_to(TEMPLATES))
                                            for p in TEMPLATES.rglob("*.html")))
def test_no_template_needs_what_the_csp_forbids(template):
    assert csp_breaches((TEMPLATES / template).read_text(encoding="utf-8")) == []


def _html_pages(app):
    """Every GET route without URL parameters (static files aside)."""
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static":
            yield rule.rule


def test_every_html_page_the_app_serves_passes_the_csp(app, client, login, make_user):
    login(make_user("admin"))
    breaches = {}
    for path in sorted(_html_pages(app)):
        response = client.get(path)
        if response.mimetype != "text/html":
            continue
        assert response.headers["Content-Security-Policy"] == CSP, path
        found = csp_breaches(response.get_data(as_text=True))
        if found:
            breaches[path] = found
    assert breaches == {}


def test_rendered_citizen_and_error_pages_pass_the_csp(client, centre, make_procedure):
    from tests.factories import make_dossier

    dossier = make_dossier(centre, make_procedure())
    for path in (f"/public/status?token={dossier.token}", "/public/status?code=X-1",
                 "/public/status", "/login", "/no-such-page"):
        response = client.get(path)
        assert response.mimetype == "text/html", path
        assert csp_breaches(response.get_data(as_text=True)) == [], path


def test_an_html_page_gets_its_errors_as_html_pages(client):
    """A browser asking for a missing page gets the page, not JSON (the API keeps JSON)."""
    page = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.mimetype == "text/html"
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"


def _huge_id_urls(app):
    """(method, url) of every route with an integer in its path, that integer just past what an
    INTEGER column holds (PostgreSQL refuses it, SQLite takes it up to 2**63); other parts get
    a plausible value."""
    from werkzeug.routing import AnyConverter, IntegerConverter

    for rule in app.url_map.iter_rules():
        kinds = rule._converters
        if not any(isinstance(c, IntegerConverter) for c in kinds.values()):
            continue
        values = {name: 2**31 if isinstance(c, IntegerConverter)
                  else sorted(c.items)[0] if isinstance(c, AnyConverter) else "x"
                  for name, c in kinds.items()}
        with app.test_request_context():
            url = url_for(rule.endpoint, **values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, url


def test_an_id_beyond_the_database_integers_is_not_a_server_error(app, client, login,
                                                                 make_user, api_token):
    admin = make_user("admin")
    headers = api_token(admin)
    login(admin)
    csrf = csrf_from(client.get("/public/status"))
    errors, tried = [], list(_huge_id_urls(app))
    assert len(tried) >= 5  # the routes with ids are found
    for method, url in tried:
        try:
            if url.startswith("/api/"):
                answer = app.test_client().open(url, method=method, headers=headers,
                                                json={} if method == "POST" else None)
            else:
                answer = client.open(url, method=method,
                                     data={"csrf_token": csrf} if method == "POST" else None)
        except Exception as exc:  # even the error page failed
            errors.append(f"{method} {url}: raised {type(exc).__name__}")
            continue
        if answer.status_code >= 500:
            errors.append(f"{method} {url}: {answer.status_code}")
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("path", ["/login", "/public/status", "/api/v1/openapi.json",
                                  "/api/v1/units", "/no-such-page"])
def test_every_answer_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    assert headers["Content-Security-Policy"] == CSP
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
    assert "frame-ancestors 'none'" in CSP and "object-src 'none'" in CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # plain HTTP in tests: no HSTS


@pytest.fixture
def production(database_url):
    return create_app({"ENV_NAME": "production", "SECRET_KEY": "p" * 40,
                       "SQLALCHEMY_DATABASE_URI": database_url})


def test_production_cookies_are_secure_httponly_and_same_site(production):
    client = production.test_client()
    response = client.get("/login", base_url="https://motcua.example.vn")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=")
    assert "; Secure" in cookie and "; HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cfg = production.config
    assert cfg["REMEMBER_COOKIE_SECURE"] and cfg["REMEMBER_COOKIE_HTTPONLY"]
    assert cfg["PREFERRED_URL_SCHEME"] == "https"
    assert not cfg.get("DEBUG") and not cfg.get("TESTING")


def test_production_refuses_a_weak_or_missing_secret_key(database_url):
    import config

    for key in ("", "short-key"):
        with pytest.raises(config.ConfigError, match="SECRET_KEY"):
            create_app({"ENV_NAME": "production", "SECRET_KEY": key,
                        "SQLALCHEMY_DATABASE_URI": database_url})


# -- secrets in the repository ---------------------------------------------------------------

PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY( BLOCK)?-----")
TOKEN_FORMATS = re.compile(
    r"\b(?:AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}|"
    r"xox[abprs]-[A-Za-z0-9-]{10,}|sk_live_[A-Za-z0-9]{20,}|AIza[0-9A-Za-z_-]{35}|"
    r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})")
ASSIGNED = re.compile(
    r"""(?i)\b[a-z_]*(?:password|passwd|secret|api_?key|token|private_key)[a-z_]*["']?\s*[:=]\s*"""
    r"""[rb]?["']([^"'\s{}$]{16,})["']""")
URL_PASSWORD = re.compile(r"\b[a-z+]+://[^:/\s@]+:([^@/\s]+)@")
PLACEHOLDERS = ("PASSWORD", "password", "secret", "example", "changeme", "xxx", "USER", "***")
FORBIDDEN_FILES = re.compile(r"(?:^|/)(?:\.env(?:\..*)?|id_rsa|id_ed25519|.*\.(?:pem|key|p12|pfx|"
                             r"db|sqlite3?))$")


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_real(value: str) -> bool:
    """Random-looking: long, letters and digits mixed, high entropy, not words-and-dashes."""
    if any(p in value for p in PLACEHOLDERS):
        return False
    if re.fullmatch(r"[a-z]+(?:[-_.][a-z0-9]+)+", value):  # "dev-only-not-secret"
        return False
    return (len(value) >= 16 and bool(re.search(r"\d", value))
            and bool(re.search(r"[A-Za-z]", value)) and _entropy(value) >= 3.5)


def secrets_in(text: str) -> list[str]:
    found = [m.group(0)[:40] for m in PRIVATE_KEY.finditer(text)]
    found += [m.group(0)[:12] + "…" for m in TOKEN_FORMATS.finditer(text)]
    found += [m.group(1)[:6] + "…" for m in ASSIGNED.finditer(text) if looks_real(m.group(1))]
    found += [m.group(1)[:3] + "…" for m in URL_PASSWORD.finditer(text)
              if len(m.group(1)) >= 6 and not any(p in m.group(1) for p in PLACEHOLDERS)]
    return found


def repository_files() -> list[str]:
    """Tracked files and the new ones a commit would add (ignored files excluded)."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [f for f in out.splitlines() if f and (ROOT / f).is_file()]


def test_the_secret_finder_finds_secrets():
    begin = "-----BEGIN "
    samples = [
        begin + "RSA PRIVATE KEY-----\nMIIE...", begin + "OPENSSH PRIVATE KEY-----",
        "AKIA" + "Z7Q4XK2M9P3LWR8T", "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        'SECRET_KEY = "' + "q8Vx2LmP9rT4wZ7nK3sD6fH1" + '"',
        '"api_key": "' + "9fK2mXq7Lz4Rt8Wb3Nc6Vd1Y" + '"',
        "postgresql://postal:" + "Zx9Kq2Lm7Pw4" + "@db/postal",
    ]
    for sample in samples:
        assert secrets_in(sample), sample
    for harmless in ('SECRET_KEY = "dev-only-not-secret"', 'password="correct-horse-42"',
                     "postgresql+psycopg://postal:PASSWORD@127.0.0.1/postal",
                     "postgresql+psycopg://user:pass@host/db",
                     'token = f"{rng.getrandbits(96):024x}"', "export SECRET_KEY=<random>"):
        assert not secrets_in(harmless), harmless


def test_no_secrets_in_the_repository():
    leaks = {}
    for name in repository_files():
        data = (ROOT / name).read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary (fonts)
        found = secrets_in(data.decode("utf-8", errors="replace"))
        if found:
            leaks[name] = found
    assert leaks == {}


def test_no_key_database_or_environment_files_in_the_repository():
    files = repository_files()
    assert len(files) > 50  # the listing works
    assert [f for f in files if FORBIDDEN_FILES.search(f)] == []
    ignored = (ROOT / ".gitignore").read_text()
    assert "/instance/" in ignored  # the SQLite database and uploads live there


def test_the_key_and_the_database_of_the_tests_are_not_the_production_ones():
    import config

    assert config.TestConfig.SECRET_KEY != config.DevelopmentConfig.SECRET_KEY
    assert config.ProductionConfig.SECRET_KEY == ""  # production must bring its own
