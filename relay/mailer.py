"""E-mail operators about failing, disabled and recovered webhooks.

Runs in a thread of the relay's supervisor, apart from the worker
processes, so a slow or broken mail server never delays a delivery. Each
notification is claimed in the database before its mail is sent, so two
relays never mail the same one, and a failed mail is tried again later with
growing pauses.
"""

import logging
import smtplib
import threading
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

import psycopg

from relay.config import Settings
from relay.database import connect
from relay.errors import DatabaseUnavailable
from relay.store.notification_email import (
    PendingEmail,
    claim_notification_emails,
    mark_notification_emailed,
)

log = logging.getLogger(__name__)

SENDER = "Streto Webhooks <streto-webhooks@localhost>"
SMTP_TIMEOUT = 10.0
CHECK_INTERVAL = 2.0
# A mail try that fails is retried after 1, 2, 3 … minutes, 10 times at
# most, and only for notifications from the last day.
_RETRY_STEP = timedelta(minutes=1)
_MAX_ATTEMPTS = 10
_WINDOW = timedelta(days=1)
_BATCH = 20

_SUBJECTS = {
    "webhook.failing": "Webhook {name} is failing",
    "webhook.disabled": "Webhook {name} was disabled",
    "webhook.recovered": "Webhook {name} recovered",
}


class NotificationMailer:
    """Send one mail per notification to every configured operator."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        location = urlsplit(settings.smtp_url or "")
        self._host = location.hostname or "127.0.0.1"
        self._port = location.port or 25
        self._connection: psycopg.Connection | None = None

    def run(self, stop: threading.Event) -> None:
        """Send due mails every few seconds until stop is set."""
        while not stop.is_set():
            try:
                self.send_due()
            except (DatabaseUnavailable, psycopg.OperationalError) as error:
                log.warning("notification mail check skipped: %s", error)
                self._close()
            stop.wait(CHECK_INTERVAL)
        self._close()

    def send_due(self) -> int:
        """Mail every notification that is due now; return how many went out."""
        connection = self._database()
        pending = claim_notification_emails(
            connection, _BATCH, _RETRY_STEP, _WINDOW, _MAX_ATTEMPTS
        )
        sent = 0
        for notification in pending:
            if self._send(notification):
                mark_notification_emailed(connection, notification.id)
                sent += 1
        return sent

    def _send(self, notification: PendingEmail) -> bool:
        extra = {
            "notification_id": str(notification.id),
            "webhook_id": str(notification.webhook_id),
            "kind": notification.kind,
        }
        try:
            with smtplib.SMTP(self._host, self._port, timeout=SMTP_TIMEOUT) as smtp:
                for recipient in self._settings.notify_emails:
                    smtp.send_message(_compose(notification, recipient))
        except (OSError, smtplib.SMTPException) as error:
            log.warning(
                "mail about notification %s failed, will retry: %s",
                notification.id,
                error,
                extra=extra,
            )
            return False
        log.info(
            "mailed %d operators about %s of webhook %s",
            len(self._settings.notify_emails),
            notification.kind,
            notification.webhook_id,
            extra=extra,
        )
        return True

    def _database(self) -> psycopg.Connection:
        if self._connection is None or self._connection.closed:
            self._connection = connect(self._settings.database_url)
        return self._connection

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _compose(notification: PendingEmail, recipient: str) -> EmailMessage:
    message = EmailMessage()
    subject = _SUBJECTS.get(notification.kind, "Webhook {name}: " + notification.kind)
    message["Subject"] = subject.format(name=repr(notification.webhook_name))
    message["From"] = SENDER
    message["To"] = recipient
    created = notification.created_at.isoformat(timespec="seconds")
    message.set_content(
        f"{notification.kind}: webhook {notification.webhook_name!r}"
        f" ({notification.webhook_id})\n"
        f"Last execution: {notification.message}\n"
        f"Time: {created}\n"
    )
    return message
