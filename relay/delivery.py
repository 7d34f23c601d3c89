"""Send one signed webhook request and describe what came back.

urllib3 errors are translated here, once, into an Outcome whose message is
one plain sentence ("HTTP 503 Service Unavailable", "Connection refused",
"Timed out after 10 s"). Nothing in this module raises for a failed
delivery: every failure is an Outcome with success False.
"""

import email.utils
import http
import http.client
import json
import logging
import math
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    LocationParseError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from relay.config import Settings
from relay.deadline import POOL_CLASSES, WATCHDOG
from relay.guard import (
    BlockedDestination,
    ResolutionFailed,
    Resolver,
    resolve_destination,
    system_resolver,
)
from relay.signing import signature_header

log = logging.getLogger(__name__)

# Receivers sometimes answer with whole HTML pages; operators need the start
# of the body to see what went wrong, not megabytes of it.
MAX_BODY_BYTES = 64 * 1024
USER_AGENT = "Streto-Webhooks/0.1"
_READ_CHUNK = 16 * 1024
# Parsed bodies nested deeper than this are kept as text: the database's
# JSON type and the API's serializer both recurse over nesting.
_MAX_JSON_DEPTH = 64


@dataclass(frozen=True)
class Outcome:
    """The result of one HTTP try, in the shape of a WebhookExec."""

    success: bool
    message: str
    duration_ms: int
    has_response: bool = False
    response_status: int | None = None
    response_headers: dict[str, str] | None = None
    response_body: Any = None
    retry_after_seconds: float | None = None

    def as_result(self, instance_id: str, *, manual: bool = False) -> dict[str, Any]:
        """Return the JSON object that webhooks.record_executions reads."""
        result: dict[str, Any] = {
            "instanceId": instance_id,
            "success": self.success,
            "manual": manual,
            "message": self.message,
            "durationMs": self.duration_ms,
            "hasResponse": self.has_response,
        }
        if self.has_response:
            result["responseStatus"] = self.response_status
            result["responseHeaders"] = self.response_headers
            result["responseBody"] = self.response_body
        if self.retry_after_seconds is not None:
            result["retryAfterSeconds"] = self.retry_after_seconds
        return result


@dataclass(frozen=True)
class SignedRequest:
    """A delivery request body and its headers, signed and ready to send."""

    body: bytes
    headers: dict[str, str]


