"""The /webhooks endpoints against a real database."""

import base64
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient

from tests.integration.api_client import api_client

DATE_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
UUID_FORMAT = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
UNKNOWN_ID = "7b0f5a3e-3f0e-4c1e-9d0a-6a1f2b3c4d5e"


@pytest.fixture
def client(database_url: str) -> Iterator[FlaskClient]:
    """Return an authenticated test client of the API."""
    with api_client(database_url) as test_client:
        yield test_client


def create(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    """Create a webhook with valid defaults for the fields not given."""
    body = {"name": "Orders", "url": "https://example.com/hooks", **fields}
    response = client.post("/webhooks", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def post_raw(client: FlaskClient, body: str) -> Any:
    """POST a JSON text as it is, so it can carry escapes json= would not."""
    return client.post("/webhooks", data=body, content_type="application/json")


def field_errors(response: Any, location: str = "json") -> dict[str, Any]:
    """Return the per-field messages of a 422 response."""
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["code"] == 422
    return body["errors"][location]


def names(response: Any) -> list[str]:
    """Return the names of the webhooks in a list response."""
    assert response.status_code == 200, response.get_json()
    return [webhook["name"] for webhook in response.get_json()]


def set_created_at(db: psycopg.Connection, webhook_id: str, created_at: str) -> None:
    """Move a webhook's creation time, to test date filters and sorting."""
    db.execute(
        "UPDATE webhooks.webhook SET created_at = %s WHERE id = %s",
        (created_at, webhook_id),
    )


# Create


def test_create_returns_webhook(client: FlaskClient) -> None:
    response = client.post(
        "/webhooks",
        json={
            "name": "Orders",
            "description": "Sends orders to the ERP.",
            "url": "https://erp.example.com/hooks",
            "eventCodes": ["order.created", "order.updated"],
            "enabled": True,
        },
    )

    assert response.status_code == 201
    webhook = response.get_json()
    assert set(webhook) == {
        "id",
        "createdAt",
        "updatedAt",
        "name",
        "description",
        "url",
        "eventCodes",
        "enabled",
        "successiveFailureCount",
    }
    assert UUID_FORMAT.match(webhook["id"])
    assert DATE_FORMAT.match(webhook["createdAt"])
    assert webhook["updatedAt"] is None
    assert webhook["name"] == "Orders"
    assert webhook["description"] == "Sends orders to the ERP."
    assert webhook["url"] == "https://erp.example.com/hooks"
    assert webhook["eventCodes"] == ["order.created", "order.updated"]
    assert webhook["enabled"] is True
    assert webhook["successiveFailureCount"] == 0


def test_create_defaults(client: FlaskClient) -> None:
    webhook = create(client)

    assert webhook["enabled"] is False
    assert webhook["description"] is None
    assert webhook["eventCodes"] == []


def test_create_stores_signing_secret(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    webhook = create(client)

    assert "secret" not in webhook
    row = db.execute(
        "SELECT secret FROM webhooks.webhook WHERE id = %s", (webhook["id"],)
    ).fetchone()
    assert row is not None
    secret = row[0]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32


def test_create_secrets_differ(client: FlaskClient, db: psycopg.Connection) -> None:
    create(client)
    create(client)

    rows = db.execute("SELECT DISTINCT secret FROM webhooks.webhook").fetchall()
    assert len(rows) == 2


def test_create_trims_name(client: FlaskClient) -> None:
    webhook = create(client, name="  Orders  ")

    assert webhook["name"] == "Orders"


def test_create_name_length_counts_trimmed(client: FlaskClient) -> None:
    webhook = create(client, name=f"  {'n' * 200}  ")

    assert webhook["name"] == "n" * 200


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://example.com/"},
        {"name": None, "url": "https://example.com/"},
        {"name": "", "url": "https://example.com/"},
        {"name": "   \t ", "url": "https://example.com/"},
        {"name": "n" * 201, "url": "https://example.com/"},
        {"name": 5, "url": "https://example.com/"},
    ],
    ids=["missing", "null", "empty", "blank", "too-long", "number"],
)
def test_create_invalid_name(client: FlaskClient, body: dict[str, Any]) -> None:
    response = client.post("/webhooks", json=body)

    assert set(field_errors(response)) == {"name"}


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/hooks",
        "http://localhost:8080",
        "http://127.0.0.1:9000/hooks",
        "http://[::1]:8080/hooks",
        "http://[2001:db8::1]/",
        "http://receiver/hooks",
        "https://example.com/a/b?c=d&e=f#g",
        "HTTPS://Example.COM/",
        "http://internal_host.local/",
        "http://münchen.example/",
        "https://example.com/" + "p" * (2048 - len("https://example.com/")),
    ],
)
def test_create_accepts_url(client: FlaskClient, url: str) -> None:
    webhook = create(client, url=url)

    assert webhook["url"] == url


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "/relative/path",
        "example.com/hooks",
        "ftp://example.com/",
        "javascript:alert(1)",
        "http://",
        "http:///path",
        "http://user:password@example.com/",
        "http://user@example.com/",
        "http://exa mple.com/",
        " http://example.com/",
        "http://example.com/\n",
        "http://[::1/",
        "http://[not-an-ip]/",
        "http://example.com:99999/",
        "http://example.com:0/",
        "http://example.com:port/",
        "http://1.2.3.4.5/",
        "http://300.1.1.1/",
        "http://-bad.example/",
        "http://a..b/",
        "https://example.com/" + "p" * (2049 - len("https://example.com/")),
        42,
    ],
)
def test_create_rejects_url(client: FlaskClient, url: Any) -> None:
    response = client.post("/webhooks", json={"name": "n", "url": url})

    assert set(field_errors(response)) == {"url"}


