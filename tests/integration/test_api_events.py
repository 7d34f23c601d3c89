"""The /webhook-events endpoints: the event catalog."""

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.integration.api_client import api_client

CATALOG_CODES = [
    "import.finished",
    "import.started",
    "invoice.created",
    "order.created",
    "order.updated",
    "product.created",
    "product.updated",
    "shipment.created",
    "shipment.updated",
]


@pytest.fixture
def client(database_url: str) -> Iterator[FlaskClient]:
    """Return an authenticated test client of the API."""
    with api_client(database_url) as test_client:
        yield test_client


def codes(response: Any) -> list[str]:
    """Return the event codes of a list response."""
    assert response.status_code == 200, response.get_json()
    return [event["code"] for event in response.get_json()]


def test_events_list_whole_catalog(client: FlaskClient) -> None:
    response = client.get("/webhook-events")

    assert codes(response) == CATALOG_CODES


def test_events_fields(client: FlaskClient) -> None:
    events = client.get("/webhook-events?code=order.created").get_json()

    assert len(events) == 1
    event = events[0]
    assert set(event) == {"code", "title", "description", "examplePayload"}
    assert event["code"] == "order.created"
    assert event["title"] == "Order Created"
    assert event["description"] == "When an order is created."
    assert isinstance(event["examplePayload"], dict)
    assert event["examplePayload"]["orderNumber"] == "0000000001"


def test_events_filter_code_prefix(client: FlaskClient) -> None:
    assert codes(client.get("/webhook-events?code=order.")) == [
        "order.created",
        "order.updated",
    ]
    assert codes(client.get("/webhook-events?code=shipment")) == [
        "shipment.created",
        "shipment.updated",
    ]
    assert codes(client.get("/webhook-events?code=invoice.created")) == [
        "invoice.created"
    ]


@pytest.mark.parametrize("prefix", ["created", "x", "%", "_", "order_", "ORDER."])
def test_events_filter_code_no_match(client: FlaskClient, prefix: str) -> None:
    response = client.get("/webhook-events", query_string={"code": prefix})

    assert codes(response) == []


def test_events_filter_code_empty_matches_all(client: FlaskClient) -> None:
    assert codes(client.get("/webhook-events?code=")) == CATALOG_CODES


def test_events_sort(client: FlaskClient) -> None:
    assert codes(client.get("/webhook-events?sort=code")) == CATALOG_CODES
    assert codes(client.get("/webhook-events?sort=-code")) == CATALOG_CODES[::-1]


@pytest.mark.parametrize("sort", ["title", "-title", "createdAt", ""])
def test_events_unknown_sort(client: FlaskClient, sort: str) -> None:
    response = client.get("/webhook-events", query_string={"sort": sort})

    assert response.status_code == 422
    assert set(response.get_json()["errors"]["query"]) == {"sort"}


def test_events_paging(client: FlaskClient) -> None:
    first = codes(client.get("/webhook-events?limit=4"))
    second = codes(client.get("/webhook-events?limit=4&offset=4"))
    third = codes(client.get("/webhook-events?limit=4&offset=8"))

    assert first + second + third == CATALOG_CODES
    assert len(third) == 1


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "offset=-1", "limit=two", "offset=1e3"]
)
def test_events_paging_out_of_range(client: FlaskClient, query: str) -> None:
    response = client.get(f"/webhook-events?{query}")

    assert response.status_code == 422
    assert set(response.get_json()["errors"]["query"]) == {query.split("=")[0]}


@pytest.mark.parametrize("query", ["title=Order", "eventCode=order.created", "q=x"])
def test_events_unknown_parameter(client: FlaskClient, query: str) -> None:
    response = client.get(f"/webhook-events?{query}")

    assert response.status_code == 422
    assert set(response.get_json()["errors"]["query"]) == {query.split("=")[0]}


def test_events_code_with_nul(client: FlaskClient) -> None:
    response = client.get("/webhook-events?code=order%00")

    assert response.status_code == 422
    assert set(response.get_json()["errors"]["query"]) == {"code"}


def test_events_count(client: FlaskClient) -> None:
    response = client.get("/webhook-events/count")

    assert response.status_code == 200
    assert response.get_json() == {"count": 9}


@pytest.mark.parametrize("prefix", ["", "order.", "product", "import.started", "nope"])
def test_events_count_matches_list(client: FlaskClient, prefix: str) -> None:
    listed = client.get("/webhook-events", query_string={"code": prefix, "limit": 100})
    counted = client.get("/webhook-events/count", query_string={"code": prefix})

    assert counted.get_json() == {"count": len(listed.get_json())}


@pytest.mark.parametrize("query", ["limit=5", "offset=0", "sort=code", "x=1"])
def test_events_count_rejects_list_only_parameters(
    client: FlaskClient, query: str
) -> None:
    response = client.get(f"/webhook-events/count?{query}")

    assert response.status_code == 422
    assert set(response.get_json()["errors"]["query"]) == {query.split("=")[0]}


@pytest.mark.parametrize("path", ["/webhook-events", "/webhook-events/count"])
def test_events_need_token(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers={"Authorization": ""})

    assert response.status_code == 401
    assert response.get_json()["code"] == 401
