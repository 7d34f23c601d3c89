"""Operators get an e-mail per notification; a broken mail server costs nothing."""

import json
import socket
import threading
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message

import psycopg
import pytest
from aiosmtpd.controller import Controller

from tests.end_to_end.conftest import RelayProcess, add_webhook, scalar, wait_until
from tests.receiver import Receiver


class _Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self._lock = threading.Lock()

    async def handle_DATA(
        self, server: object, session: object, envelope: object
    ) -> str:
        message = message_from_bytes(envelope.content)  # type: ignore[attr-defined]
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[_Inbox, int]]:
    handler = _Inbox()
    port = _closed_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_disabled_webhook_mails_each_operator(
    db: psycopg.Connection,
    receiver: Receiver,
    start_relay: Callable[..., RelayProcess],
    inbox: tuple[_Inbox, int],
) -> None:
    handler, port = inbox
    receiver.script("/hook", 500)
    add_webhook(db, receiver.url(), ["order.created"])
    relay = start_relay(
        WEBHOOKS_DISABLE_AFTER="1",
        WEBHOOKS_SMTP_URL=f"smtp://127.0.0.1:{port}",
        WEBHOOKS_NOTIFY_EMAILS="ops@example.test, lead@example.test",
    )

    db.execute("SELECT webhooks.emit('order.created', %s)", (json.dumps({}),))

    wait_until(lambda: len(handler.messages) == 2, timeout=20)
    recipients = sorted(rcpt for rcpts, _ in handler.messages for rcpt in rcpts)
    assert recipients == ["lead@example.test", "ops@example.test"]
    message = handler.messages[0][1]
    assert message["Subject"] == "Webhook 'test' was disabled"
    assert "HTTP 500 Internal Server Error" in message.get_payload()
    wait_until(
        lambda: (
            scalar(db, "SELECT emailed_at IS NOT NULL FROM webhooks.notification")
            is True
        )
    )
    assert relay.stop() == 0


def test_broken_mail_server_never_blocks_delivery(
    db: psycopg.Connection,
    receiver: Receiver,
    start_relay: Callable[..., RelayProcess],
) -> None:
    receiver.script("/hook", 500, 500, 200)
    add_webhook(db, receiver.url(), ["order.created"])
    relay = start_relay(
        WEBHOOKS_DISABLE_AFTER="4",
        WEBHOOKS_SMTP_URL=f"smtp://127.0.0.1:{_closed_port()}",
        WEBHOOKS_NOTIFY_EMAILS="ops@example.test",
    )

    db.execute("SELECT webhooks.emit('order.created', '{}')")

    wait_until(
        lambda: scalar(db, "SELECT state FROM webhooks.instance") == "success",
        timeout=20,
    )
    wait_until(lambda: "mail about notification" in relay.log(), timeout=10)
    assert (
        scalar(
            db, "SELECT count(*) FROM webhooks.notification WHERE emailed_at IS NULL"
        )
        == 2
    )
    assert relay.stop() == 0