def test_create_url_missing(client: FlaskClient) -> None:
    response = client.post("/webhooks", json={"name": "n"})

    assert set(field_errors(response)) == {"url"}


def test_create_url_credentials_message(client: FlaskClient) -> None:
    response = client.post(
        "/webhooks", json={"name": "n", "url": "https://bob:pw@example.com/"}
    )

    assert "user name or password" in field_errors(response)["url"][0]


def test_create_unknown_event_code_named(client: FlaskClient) -> None:
    response = client.post(
        "/webhooks",
        json={
            "name": "n",
            "url": "https://example.com/",
            "eventCodes": ["order.created", "order.exploded"],
        },
    )

    messages = field_errors(response)["eventCodes"]
    assert len(messages) == 1
    assert "order.exploded" in messages[0]


def test_create_too_many_event_codes(client: FlaskClient) -> None:
    codes = [f"order.code{number}" for number in range(101)]

    response = client.post(
        "/webhooks",
        json={"name": "n", "url": "https://example.com/", "eventCodes": codes},
    )

    messages = field_errors(response)["eventCodes"]
    assert messages == ["Must list at most 100 event codes, not 101."]


def test_patch_too_many_event_codes(client: FlaskClient) -> None:
    webhook_id = client.post(
        "/webhooks", json={"name": "n", "url": "https://example.com/"}
    ).get_json()["id"]

    response = client.patch(
        f"/webhooks/{webhook_id}", json={"eventCodes": ["order.created"] * 101}
    )

    messages = field_errors(response)["eventCodes"]
    assert messages == ["Must list at most 100 event codes, not 101."]


def test_create_duplicate_event_codes(client: FlaskClient) -> None:
    response = client.post(
        "/webhooks",
        json={
            "name": "n",
            "url": "https://example.com/",
            "eventCodes": ["order.created", "order.created"],
        },
    )

    messages = field_errors(response)["eventCodes"]
    assert "order.created" in messages[0]
    assert "more than once" in messages[0]


@pytest.mark.parametrize(
    "event_codes", ["order.created", [1], [None], None, {"order.created": True}]
)
def test_create_event_codes_wrong_type(client: FlaskClient, event_codes: Any) -> None:
    response = client.post(
        "/webhooks",
        json={"name": "n", "url": "https://example.com/", "eventCodes": event_codes},
    )

    assert set(field_errors(response)) == {"eventCodes"}


