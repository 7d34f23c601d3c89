"""Fuzz every operation of /openapi.json with schemathesis.

Schemathesis generates valid and invalid requests from the API's own OpenAPI
document and sends them to the Flask app through WSGI, in this process,
against the test's database. Every response must be a documented status,
never a 5xx, with a body that matches the documented schema.

Execute now and the webhook test send HTTP requests to whatever URL a
webhook has, and the fuzzer creates webhooks with arbitrary URLs. The app
therefore gets a Sender that lets only 127.0.0.1 through to the real
Sender, which blocks it too since private targets are not allowed, and a
resolver that refuses every name. Tripwires on urllib3's connect and on
name resolution fail the test if anything tries to reach the network.
"""

import re
import socket
from collections.abc import Callable, Iterator
from typing import Any

import hypothesis
import psycopg
import pytest
import schemathesis
import urllib3
from flask import Flask
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok
from schemathesis.errors import FailureGroup

from api import create_app
from api.database import get_database
from api.sender import close_sender
from relay.config import ApiToken, Settings
from relay.delivery import Outcome, Sender, SignedRequest
from relay.guard import ResolutionFailed
from tests.integration.api_client import AUTH, OPERATOR, TOKEN

# Rows with known ids, so that generated paths also reach existing entities.
WEBHOOK_ID = "5d3c2b1a-0f9e-4d8c-b7a6-958473625140"
INSTANCE_IDS = (
    "6e4d3c2b-1a0f-4e9d-8c7b-a69584736251",
    "7f5e4d3c-2b1a-4f0e-9d8c-b7a695847362",
)
NOTIFICATION_ID = "806f5e4d-3c2b-4a1f-8e9d-c8b7a6958473"
SEEDED_IDS = {
    "webhook_id": [WEBHOOK_ID],
    "instance_id": list(INSTANCE_IDS),
    "notification_id": [NOTIFICATION_ID],
}

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

# Examples per operation and generation mode. The whole test took about 35 s
# with 100 on a 2-core machine; raise it for a deeper local run.
MAX_EXAMPLES = 100


class LoopbackOnlySender(Sender):
    """A Sender that hands only 127.0.0.1 URLs to the real Sender.

    Every other URL fails at once without a connection. The fuzz app does
    not allow private targets, so the real Sender blocks 127.0.0.1 as well:
    no request leaves this process.
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, resolver=reject_every_name)
        self.urls: list[str] = []

    def post(self, url: str, request: SignedRequest) -> Outcome:
        """Record url, then block it unless its host is 127.0.0.1."""
        self.urls.append(url)
        try:
            host = urllib3.util.parse_url(url).host
        except urllib3.exceptions.LocationParseError:
            host = None
        if host != "127.0.0.1":
            return Outcome(
                success=False,
                message=f"Blocked: {host} is outside the fuzz test",
                duration_ms=0,
            )
        return super().post(url, request)


def reject_every_name(host: str, port: int) -> list[str]:
    """Resolve no host name, so no DNS query is ever made."""
    raise ResolutionFailed(f"DNS lookup failed for {host}")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail any outgoing connection or name lookup made through Python."""
    attempts: list[str] = []

    def tripwire(name: str) -> Callable[..., Any]:
        def fail(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{name}{args!r}")
            raise OSError(f"the fuzz test made a network call: {name}{args!r}")

        return fail

    monkeypatch.setattr(
        urllib3.util.connection, "create_connection", tripwire("create_connection")
    )
    monkeypatch.setattr(socket, "getaddrinfo", tripwire("getaddrinfo"))
    monkeypatch.setattr(
        socket, "create_connection", tripwire("socket.create_connection")
    )
    yield attempts
    assert attempts == []


def seed(db: psycopg.Connection) -> None:
    """Store a webhook with a failed and a successful instance and a notification.

    Rows left from an earlier seed are replaced.
    """
    db.execute("DELETE FROM webhooks.webhook WHERE id = %s", (WEBHOOK_ID,))
    db.execute("DELETE FROM webhooks.notification WHERE id = %s", (NOTIFICATION_ID,))
    db.execute(
        "INSERT INTO webhooks.webhook (id, name, url, event_codes, enabled, secret)"
        " VALUES (%s, 'Orders', 'http://127.0.0.1:9/hook', '{order.created}', false,"
        " 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')",
        (WEBHOOK_ID,),
    )
    for instance_id, state in zip(INSTANCE_IDS, ("failed", "success"), strict=True):
        event = db.execute(
            "INSERT INTO webhooks.outbox (event_code, payload)"
            " VALUES ('order.created', '{\"id\": 1}') RETURNING id"
        ).fetchone()
        assert event is not None
        db.execute(
            "INSERT INTO webhooks.instance"
            " (id, webhook_id, event_id, event_code, state, remaining_retries,"
            " execution_count)"
            " VALUES (%s, %s, %s, 'order.created', %s, 3, 1)",
            (instance_id, WEBHOOK_ID, event[0], state),
        )
        db.execute(
            "INSERT INTO webhooks.execution"
            " (instance_id, success, message, response_status, response_headers,"
            " response_body)"
            " VALUES (%s, %s, 'HTTP 503 Service Unavailable', 503,"
            ' \'{"content-type": "text/plain"}\', \'"busy"\')',
            (instance_id, state == "success"),
        )
    db.execute(
        "INSERT INTO webhooks.notification"
        " (id, kind, webhook_id, webhook_name, message)"
        " VALUES (%s, 'webhook.failing', %s, 'Orders', 'Connection refused')",
        (NOTIFICATION_ID, WEBHOOK_ID),
    )


@pytest.fixture
def fuzzed_app(
    database_url: str, db: psycopg.Connection, no_network: list[str]
) -> Iterator[Flask]:
    """Return the API app on the test's database, unable to reach the network."""
    settings = Settings(
        database_url=database_url,
        api_tokens=(ApiToken(TOKEN, OPERATOR),),
        allow_private_targets=False,
        timeout=2.0,
    )
    app = create_app(settings, sender=LoopbackOnlySender(settings))
    try:
        yield app
    finally:
        close_sender(app)
        get_database(app).close()


def seeded_path_parameters(path: str) -> list[dict[str, str]]:
    """Return path parameter sets that name the seeded rows, for one path."""
    names = re.findall(r"{(\w+)}", path)
    if not names:
        return []
    return [
        {name: SEEDED_IDS[name][index % len(SEEDED_IDS[name])] for name in names}
        for index in range(max(len(SEEDED_IDS[name]) for name in names))
    ]


def fuzz_operation(operation: Any, mode: GenerationMode) -> list[int]:
    """Send up to MAX_EXAMPLES generated requests to one operation; check each.

    Returns the status codes of the responses.
    """
    statuses: list[int] = []
    # The token goes into the strategy, not only into the call, so that a
    # negative case never counts a missing token as its invalid part.
    strategies = [operation.as_strategy(mode, headers=AUTH)]
    strategies.extend(
        operation.as_strategy(mode, headers=AUTH, path_parameters=parameters)
        for parameters in seeded_path_parameters(operation.path)
    )

    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=st.one_of(strategies))
    def check(case: Any) -> None:
        response = case.call_and_validate(headers=AUTH, checks=CHECKS)
        statuses.append(response.status_code)

    try:
        check()
    except hypothesis.errors.Unsatisfiable:
        # An operation without parameters or body has no invalid request.
        assert mode is GenerationMode.NEGATIVE
    return statuses


