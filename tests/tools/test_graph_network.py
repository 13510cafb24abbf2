"""Network failures: which ones may have reached Meta, and what a send makes of them.

A request that never left (connection refused, unknown host, connect timeout)
can be sent again. One that left without an answer (read timeout, connection
dropped while waiting) may have been acted on: a message is then reported as
unconfirmed, never as something to retry.
"""

import socket
import ssl
import time
from http.client import RemoteDisconnected

import pytest
import requests
from urllib3.exceptions import (
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import ProxyError as Urllib3ProxyError
from urllib3.exceptions import SSLError as Urllib3SSLError

from whatsapp_team.tools.fake_graph import FakeGraph, FakeTransport
from whatsapp_team.tools.graph_api import (
    GraphClient,
    GraphError,
    NoAnswerError,
    TransientError,
    UnconfirmedSendError,
    network_error,
    never_sent,
)

TOKEN = "EAAtest-token-network"
PHONE_NUMBER_ID = "106540352242922"
CUSTOMER = "16505551234"
URL = "https://graph.facebook.com/v26.0/1/messages"


def http_client(server, timeout=(2, 5)):
    return GraphClient(
        access_token=TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        base_url=server.url,
        timeout=timeout,
    )


def message_posts(graph):
    return [c for c in graph.calls if c["path"].endswith("/messages")]


# -- classification of what requests raises ----------------------------------


def _refused():
    return NewConnectionError(None, "Failed to establish a new connection: refused")


NOT_SENT = {
    "connect timeout": requests.ConnectTimeout("connect timed out"),
    "connection refused": requests.ConnectionError(
        MaxRetryError(None, URL, _refused())
    ),
    "unknown host": requests.ConnectionError(
        MaxRetryError(
            None,
            URL,
            NameResolutionError("graph.facebook.com", None, socket.gaierror(-2)),
        )
    ),
    "proxy unreachable": requests.exceptions.ProxyError(
        MaxRetryError(
            None, URL, Urllib3ProxyError("Unable to connect to proxy", _refused())
        )
    ),
    "certificate refused": requests.exceptions.SSLError(
        MaxRetryError(
            None,
            URL,
            Urllib3SSLError(ssl.SSLCertVerificationError(1, "certificate expired")),
        )
    ),
}

MAYBE_SENT = {
    "read timeout": requests.ReadTimeout(
        ReadTimeoutError(None, URL, "Read timed out. (read timeout=20)")
    ),
    "closed while waiting": requests.ConnectionError(
        ProtocolError("Connection aborted.", RemoteDisconnected("no response"))
    ),
    "reset while waiting": requests.ConnectionError(
        ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))
    ),
    # requests reports a timeout while reading the body as a ConnectionError
    "timeout in the body": requests.ConnectionError(
        ReadTimeoutError(None, URL, "Read timed out.")
    ),
    "body cut short": requests.exceptions.ChunkedEncodingError(
        ProtocolError("Connection broken: IncompleteRead(2 bytes read)")
    ),
    "TLS error in the answer": requests.exceptions.SSLError(
        MaxRetryError(None, URL, Urllib3SSLError(ssl.SSLError(1, "bad record mac")))
    ),
}


@pytest.mark.parametrize("exc", NOT_SENT.values(), ids=NOT_SENT.keys())
def test_failures_before_the_request_left_are_retryable(exc):
    error = network_error("POST", exc)

    assert never_sent(exc) is True
    assert type(error) is TransientError
    assert error.retryable is True
    assert error.code is None


@pytest.mark.parametrize("exc", MAYBE_SENT.values(), ids=MAYBE_SENT.keys())
def test_failures_after_the_request_left_are_no_answer(exc):
    error = network_error("POST", exc)

    assert never_sent(exc) is False
    assert type(error) is NoAnswerError
    # other calls (reads, uploads, read receipts) keep retrying them
    assert error.retryable is True