def test_create_accepts_all_catalog_codes(client: FlaskClient) -> None:
    codes = [
        "import.started",
        "import.finished",
        "order.created",
        "order.updated",
        "shipment.created",
        "shipment.updated",
        "invoice.created",
        "product.created",
        "product.updated",
    ]

    webhook = create(client, eventCodes=codes)

    assert webhook["eventCodes"] == codes


@pytest.mark.parametrize("enabled", ["true", 1, 0, None, "yes"])
def test_create_enabled_not_boolean(client: FlaskClient, enabled: Any) -> None:
    response = client.post(
        "/webhooks",
        json={"name": "n", "url": "https://example.com/", "enabled": enabled},
    )

    assert set(field_errors(response)) == {"enabled"}


def test_create_description_limits(client: FlaskClient) -> None:
    assert create(client, description="d" * 2000)["description"] == "d" * 2000
    assert create(client, description=None)["description"] is None

    response = client.post(
        "/webhooks",
        json={"name": "n", "url": "https://example.com/", "description": "d" * 2001},
    )

    assert set(field_errors(response)) == {"description"}


@pytest.mark.parametrize(
    "field, value",
    [
        ("id", str(uuid.uuid4())),
        ("createdAt", "2024-01-15T16:40:36.829Z"),
        ("updatedAt", None),
        ("successiveFailureCount", 0),
    ],
)
def test_create_read_only_field(client: FlaskClient, field: str, value: Any) -> None:
    response = client.post(
        "/webhooks", json={"name": "n", "url": "https://example.com/", field: value}
    )

    errors = field_errors(response)
    assert set(errors) == {field}
    assert "Read-only" in errors[field][0]


@pytest.mark.parametrize("field", ["secret", "event_codes", "color"])
def test_create_unknown_field(client: FlaskClient, field: str) -> None:
    response = client.post(
        "/webhooks", json={"name": "n", "url": "https://example.com/", field: "x"}
    )

    errors = field_errors(response)
    assert set(errors) == {field}
    assert "Unknown field" in errors[field][0]


def test_create_reports_every_invalid_field(client: FlaskClient) -> None:
    response = client.post(
        "/webhooks",
        json={"name": "", "url": "ftp://x", "eventCodes": ["nope"], "id": "x"},
    )

    assert set(field_errors(response)) == {"name", "url", "eventCodes", "id"}


@pytest.mark.parametrize("field", ["name", "description", "url"])
@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800", "\\udfff"])
def test_create_unstorable_text(client: FlaskClient, field: str, escape: str) -> None:
    body = {"name": "n", "url": "https://example.com/", field: "PLACEHOLDER"}
    # The escape goes into the JSON text, since json.dumps would not write NUL
    # or a lone surrogate as-is.
    raw = json.dumps(body).replace("PLACEHOLDER", f"a{escape}b")

    response = post_raw(client, raw)

    assert set(field_errors(response)) == {field}


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800"])
def test_create_unstorable_event_code(client: FlaskClient, escape: str) -> None:
    raw = '{"name": "n", "url": "https://example.com/", "eventCodes": ["order%s"]}'

    response = post_raw(client, raw % escape)

    assert set(field_errors(response)) == {"eventCodes"}


def test_create_unstorable_unknown_field_name(client: FlaskClient) -> None:
    response = post_raw(
        client, '{"name": "n", "url": "https://example.com/", "\\ud800": 1}'
    )

    assert response.status_code == 422


@pytest.mark.parametrize("body", ["[]", '"name"', "null", "42", "true"])
def test_create_body_not_object(client: FlaskClient, body: str) -> None:
    response = post_raw(client, body)

    assert response.status_code == 422
    assert response.get_json()["code"] == 422


def test_create_empty_body(client: FlaskClient) -> None:
    response = post_raw(client, "")

    assert set(field_errors(response)) == {"name", "url"}


# Get


def test_get_returns_webhook(client: FlaskClient) -> None:
    webhook = create(client, eventCodes=["invoice.created"])

    response = client.get(f"/webhooks/{webhook['id']}")

    assert response.status_code == 200
    assert response.get_json() == webhook