def describe(error: BaseException) -> str:
    """Return the messages of error and of every exception grouped in it."""
    if isinstance(error, FailureGroup):
        # Its message already lists each failure and a curl command.
        return str(error)
    if isinstance(error, BaseExceptionGroup):
        inner = "\n".join(describe(exception) for exception in error.exceptions)
        return f"{error}\n{inner}"
    return f"{type(error).__name__}: {error}"


# psycopg_pool's worker threads draw from the global random module when they
# open a connection (lifetime jitter), and Hypothesis reports any change of
# that state during a draw as a strategy using random. The request to
# /health below opens the pool's connection before fuzzing starts; the
# filter covers a reconnect during the run.
@pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies"
    ":hypothesis.errors.HypothesisDeprecationWarning"
)
def test_openapi_fuzz(fuzzed_app: Flask, db: psycopg.Connection) -> None:
    assert fuzzed_app.test_client().get("/health").status_code == 200
    schema = schemathesis.openapi.from_wsgi("/openapi.json", fuzzed_app, headers=AUTH)
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"invalid operation in the document: {result}"
        operations.append(result.ok())
    failures = []
    statuses: dict[str, list[int]] = {}

    for operation in operations:
        for mode in GenerationMode:
            # A DELETE or PATCH before may have removed or changed the rows.
            seed(db)
            label = f"{operation.label} ({mode})"
            try:
                statuses[label] = fuzz_operation(operation, mode)
            # schemathesis raises its FailureGroup, a BaseExceptionGroup.
            except (Exception, BaseExceptionGroup) as error:
                failures.append(f"{label}:\n{describe(error)}")

    assert failures == [], "\n\n".join(failures)
    assert len(operations) >= 20
    # Every operation answered a generated request with success at least
    # once, so the seeded rows were reached and not only 404s and 422s. The
    # generator cannot make a webhook URL or event code that passes the
    # server's checks, so creating a webhook is covered by other tests.
    missed = [
        label
        for label, codes in statuses.items()
        if label.endswith("(positive)")
        and label != "POST /webhooks (positive)"
        and not any(200 <= code < 300 for code in codes)
    ]
    assert missed == []
