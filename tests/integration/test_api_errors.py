"""Authentication, error bodies, health and the OpenAPI document."""

import importlib
import json
import sys
import time
from collections.abc import Iterator

import psycopg
import pytest
from flask import Flask, g
from flask.testing import FlaskClient

from api import create_app
from api.database import get_database
from relay.config import ApiToken, Settings
from relay.errors import Conflict, DatabaseUnavailable, InvalidInput, NotFound
from tests.integration.api_client import AUTH, OPERATOR, api_app

UNKNOWN_ID = "7b0f5a3e-3f0e-4c1e-9d0a-6a1f2b3c4d5e"

# Every authenticated endpoint, with a body where it needs one.
PROTECTED = [
    ("GET", "/webhooks", None),
    ("POST", "/webhooks", {"name": "n", "url": "http://x/"}),
    ("GET", "/webhooks/count", None),
    ("GET", f"/webhooks/{UNKNOWN_ID}", None),
    ("PATCH", f"/webhooks/{UNKNOWN_ID}", {"name": "n"}),
    ("DELETE", f"/webhooks/{UNKNOWN_ID}", None),
    ("POST", f"/webhooks/{UNKNOWN_ID}/test", None),
    ("GET", f"/webhooks/{UNKNOWN_ID}/instances", None),
    ("GET", f"/webhooks/{UNKNOWN_ID}/instances/count", None),
    ("POST", f"/webhooks/{UNKNOWN_ID}/instances/execute", None),
    ("POST", f"/webhooks/{UNKNOWN_ID}/recover", {"since": "2024-01-01"}),
    ("GET", f"/webhook-instances/{UNKNOWN_ID}", None),
    ("POST", f"/webhook-instances/{UNKNOWN_ID}/execute", None),
    ("POST", f"/webhook-instances/{UNKNOWN_ID}/cancel", None),
    ("GET", "/notifications", None),
    ("POST", f"/notifications/{UNKNOWN_ID}/read", None),
    ("GET", "/webhook-events", None),
    ("GET", "/webhook-events/count", None),
    ("GET", "/openapi.json", None),
]

RAISED_ERRORS = {
    "not-found": NotFound("Webhook x not found."),
    "conflict": Conflict("Webhook instance x is running.", "Wait for it to finish."),
    "invalid": InvalidInput("Unknown event code 'x'."),
    "unavailable": DatabaseUnavailable("Database connection failed."),
}


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    """Return the API app with test-only routes that read g or raise."""
    with api_app(database_url) as api:

        def whoami() -> dict[str, str]:
            return {"operator": g.operator}

        def raise_relay_error(name: str) -> None:
            raise RAISED_ERRORS[name]

        def raise_bug() -> None:
            raise RuntimeError("internal detail that must not leak")

        api.add_url_rule("/test/whoami", view_func=whoami)
        api.add_url_rule("/test/raise/<name>", view_func=raise_relay_error)
        api.add_url_rule("/test/bug", view_func=raise_bug)
        yield api