def test_get_accepts_uppercase_id(client: FlaskClient) -> None:
    webhook = create(client)

    response = client.get(f"/webhooks/{webhook['id'].upper()}")

    assert response.status_code == 200
    assert response.get_json()["id"] == webhook["id"]


def test_get_unknown_id(client: FlaskClient) -> None:
    response = client.get(f"/webhooks/{UNKNOWN_ID}")

    assert response.status_code == 404
    body = response.get_json()
    assert body["code"] == 404
    assert UNKNOWN_ID in body["message"]


@pytest.mark.parametrize(
    "webhook_id",
    [
        "not-a-uuid",
        "1234",
        "7b0f5a3e3f0e4c1e9d0a6a1f2b3c4d5e0",
        "%00",
        "'--",
        "%E2%98%83",
    ],
)
def test_get_malformed_id(client: FlaskClient, webhook_id: str) -> None:
    response = client.get(f"/webhooks/{webhook_id}")

    assert response.status_code == 404
    assert response.get_json()["code"] == 404


# Update


def test_patch_changes_only_sent_fields(client: FlaskClient) -> None:
    webhook = create(client, description="Old", eventCodes=["order.created"])

    response = client.patch(f"/webhooks/{webhook['id']}", json={"name": "  New  "})

    assert response.status_code == 200
    changed = response.get_json()
    assert changed["name"] == "New"
    assert changed["description"] == "Old"
    assert changed["url"] == webhook["url"]
    assert changed["eventCodes"] == ["order.created"]
    assert changed["enabled"] is False
    assert changed["createdAt"] == webhook["createdAt"]


def test_patch_sets_updated_at(client: FlaskClient) -> None:
    webhook = create(client)

    changed = client.patch(f"/webhooks/{webhook['id']}", json={"url": "http://x/"})

    updated_at = changed.get_json()["updatedAt"]
    assert DATE_FORMAT.match(updated_at)
    assert updated_at >= webhook["createdAt"]
    assert (
        client.get(f"/webhooks/{webhook['id']}").get_json()["updatedAt"] == updated_at
    )


def test_patch_empty_body_sets_updated_at(client: FlaskClient) -> None:
    webhook = create(client)

    response = client.patch(f"/webhooks/{webhook['id']}", json={})

    assert response.status_code == 200
    assert response.get_json()["updatedAt"] is not None


def test_patch_all_fields(client: FlaskClient) -> None:
    webhook = create(client, description="Old")

    response = client.patch(
        f"/webhooks/{webhook['id']}",
        json={
            "name": "Shipments",
            "description": None,
            "url": "http://[::1]:9000/in",
            "eventCodes": ["shipment.created"],
            "enabled": True,
        },
    )

    changed = response.get_json()
    assert changed["name"] == "Shipments"
    assert changed["description"] is None
    assert changed["url"] == "http://[::1]:9000/in"
    assert changed["eventCodes"] == ["shipment.created"]
    assert changed["enabled"] is True


