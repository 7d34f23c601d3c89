"""The unit of work every system does: sign one webhook body and POST it.

The ceiling and the peers build the same signed request as the relay,
with relay.delivery.build_request, and send it through a urllib3 pool
sized to the requests in flight, so every system pays the same per-request
CPU cost.
"""

import uuid

import urllib3

from relay.delivery import SignedRequest, build_request
from relay.signing import generate_secret

EVENT_CODE = "order.created"
# A payload of the size of a typical order event, about 200 bytes.
PAYLOAD = {
    "id": "6f1f6af7-d8bb-4e35-98f3-b80c1cd8a42d",
    "createdAt": "2023-11-09T17:23:20.707Z",
    "cartId": "6acc0f70-5d7c-4e31-b8a6-5fcb2f267e4a",
    "customerId": "5b0d3f4e-1c4e-4a56-9a5b-4d2f0c3e9a11",
    "total": 129.9,
    "currency": "EUR",
}
_SECRET = generate_secret()
_WEBHOOK_ID = str(uuid.uuid4())


def signed_request(job_id: str) -> SignedRequest:
    """Build the request the relay would send for one instance."""
    return build_request(
        message_id=job_id,
        webhook_id=_WEBHOOK_ID,
        event_code=EVENT_CODE,
        retry_number=0,
        payload=PAYLOAD,
        signing_secrets=[_SECRET],
    )


def new_pool(url: str, in_flight: int) -> urllib3.HTTPConnectionPool:
    """Return a keep-alive pool to url's host with in_flight connections."""
    return urllib3.connection_from_url(
        url, maxsize=in_flight, block=False, retries=False
    )


def post(pool: urllib3.HTTPConnectionPool, url: str, job_id: str) -> None:
    """POST the signed request for job_id and fail unless it gets a 2xx."""
    request = signed_request(job_id)
    response = pool.urlopen(
        "POST",
        urllib3.util.parse_url(url).request_uri,
        body=request.body,
        headers=request.headers,
        retries=False,
        timeout=urllib3.Timeout(connect=5, read=10),
    )
    if not 200 <= response.status < 300:
        raise RuntimeError(f"job {job_id}: receiver returned HTTP {response.status}")