@pytest.fixture
def anonymous(app: Flask) -> FlaskClient:
    """Return a test client that sends no token."""
    return app.test_client()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Return a test client that sends the bearer token."""
    test_client = app.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = AUTH["Authorization"]
    return test_client


def assert_error_body(response: object, status: int) -> dict[str, object]:
    """Check the JSON error body and return it."""
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.content_type == "application/json"  # type: ignore[attr-defined]
    body = response.get_json()  # type: ignore[attr-defined]
    assert body["code"] == status
    assert isinstance(body["status"], str)
    return body


# Authentication


@pytest.mark.parametrize("method, path, body", PROTECTED)
def test_auth_missing_token(
    anonymous: FlaskClient, method: str, path: str, body: object
) -> None:
    response = anonymous.open(path, method=method, json=body)

    assert_error_body(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer wrong-token",
        "Bearer secret-token-and-more",
        "Bearer secret-toke",
        "Bearer ",
        "Bearer",
        "Basic c2VjcmV0LXRva2Vu",
        "secret-token",
        "Token secret-token",
        "Bearer sécret",
    ],
)
def test_auth_invalid_token(anonymous: FlaskClient, authorization: str) -> None:
    response = anonymous.get("/webhooks", headers={"Authorization": authorization})

    body = assert_error_body(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "token" in str(body["message"])


def test_auth_valid_token(anonymous: FlaskClient) -> None:
    response = anonymous.get("/webhooks", headers=AUTH)

    assert response.status_code == 200


def test_auth_scheme_case_insensitive(anonymous: FlaskClient) -> None:
    response = anonymous.get(
        "/webhooks", headers={"Authorization": "bearer secret-token"}
    )

    assert response.status_code == 200


def test_auth_keeps_operator(client: FlaskClient) -> None:
    response = client.get("/test/whoami")

    assert response.get_json() == {"operator": OPERATOR}


def test_auth_matches_each_token(database_url: str) -> None:
    settings = Settings(
        database_url=database_url,
        api_tokens=(ApiToken("token-a", "alice"), ApiToken("token-b", "bob")),
    )
    app = create_app(settings)
    app.add_url_rule("/test/whoami", view_func=lambda: {"operator": g.operator})
    anonymous = app.test_client()

    response = anonymous.get(
        "/test/whoami", headers={"Authorization": "Bearer token-b"}
    )

    assert response.get_json() == {"operator": "bob"}
    get_database(app).close()


def test_auth_without_configured_tokens(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url))
    anonymous = app.test_client()

    rejected = anonymous.get("/webhooks", headers={"Authorization": "Bearer "})
    health = anonymous.get("/health")

    assert_error_body(rejected, 401)
    assert health.status_code == 200
    get_database(app).close()


@pytest.mark.parametrize("path", ["/admin", "/admin/", "/admin/webhooks"])
def test_auth_leaves_admin_paths(anonymous: FlaskClient, path: str) -> None:
    response = anonymous.get(path)

    # The Admin pages send an anonymous visitor to their own login page
    # instead of answering 401 for a missing bearer token.
    assert response.status_code in (302, 308)
    assert "/admin/" in response.headers["Location"]


def test_auth_not_skipped_for_lookalike_paths(anonymous: FlaskClient) -> None:
    assert_error_body(anonymous.get("/administrator"), 401)
    assert_error_body(anonymous.get("/health/extra"), 401)


# Health


def test_health_needs_no_token(anonymous: FlaskClient) -> None:
    response = anonymous.get("/health")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_health_database_down() -> None:
    # A database that does not exist on the test server fails every connect.
    settings = Settings(
        database_url="postgresql://postgres@127.0.0.1:5432/streto_no_such_database"
    )
    app = create_app(settings)

    try:
        response = app.test_client().get("/health")
    finally:
        get_database(app).close()

    body = assert_error_body(response, 503)
    assert "PostgreSQL" in str(body["message"])


def test_health_survives_lost_connections(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/webhooks").status_code == 200

    # In the select list, the function runs only for the rows the WHERE
    # clause keeps, so the test's own connection survives.
    terminated = db.execute(
        "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = 'streto-api'"
        " AND datname = current_database()"
    ).fetchall()

    assert terminated
    assert all(row[1] for row in terminated)
    wait_for_backends_to_exit(db, [row[0] for row in terminated])
    assert client.get("/health").status_code == 200
    assert client.get("/webhooks").status_code == 200


def test_health_survives_many_lost_connections(
    app: Flask, client: FlaskClient, db: psycopg.Connection
) -> None:
    # Fill the pool with four idle connections, then break them all. Without
    # a sweep, the pool's check back-off would outlast the health timeout.
    database = get_database(app)
    borrowed = [database.getconn() for _ in range(4)]
    for connection in borrowed:
        database.putconn(connection)
    terminated = db.execute(
        "SELECT pid FROM pg_stat_activity"
        " WHERE application_name = 'streto-api'"
        " AND datname = current_database()"
    ).fetchall()
    pids = [row[0] for row in terminated]
    db.execute(
        "SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,)
    )
    wait_for_backends_to_exit(db, pids)

    response = client.get("/health")

    assert len(pids) == 4
    assert response.status_code == 200


def wait_for_backends_to_exit(db: psycopg.Connection, pids: list[int]) -> None:
    """Wait up to 5 s until the server processes with these pids are gone."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        row = db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)
        ).fetchone()
        if row == (0,):
            return
        time.sleep(0.05)
    raise AssertionError(f"terminated API connections {pids} still open after 5 s")