def test_a_request_that_cannot_be_built_is_not_retried():
    error = network_error("GET", requests.exceptions.InvalidURL("bad url"))

    assert type(error) is GraphError
    assert error.retryable is False


# -- over real HTTP -----------------------------------------------------------


def test_late_answer_to_a_send_is_unconfirmed_and_meta_has_it(server, graph):
    graph.answer_late_next(1.5, path_contains="/messages")
    client = http_client(server, timeout=(2, 0.3))

    started = time.monotonic()
    with pytest.raises(UnconfirmedSendError) as caught:
        client.send_text(CUSTOMER, "are you there?")

    assert time.monotonic() - started < 1.2, "the client gave up, not the fake"
    assert caught.value.retryable is False
    assert isinstance(caught.value.__cause__, NoAnswerError)
    assert "timed out" in caught.value.details
    assert [m["text"]["body"] for m in graph.messages] == ["are you there?"]


def test_dropped_connection_during_a_send_is_unconfirmed(server, graph):
    graph.drop_answer_next(path_contains="/messages")
    client = http_client(server)

    with pytest.raises(UnconfirmedSendError) as caught:
        client.send_text(CUSTOMER, "hello")

    assert caught.value.retryable is False
    assert "dropped" in caught.value.details
    assert len(graph.messages) == 1, "the fake accepted it before hanging up"
    # the next send is answered normally
    assert client.send_text(CUSTOMER, "again").startswith("wamid.")
    assert len(graph.messages) == 2


def test_refused_connection_to_a_send_is_retryable_and_never_reaches_meta(
    server, graph
):
    client = http_client(server)

    with server.refusing():
        with pytest.raises(TransientError) as caught:
            client.send_text(CUSTOMER, "hello")

    assert not isinstance(caught.value, NoAnswerError | UnconfirmedSendError)
    assert caught.value.retryable is True
    assert "connection failed" in caught.value.message
    assert graph.calls == []
    # served again on the same port: the same client gets through
    assert http_client(server).send_text(CUSTOMER, "hello").startswith("wamid.")
    assert len(message_posts(graph)) == 1


def test_refusing_restarts_the_server_even_after_an_error(server, graph):
    with pytest.raises(RuntimeError), server.refusing():
        raise RuntimeError("test failed inside")

    assert http_client(server).get_phone_number()["id"] == PHONE_NUMBER_ID


def test_other_calls_keep_retrying_when_the_answer_is_lost(server, graph):
    client = http_client(server, timeout=(2, 0.3))
    graph.drop_answer_next(path_contains="/media")
    graph.answer_late_next(1.0, path_contains="/messages")

    with pytest.raises(NoAnswerError) as upload:
        client.upload_media(b"%PDF-1", "application/pdf", "quote.pdf")
    with pytest.raises(NoAnswerError) as receipt:
        client.mark_read("wamid.IN")

    assert upload.value.retryable is True
    assert receipt.value.retryable is True


def test_delay_before_acting_on_a_send_is_unconfirmed_too(server, graph):
    # the request left: the client cannot tell a slow Meta from a lost answer
    graph.delay_next(1.0)
    client = http_client(server, timeout=(2, 0.3))

    with pytest.raises(UnconfirmedSendError):
        client.send_text(CUSTOMER, "slow")


# -- in-process transport (sandbox numbers) ----------------------------------


def test_fake_transport_acts_then_loses_the_answer():
    graph = FakeGraph(access_token=TOKEN)
    client = GraphClient(
        access_token=TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        transport=FakeTransport(graph),
    )
    graph.answer_late_next(60)
    graph.drop_answer_next()

    started = time.monotonic()
    for text in ("one", "two"):
        with pytest.raises(UnconfirmedSendError):
            client.send_text(CUSTOMER, text)

    assert time.monotonic() - started < 1
    assert [m["text"]["body"] for m in graph.messages] == ["one", "two"]
    assert client.send_text(CUSTOMER, "three").startswith("wamid.")