def test_patch_enabling_resets_failure_count(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    webhook = create(client)
    db.execute(
        "UPDATE webhooks.webhook SET successive_failure_count = 7 WHERE id = %s",
        (webhook["id"],),
    )
    assert (
        client.get(f"/webhooks/{webhook['id']}").get_json()["successiveFailureCount"]
        == 7
    )

    response = client.patch(f"/webhooks/{webhook['id']}", json={"enabled": True})

    assert response.get_json()["enabled"] is True
    assert response.get_json()["successiveFailureCount"] == 0


def test_patch_disabling_keeps_failure_count(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    webhook = create(client, enabled=True)
    db.execute(
        "UPDATE webhooks.webhook SET successive_failure_count = 3 WHERE id = %s",
        (webhook["id"],),
    )

    response = client.patch(f"/webhooks/{webhook['id']}", json={"enabled": False})

    assert response.get_json()["enabled"] is False
    assert response.get_json()["successiveFailureCount"] == 3


def test_patch_disabling_holds_instances(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    webhook = create(client, enabled=True, eventCodes=["order.created"])
    db.execute("SELECT webhooks.emit('order.created', '{}')")

    client.patch(f"/webhooks/{webhook['id']}", json={"enabled": False})
    after_disable = db.execute("SELECT held, due_at FROM webhooks.instance").fetchone()
    client.patch(f"/webhooks/{webhook['id']}", json={"enabled": True})
    after_enable = db.execute("SELECT held, due_at FROM webhooks.instance").fetchone()

    assert after_disable == (True, None)
    assert after_enable is not None
    assert after_enable[0] is False
    assert after_enable[1] is not None


def test_patch_same_enabled_keeps_failure_count(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    webhook = create(client, enabled=True)
    db.execute(
        "UPDATE webhooks.webhook SET successive_failure_count = 4 WHERE id = %s",
        (webhook["id"],),
    )

    response = client.patch(f"/webhooks/{webhook['id']}", json={"enabled": True})

    assert response.get_json()["successiveFailureCount"] == 4


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": ""}, "name"),
        ({"name": "  "}, "name"),
        ({"name": None}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"url": "ftp://example.com/"}, "url"),
        ({"url": "http://user:pw@example.com/"}, "url"),
        ({"url": None}, "url"),
        ({"eventCodes": ["order.exploded"]}, "eventCodes"),
        ({"eventCodes": ["order.created", "order.created"]}, "eventCodes"),
        ({"enabled": None}, "enabled"),
        ({"enabled": "false"}, "enabled"),
        ({"description": "d" * 2001}, "description"),
        ({"id": UNKNOWN_ID}, "id"),
        ({"createdAt": "2024-01-15T16:40:36.829Z"}, "createdAt"),
        ({"updatedAt": "2024-01-15T16:40:36.829Z"}, "updatedAt"),
        ({"successiveFailureCount": 0}, "successiveFailureCount"),
        ({"secret": "whsec_x"}, "secret"),
    ],
)
def test_patch_invalid_field(
    client: FlaskClient, body: dict[str, Any], field: str
) -> None:
    webhook = create(client)

    response = client.patch(f"/webhooks/{webhook['id']}", json=body)

    assert set(field_errors(response)) == {field}
    assert client.get(f"/webhooks/{webhook['id']}").get_json() == webhook


def test_patch_unstorable_text(client: FlaskClient) -> None:
    webhook = create(client)

    response = client.patch(
        f"/webhooks/{webhook['id']}",
        data='{"description": "a\\u0000b", "name": "\\udc80"}',
        content_type="application/json",
    )

    assert set(field_errors(response)) == {"description", "name"}


def test_patch_unknown_id(client: FlaskClient) -> None:
    response = client.patch(f"/webhooks/{UNKNOWN_ID}", json={"name": "n"})

    assert response.status_code == 404
    assert response.get_json()["code"] == 404


def test_patch_unknown_id_enabling(client: FlaskClient) -> None:
    response = client.patch(f"/webhooks/{UNKNOWN_ID}", json={"enabled": True})

    assert response.status_code == 404
    assert UNKNOWN_ID in response.get_json()["message"]


def test_patch_malformed_id(client: FlaskClient) -> None:
    response = client.patch("/webhooks/not-a-uuid", json={"name": "n"})

    assert response.status_code == 404
    assert response.get_json()["code"] == 404


# Delete


def test_delete_removes_webhook(client: FlaskClient) -> None:
    webhook = create(client)

    response = client.delete(f"/webhooks/{webhook['id']}")

    assert response.status_code == 204
    assert response.data == b""
    assert client.get(f"/webhooks/{webhook['id']}").status_code == 404


def test_delete_removes_instances(client: FlaskClient, db: psycopg.Connection) -> None:
    webhook = create(client, enabled=True, eventCodes=["order.created"])
    other = create(client, enabled=True, eventCodes=["order.created"])
    db.execute("SELECT webhooks.emit('order.created', '{\"id\": 1}')")
    db.execute(
        "INSERT INTO webhooks.execution (instance_id, success, message)"
        " SELECT id, false, 'HTTP 500 Internal Server Error' FROM webhooks.instance"
    )

    client.delete(f"/webhooks/{webhook['id']}")

    instances = db.execute("SELECT webhook_id FROM webhooks.instance").fetchall()
    assert [str(row[0]) for row in instances] == [other["id"]]
    executions = db.execute("SELECT count(*) FROM webhooks.execution").fetchone()
    assert executions == (1,)


def test_delete_unknown_id(client: FlaskClient) -> None:
    response = client.delete(f"/webhooks/{UNKNOWN_ID}")

    assert response.status_code == 404
    assert response.get_json()["code"] == 404


def test_delete_twice(client: FlaskClient) -> None:
    webhook = create(client)

    first = client.delete(f"/webhooks/{webhook['id']}")
    second = client.delete(f"/webhooks/{webhook['id']}")

    assert first.status_code == 204
    assert second.status_code == 404


def test_delete_malformed_id(client: FlaskClient) -> None:
    response = client.delete("/webhooks/x")

    assert response.status_code == 404


# List and count


def test_list_empty(client: FlaskClient) -> None:
    response = client.get("/webhooks")

    assert response.status_code == 200
    assert response.get_json() == []


def test_list_newest_first_by_default(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    for number, name in enumerate(["a", "b", "c"]):
        webhook = create(client, name=name)
        set_created_at(db, webhook["id"], f"2024-01-0{number + 1}T00:00:00Z")

    assert names(client.get("/webhooks")) == ["c", "b", "a"]


def test_list_returns_full_webhooks(client: FlaskClient) -> None:
    webhook = create(client, eventCodes=["product.created"], enabled=True)

    assert client.get("/webhooks").get_json() == [webhook]


def test_list_default_limit(client: FlaskClient) -> None:
    for number in range(21):
        create(client, name=f"w{number}")

    assert len(client.get("/webhooks").get_json()) == 20
    assert client.get("/webhooks/count").get_json() == {"count": 21}


def test_list_paging(client: FlaskClient, db: psycopg.Connection) -> None:
    for number in range(5):
        webhook = create(client, name=f"w{number}")
        set_created_at(db, webhook["id"], f"2024-01-0{number + 1}T00:00:00Z")

    first = names(client.get("/webhooks?limit=2&sort=createdAt"))
    second = names(client.get("/webhooks?limit=2&offset=2&sort=createdAt"))
    last = names(client.get("/webhooks?limit=2&offset=4&sort=createdAt"))
    beyond = names(client.get("/webhooks?limit=2&offset=5&sort=createdAt"))

    assert first == ["w0", "w1"]
    assert second == ["w2", "w3"]
    assert last == ["w4"]
    assert beyond == []


def test_list_limit_bounds(client: FlaskClient) -> None:
    for number in range(3):
        create(client, name=f"w{number}")

    assert len(client.get("/webhooks?limit=1").get_json()) == 1
    assert client.get("/webhooks?limit=100").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=abc",
        "limit=1.5",
        "limit=",
        "offset=-1",
        "offset=x",
        "offset=2147483648",
        "offset=" + "9" * 5000,
    ],
)
def test_list_paging_out_of_range(client: FlaskClient, query: str) -> None:
    response = client.get(f"/webhooks?{query}")

    assert set(field_errors(response, "query")) == {query.split("=")[0]}