def build_request(
    *,
    message_id: str,
    webhook_id: str,
    event_code: str,
    retry_number: int,
    payload: Any,
    signing_secrets: list[str],
    timestamp: int | None = None,
) -> SignedRequest:
    """Build the WebhookBody JSON and its Standard Webhooks headers."""
    body = json.dumps(
        {
            "id": message_id,
            "webhookId": webhook_id,
            "eventCode": event_code,
            "retryNumber": retry_number,
            "payload": payload,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(
            signing_secrets, message_id, timestamp, body
        ),
    }
    return SignedRequest(body=body, headers=headers)


class Sender:
    """Post signed requests through one shared urllib3 pool manager.

    Thread-safe: the relay's delivery threads share one Sender, so
    keep-alive connections to a receiver are reused across instances.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        max_connections_per_host: int = 10,
        resolver: Resolver = system_resolver,
        ca_certs: str | None = None,
    ) -> None:
        self._timeout = settings.timeout
        self._connect_timeout = settings.connect_timeout
        self._allow_private = settings.allow_private_targets
        self._resolver = resolver
        self._manager = urllib3.PoolManager(
            num_pools=256,
            maxsize=max_connections_per_host,
            block=False,
            retries=False,
            # Certificates are always verified. ca_certs replaces the
            # system's trusted authorities (which SSL_CERT_FILE can also
            # point elsewhere) with the ones in that PEM file.
            cert_reqs="CERT_REQUIRED",
            ca_certs=ca_certs,
        )
        self._manager.pool_classes_by_scheme = POOL_CLASSES  # type: ignore[assignment]

    def close(self) -> None:
        """Close every pooled connection."""
        self._manager.clear()

    def post(self, url: str, request: SignedRequest) -> Outcome:
        """Send one POST and return its Outcome; never raises for HTTP trouble."""
        started = time.monotonic()
        WATCHDOG.start(started + self._timeout)
        try:
            return self._post(url, request, started)
        except _REQUEST_ERRORS as error:
            if WATCHDOG.finish():
                return _failure(f"Timed out after {self._timeout:g} s", started)
            return _failure(self._describe_error(error, url), started)
        finally:
            WATCHDOG.finish()

    def _describe_error(self, error: BaseException, url: str) -> str:
        """Return the one-line message for an exception of one request."""
        if isinstance(error, BlockedDestination | ResolutionFailed):
            return str(error)
        if isinstance(error, LocationParseError):
            return f"Invalid URL {url!r}"
        if isinstance(error, NewConnectionError):
            # Checked before ConnectTimeoutError, which urllib3 2 makes its
            # base class.
            return _describe_connection_error(error)
        if isinstance(error, ConnectTimeoutError):
            return f"Connection timed out after {self._connect_timeout:g} s"
        if isinstance(error, ReadTimeoutError | _DeadlineExceeded):
            return f"Timed out after {self._timeout:g} s"
        if isinstance(error, SSLError):
            return _describe_tls_error(error)
        if isinstance(error, ProtocolError):
            return _describe_protocol_error(error)
        return f"Request failed: {_first_line(error)}"

    def _post(self, url: str, request: SignedRequest, started: float) -> Outcome:
        parsed = urllib3.util.parse_url(url)
        scheme = (parsed.scheme or "http").lower()
        if scheme not in ("http", "https") or not parsed.host:
            return _failure(f"Invalid URL {url!r}", started)
        port = parsed.port or (443 if scheme == "https" else 80)
        host = parsed.host.strip("[]")

        destination = resolve_destination(
            host, port, allow_private=self._allow_private, resolver=self._resolver
        )
        pool_kwargs: dict[str, Any] = {}
        if scheme == "https":
            # Connect to the checked address but verify the certificate, and
            # send SNI, for the host name the operator configured.
            pool_kwargs = {"server_hostname": host, "assert_hostname": host}
        pool = self._manager.connection_from_host(
            destination.address, port, scheme, pool_kwargs=pool_kwargs
        )

        headers = dict(request.headers)
        headers["host"] = _host_header(parsed.host, parsed.port)
        response = pool.urlopen(
            "POST",
            parsed.request_uri,
            body=request.body,
            headers=headers,
            retries=False,
            redirect=False,
            assert_same_host=False,
            timeout=urllib3.Timeout(connect=self._connect_timeout, read=self._timeout),
            preload_content=False,
        )
        try:
            body = self._read_body(response, started)
        finally:
            if response.isclosed():  # type: ignore[attr-defined]
                response.release_conn()
            else:
                # Unread bytes would poison the next request on a reused
                # connection, so drop this one instead of returning it.
                response.close()
        return _describe_response(response, body, started)

    def _read_body(self, response: urllib3.BaseHTTPResponse, started: float) -> "_Body":
        """Read at most MAX_BODY_BYTES + 1 bytes before the request deadline.

        A body that breaks off (a short Content-Length, broken chunks or
        compression) ends the read early: the status line and headers have
        arrived, so the answer still counts, with a note in the message.
        """
        deadline = started + self._timeout
        chunks: list[bytes] = []
        size = 0
        broken: str | None = None
        while size <= MAX_BODY_BYTES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _DeadlineExceeded
            _limit_socket_wait(response, remaining)
            try:
                # read1 returns what has arrived instead of waiting for a
                # full chunk, so a receiver trickling bytes meets the
                # deadline check.
                chunk = response.read1(min(_READ_CHUNK, MAX_BODY_BYTES + 1 - size))
            except (HTTPError, OSError, http.client.HTTPException) as error:
                if isinstance(error, ReadTimeoutError) or time.monotonic() >= deadline:
                    raise _DeadlineExceeded from error
                broken = _first_line(error)
                break
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        body = b"".join(chunks)
        return _Body(
            content=body[:MAX_BODY_BYTES],
            truncated=len(body) > MAX_BODY_BYTES,
            broken=broken,
        )


@dataclass(frozen=True)
class _Body:
    """The part of a response body that was read, and how reading ended."""

    content: bytes
    truncated: bool
    broken: str | None


def _limit_socket_wait(response: urllib3.BaseHTTPResponse, seconds: float) -> None:
    """Make the next socket read give up when the request deadline passes."""
    connection = getattr(response, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(max(0.01, seconds))


class _DeadlineExceeded(Exception):
    """The whole request took longer than the configured timeout."""


_REQUEST_ERRORS = (
    BlockedDestination,
    ResolutionFailed,
    _DeadlineExceeded,
    HTTPError,
    OSError,
    http.client.HTTPException,
)


def _failure(message: str, started: float) -> Outcome:
    return Outcome(success=False, message=message, duration_ms=_elapsed_ms(started))


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _host_header(host: str, port: int | None) -> str:
    return host if port is None else f"{host}:{port}"


def _describe_response(
    response: urllib3.BaseHTTPResponse, body: _Body, started: float
) -> Outcome:
    status = response.status
    # Iterating the header dict gives each name once; getlist keeps every
    # value of a repeated header, such as set-cookie.
    headers = {
        sanitize_text(name.lower()): ", ".join(
            _header_text(value) for value in response.headers.getlist(name)
        )
        for name in response.headers
    }
    message = f"HTTP {status} {_reason_phrase(status, response.reason)}".strip()
    success = 200 <= status < 300
    if 300 <= status < 400:
        location = headers.get("location", "")
        message = (
            f"Redirect to {_one_line(location)} not followed"
            if location
            else f"{message}: redirects are not followed"
        )
    if body.truncated:
        message += f"; response body truncated to {MAX_BODY_BYTES // 1024} KiB"
    if body.broken is not None:
        message += f"; response body incomplete: {body.broken}"
    retry_after = None
    if status in (429, 503):
        retry_after = parse_retry_after(headers.get("retry-after"))
    return Outcome(
        success=success,
        message=message,
        duration_ms=_elapsed_ms(started),
        has_response=True,
        response_status=status,
        response_headers=headers,
        response_body=decode_body(
            body.content,
            headers.get("content-type", ""),
            truncated=body.truncated or body.broken is not None,
        ),
        retry_after_seconds=retry_after,
    )


def _header_text(value: str) -> str:
    """Return a header value as text, reading UTF-8 where the receiver sent it.

    http.client decodes header bytes as ISO-8859-1, which turns UTF-8 into
    mojibake; bytes that are not valid UTF-8 keep that decoding.
    """
    try:
        value = value.encode("iso-8859-1").decode("utf-8")
    except UnicodeError:
        pass
    return sanitize_text(value)


def _reason_phrase(status: int, reason: str | None) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return _one_line(reason or "")


def decode_body(body: bytes, content_type: str, truncated: bool) -> Any:
    """Return the stored form of a response body.

    Parsed JSON for a JSON content type whose body parses, the text
    otherwise, and None for an empty body. A truncated body is always text.
    """
    if not body:
        return None
    text = sanitize_text(body.decode("utf-8", errors="replace"))
    if truncated or not _is_json_content_type(content_type):
        return text
    try:
        # PostgreSQL's JSON type has no NaN or Infinity, and 1e999 parses to
        # infinity, so such bodies are kept as text.
        parsed = json.loads(
            text, parse_constant=_reject_constant, parse_float=_finite_float
        )
    except (ValueError, RecursionError):
        return text
    if _depth(parsed) > _MAX_JSON_DEPTH:
        return text
    return _sanitize_json(parsed)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is out of range")
    return value


def _is_json_content_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _depth(value: Any, limit: int = _MAX_JSON_DEPTH + 1) -> int:
    """Return the nesting depth of a parsed JSON value, stopping at limit."""
    depth = 0
    level = [value]
    while level and depth < limit:
        children: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                children.extend(item.values())
            elif isinstance(item, list):
                children.extend(item)
        depth += 1
        level = children
    return depth


def _sanitize_json(value: Any) -> Any:
    if isinstance(value, str):
        return sanitize_text(value)
    if isinstance(value, list):
        return [_sanitize_json(item) for item in value]
    if isinstance(value, dict):
        return {sanitize_text(key): _sanitize_json(item) for key, item in value.items()}
    return value


def sanitize_text(text: str) -> str:
    """Replace NUL and lone surrogates, which PostgreSQL cannot store."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    return text.encode("utf-8", errors="replace").decode("utf-8")


def parse_retry_after(value: str | None) -> float | None:
    """Return the seconds a Retry-After header asks to wait, or None."""
    if not value:
        return None
    value = value.strip()
    # isdigit alone is true for characters such as "²", which float rejects.
    if value.isascii() and value.isdigit():
        seconds = float(value)
        return seconds if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _describe_connection_error(error: NewConnectionError) -> str:
    cause = error.__cause__ or error.__context__
    if isinstance(cause, ConnectionRefusedError) or "refused" in str(error).lower():
        return "Connection refused"
    if isinstance(cause, socket.timeout):
        return "Connection timed out"
    return f"Connection failed: {_first_line(cause or error)}"


def _describe_tls_error(error: SSLError) -> str:
    text = str(error)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        # The tail of OpenSSL's text names the cause, such as "self-signed
        # certificate" or "Hostname mismatch, certificate is not valid for ...".
        cause = text.rpartition("certificate verify failed:")[2]
        cause = cause.strip().rstrip(")").strip("'\"").strip()
        return f"TLS certificate not trusted: {_one_line(cause) or 'verify failed'}"
    if "doesn't match" in text:
        # urllib3's own host name check, used when connecting to an address.
        return f"TLS certificate not trusted: {_first_line(error)}"
    return f"TLS handshake failed: {_first_line(error)}"


def _describe_protocol_error(error: ProtocolError) -> str:
    # urllib3 wraps every failure before a response as "Connection
    # aborted.", so the specific causes are checked before that phrase.
    text = str(error).lower()
    if "reset" in text:
        return "Connection reset by the receiver"
    invalid_markers = (
        "badstatusline",
        "bad status",
        "invalid",
        "line too long",
        "got more than",
        "unknownprotocol",
        "linetoolong",
    )
    if any(marker in text for marker in invalid_markers):
        return "Invalid HTTP response from the receiver"
    if "remote end closed" in text or "aborted" in text:
        return "Connection closed by the receiver before a response"
    return f"Connection broken: {_first_line(error)}"


def _first_line(error: BaseException | str) -> str:
    text = str(error).strip()
    return _one_line(text.splitlines()[0] if text else type(error).__name__)


def _one_line(text: str) -> str:
    return sanitize_text(" ".join(text.split()))[:300]


__all__ = [
    "MAX_BODY_BYTES",
    "Outcome",
    "Sender",
    "SignedRequest",
    "build_request",
    "decode_body",
    "parse_retry_after",
    "sanitize_text",
]