# Error bodies


def test_errors_unknown_path(client: FlaskClient) -> None:
    body = assert_error_body(client.get("/no/such/path"), 404)

    assert "message" in body


@pytest.mark.parametrize(
    "method, path",
    [
        ("PUT", "/webhooks"),
        ("DELETE", "/webhooks"),
        ("POST", f"/webhooks/{UNKNOWN_ID}"),
        ("PUT", f"/webhooks/{UNKNOWN_ID}"),
        ("POST", "/webhooks/count"),
        ("POST", "/webhook-events"),
        ("POST", "/health"),
    ],
)
def test_errors_method_not_allowed(client: FlaskClient, method: str, path: str) -> None:
    response = client.open(path, method=method)

    assert_error_body(response, 405)
    assert "GET" in response.headers["Allow"]


def test_errors_body_too_large(client: FlaskClient) -> None:
    body = json.dumps({"name": "n", "url": "http://x/", "description": "d" * 1048577})

    response = client.post("/webhooks", data=body, content_type="application/json")

    assert_error_body(response, 413)


def test_errors_body_just_under_limit(client: FlaskClient) -> None:
    padding = "d" * (1024 * 1024 - 100)
    body = json.dumps({"name": "n", "url": "http://x/", "description": padding})

    response = client.post("/webhooks", data=body, content_type="application/json")

    # Parsed and validated (too long a description), not refused for size.
    errors = assert_error_body(response, 422)["errors"]
    assert set(errors["json"]) == {"description"}  # type: ignore[index]


@pytest.mark.parametrize(
    "body",
    [
        "{",
        "{'name': 'n'}",
        '{"name": "n",}',
        "undefined",
        '{"name": "n"} trailing',
        '{"name": NaN}',
        '{"name": Infinity}',
        '{"name": 1e999}',
        '{"name": ' + "9" * 5000 + "}",
    ],
)
def test_errors_invalid_json(client: FlaskClient, body: str) -> None:
    response = client.post("/webhooks", data=body, content_type="application/json")

    assert_error_body(response, 400)


def test_errors_invalid_utf8(client: FlaskClient) -> None:
    response = client.post(
        "/webhooks", data=b'{"name": "\xff\xfe"}', content_type="application/json"
    )

    assert_error_body(response, 400)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_errors_deeply_nested_json(
    client: FlaskClient, method: str, opening: str
) -> None:
    path = "/webhooks" if method == "POST" else f"/webhooks/{UNKNOWN_ID}"
    body = opening * 100_000

    response = client.open(
        path, method=method, data=body, content_type="application/json"
    )

    assert_error_body(response, 400)


def test_errors_nested_json_in_field(client: FlaskClient) -> None:
    nested = "[" * 500 + "]" * 500
    body = (
        '{"name": '
        + nested
        + ', "url": "http://x/", "description": {"a": '
        + nested
        + "}}"
    )

    response = client.post("/webhooks", data=body, content_type="application/json")

    errors = assert_error_body(response, 422)["errors"]
    assert set(errors["json"]) == {"name", "description"}  # type: ignore[index]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml"],
)
def test_errors_body_not_json(client: FlaskClient, content_type: str) -> None:
    response = client.post(
        "/webhooks", data='{"name": "n", "url": "http://x/"}', content_type=content_type
    )

    assert_error_body(response, 415)