def test_list_filter_name(client: FlaskClient) -> None:
    for name in ["Orders ERP", "erp shipments", "Invoices"]:
        create(client, name=name)

    assert sorted(names(client.get("/webhooks?name=ERP"))) == [
        "Orders ERP",
        "erp shipments",
    ]
    assert names(client.get("/webhooks?name=voice")) == ["Invoices"]
    assert names(client.get("/webhooks?name=nothing")) == []


@pytest.mark.parametrize(
    "pattern, expected",
    [("%", ["100% done"]), ("_", ["snake_case"]), ("\\", ["back\\slash"])],
)
def test_list_filter_name_wildcards_literal(
    client: FlaskClient, pattern: str, expected: list[str]
) -> None:
    for name in ["100% done", "snake_case", "back\\slash", "plain"]:
        create(client, name=name)

    response = client.get("/webhooks", query_string={"name": pattern})

    assert names(response) == expected


def test_list_filter_enabled(client: FlaskClient) -> None:
    create(client, name="on", enabled=True)
    create(client, name="off")

    assert names(client.get("/webhooks?enabled=true")) == ["on"]
    assert names(client.get("/webhooks?enabled=false")) == ["off"]


def test_list_filter_event_code(client: FlaskClient) -> None:
    create(client, name="orders", eventCodes=["order.created", "order.updated"])
    create(client, name="updates", eventCodes=["order.updated", "product.updated"])
    create(client, name="none")

    assert names(client.get("/webhooks?eventCode=order.created")) == ["orders"]
    assert sorted(names(client.get("/webhooks?eventCode=order.updated"))) == [
        "orders",
        "updates",
    ]
    assert names(client.get("/webhooks?eventCode=invoice.created")) == []


def test_list_filter_unknown_event_code(client: FlaskClient) -> None:
    response = client.get("/webhooks?eventCode=order.exploded")

    errors = field_errors(response, "query")
    assert "order.exploded" in errors["eventCode"][0]


def test_list_filter_created_range(client: FlaskClient, db: psycopg.Connection) -> None:
    for name, created_at in [
        ("jan", "2024-01-15T10:00:00Z"),
        ("feb", "2024-02-15T10:00:00Z"),
        ("mar", "2024-03-15T10:00:00Z"),
    ]:
        set_created_at(db, create(client, name=name)["id"], created_at)

    in_range = client.get(
        "/webhooks?createdFrom=2024-02-01T00:00:00.000Z&createdTo=2024-03-01T00:00:00Z"
    )
    from_only = client.get("/webhooks?createdFrom=2024-02-15T10:00:00.000Z")
    to_only = client.get("/webhooks?createdTo=2024-02-15T10:00:00.000Z")
    with_offset = client.get(
        "/webhooks", query_string={"createdFrom": "2024-02-15T11:00:00+01:00"}
    )
    date_only = client.get("/webhooks?createdFrom=2024-03-15")

    assert names(in_range) == ["feb"]
    assert names(from_only) == ["mar", "feb"]
    assert names(to_only) == ["feb", "jan"]
    assert names(with_offset) == ["mar", "feb"]
    assert names(date_only) == ["mar"]


def test_list_filter_created_to_includes_returned_time(client: FlaskClient) -> None:
    webhook = create(client)

    response = client.get(
        "/webhooks",
        query_string={
            "createdFrom": webhook["createdAt"],
            "createdTo": webhook["createdAt"],
        },
    )

    assert names(response) == [webhook["name"]]


@pytest.mark.parametrize(
    "query",
    [
        "createdFrom=yesterday",
        "createdFrom=2024-13-01T00:00:00Z",
        "createdTo=2024-01-15T25:00:00Z",
        "createdTo=",
        "createdFrom=0001-01-01T00:00:00+01:00",
        "createdTo=9999-12-31T23:59:59-01:00",
        "createdFrom=1705336836",
    ],
)
def test_list_filter_malformed_date(client: FlaskClient, query: str) -> None:
    response = client.get(f"/webhooks?{query}")

    assert set(field_errors(response, "query")) == {query.split("=")[0]}


@pytest.mark.parametrize("query", ["enabled=maybe", "name=a%00b", "eventCode=order%00"])
def test_list_filter_invalid_value(client: FlaskClient, query: str) -> None:
    response = client.get(f"/webhooks?{query}")

    assert set(field_errors(response, "query")) == {query.split("=")[0]}


@pytest.mark.parametrize("query", ["color=red", "page=2", "created_from=2024-01-01"])
def test_list_unknown_parameter(client: FlaskClient, query: str) -> None:
    response = client.get(f"/webhooks?{query}")

    assert set(field_errors(response, "query")) == {query.split("=")[0]}