def test_errors_json_suffix_content_type(client: FlaskClient) -> None:
    response = client.post(
        "/webhooks",
        data='{"name": "n", "url": "http://x/"}',
        content_type="application/merge-patch+json",
    )

    assert response.status_code == 201


def test_errors_unhandled_exception(client: FlaskClient) -> None:
    response = client.get("/test/bug")

    body = assert_error_body(response, 500)
    text = response.get_data(as_text=True)
    assert "Traceback" not in text
    assert "internal detail" not in text
    assert "message" in body


@pytest.mark.parametrize(
    "name, status",
    [("not-found", 404), ("conflict", 409), ("invalid", 422), ("unavailable", 503)],
)
def test_errors_relay_error_status(client: FlaskClient, name: str, status: int) -> None:
    body = assert_error_body(client.get(f"/test/raise/{name}"), status)

    assert body["message"].startswith(RAISED_ERRORS[name].message)  # type: ignore[union-attr]


def test_errors_hint_in_message(client: FlaskClient) -> None:
    body = assert_error_body(client.get("/test/raise/conflict"), 409)

    assert body["message"] == "Webhook instance x is running. Wait for it to finish."


# OpenAPI document


def test_openapi_needs_token(anonymous: FlaskClient) -> None:
    assert_error_body(anonymous.get("/openapi.json"), 401)


def test_openapi_document(client: FlaskClient) -> None:
    response = client.get("/openapi.json")

    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    assert document["security"] == [{"bearerAuth": []}]
    assert document["paths"]["/health"]["get"]["security"] == []
    assert set(document["paths"]) == {
        "/webhooks",
        "/webhooks/count",
        "/webhooks/{webhook_id}",
        "/webhooks/{webhook_id}/secret",
        "/webhooks/{webhook_id}/secret/rotate",
        "/webhooks/{webhook_id}/test",
        "/webhooks/{webhook_id}/instances",
        "/webhooks/{webhook_id}/instances/count",
        "/webhooks/{webhook_id}/instances/execute",
        "/webhooks/{webhook_id}/recover",
        "/webhook-instances/{instance_id}",
        "/webhook-instances/{instance_id}/execute",
        "/webhook-instances/{instance_id}/cancel",
        "/webhook-events",
        "/webhook-events/count",
        "/notifications",
        "/notifications/{notification_id}/read",
        "/audit",
        "/audit/count",
        "/health",
    }


def test_openapi_documents_error_statuses(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            statuses = set(operation["responses"])
            where = f"{method} {path}"
            assert "503" in statuses, where
            assert operation.get("description"), where
            if path != "/health":
                assert "401" in statuses, where
            if "_id}" in path:
                assert "404" in statuses, where
            if path.startswith("/webhook-instances/") and method == "post":
                assert "409" in statuses, where
            if operation.get("requestBody") or operation.get("parameters"):
                assert "422" in statuses, where
            if operation.get("requestBody"):
                assert {"400", "413", "415"} <= statuses, where


def test_openapi_webhook_schema(client: FlaskClient) -> None:
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]

    webhook = schemas["Webhook"]["properties"]
    for field in ("id", "createdAt", "updatedAt", "successiveFailureCount"):
        assert webhook[field]["readOnly"] is True, field
    assert webhook["createdAt"]["format"] == "date-time"
    assert "secret" not in webhook


# WSGI entry point


def test_wsgi_import_needs_no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/streto_no_such_database"
    )
    monkeypatch.setenv("WEBHOOKS_API_TOKENS", "alice:secret-token")
    monkeypatch.delitem(sys.modules, "wsgi", raising=False)

    wsgi = importlib.import_module("wsgi")

    try:
        assert isinstance(wsgi.app, Flask)
        rules = {rule.rule for rule in wsgi.app.url_map.iter_rules()}
        assert "/webhooks" in rules
        assert "/health" in rules
    finally:
        get_database(wsgi.app).close()