def test_list_sort_created_at(client: FlaskClient, db: psycopg.Connection) -> None:
    for name, day in [("b", 2), ("a", 1), ("c", 3)]:
        set_created_at(db, create(client, name=name)["id"], f"2024-01-0{day}T00:00:00Z")

    assert names(client.get("/webhooks?sort=createdAt")) == ["a", "b", "c"]
    assert names(client.get("/webhooks?sort=-createdAt")) == ["c", "b", "a"]


def test_list_sort_name(client: FlaskClient) -> None:
    for name in ["charlie", "Bravo", "alpha"]:
        create(client, name=name)

    assert names(client.get("/webhooks?sort=name")) == ["alpha", "Bravo", "charlie"]
    assert names(client.get("/webhooks?sort=-name")) == ["charlie", "Bravo", "alpha"]


def test_list_sort_failure_count(client: FlaskClient, db: psycopg.Connection) -> None:
    for name, count in [("two", 2), ("zero", 0), ("nine", 9)]:
        webhook = create(client, name=name)
        db.execute(
            "UPDATE webhooks.webhook SET successive_failure_count = %s WHERE id = %s",
            (count, webhook["id"]),
        )

    ascending = client.get("/webhooks?sort=successiveFailureCount")
    descending = client.get("/webhooks?sort=-successiveFailureCount")

    assert names(ascending) == ["zero", "two", "nine"]
    assert names(descending) == ["nine", "two", "zero"]


@pytest.mark.parametrize(
    "sort", ["createdAt", "-createdAt", "name", "successiveFailureCount"]
)
def test_list_sort_ties_by_id(
    client: FlaskClient, db: psycopg.Connection, sort: str
) -> None:
    ids = [create(client, name="same")["id"] for _ in range(6)]
    db.execute("UPDATE webhooks.webhook SET created_at = '2024-01-01T00:00:00Z'")

    pages = [
        client.get(f"/webhooks?sort={sort}&limit=2&offset={offset}").get_json()
        for offset in (0, 2, 4)
    ]

    listed = [webhook["id"] for page in pages for webhook in page]
    expected = sorted(ids, reverse=sort.startswith("-"))
    assert listed == expected


@pytest.mark.parametrize("sort", ["url", "-enabled", "created_at", "--name", ""])
def test_list_unknown_sort(client: FlaskClient, sort: str) -> None:
    response = client.get("/webhooks", query_string={"sort": sort})

    assert set(field_errors(response, "query")) == {"sort"}


def test_count_matches_list_filters(
    client: FlaskClient, db: psycopg.Connection
) -> None:
    create(client, name="Orders", enabled=True, eventCodes=["order.created"])
    create(client, name="orders backup", eventCodes=["order.created"])
    old = create(client, name="Products", enabled=True, eventCodes=["product.created"])
    set_created_at(db, old["id"], "2023-06-01T00:00:00Z")
    queries = [
        "",
        "name=order",
        "enabled=true",
        "enabled=false",
        "eventCode=order.created",
        "eventCode=import.started",
        "createdFrom=2024-01-01T00:00:00Z",
        "createdTo=2024-01-01T00:00:00Z",
        "name=order&enabled=true&eventCode=order.created",
    ]

    for query in queries:
        listed = client.get(f"/webhooks?{query}&limit=100").get_json()
        count = client.get(f"/webhooks/count?{query}").get_json()
        assert count == {"count": len(listed)}, query


@pytest.mark.parametrize("query", ["limit=5", "offset=1", "sort=name", "color=red"])
def test_count_rejects_list_only_parameters(client: FlaskClient, query: str) -> None:
    response = client.get(f"/webhooks/count?{query}")

    assert set(field_errors(response, "query")) == {query.split("=")[0]}


@pytest.mark.parametrize(
    "query", ["eventCode=nope.nothing", "createdFrom=soon", "enabled=perhaps"]
)
def test_count_invalid_filter(client: FlaskClient, query: str) -> None:
    response = client.get(f"/webhooks/count?{query}")

    assert set(field_errors(response, "query")) == {query.split("=")[0]}
