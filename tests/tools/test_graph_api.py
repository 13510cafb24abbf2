"""GraphClient against FakeGraph, over real HTTP and in-process."""

import json
import pickle
import re
import time

import pytest
import requests

from whatsapp_team.tools.fake_graph import FakeGraph, FakeGraphServer, FakeTransport
from whatsapp_team.tools.graph_api import (
    ERROR_CLASSES,
    AccountError,
    GraphClient,
    GraphError,
    RecipientError,
    Response,
    TemplateError,
    ThrottleError,
    TokenError,
    TransientError,
    UnsupportedError,
    WindowClosedError,
    error_from_response,
    retry_after_seconds,
)

TOKEN = "EAAtest-token-123"
PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
CUSTOMER = "16505551234"
BSUID = "US.13491208655302741918"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\r\n--not-a-boundary\r\n\x00"


@pytest.fixture
def client(server, graph):
    return GraphClient(
        access_token=TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        business_account_id=WABA_ID,
        base_url=server.url,
        timeout=(2, 5),
    )


def in_process_client(graph, **kwargs):
    return GraphClient(
        access_token=TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        business_account_id=WABA_ID,
        transport=FakeTransport(graph),
        **kwargs,
    )


# -- messages -----------------------------------------------------------------


def test_send_text_returns_wamid_and_fake_records_payload(client, graph):
    wamid = client.send_text(CUSTOMER, "Hello there")

    assert wamid.startswith("wamid.")
    assert graph.messages == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": CUSTOMER,
            "type": "text",
            "text": {"body": "Hello there"},
            "id": wamid,
        }
    ]
    call = graph.calls[-1]
    assert call["method"] == "POST"
    assert call["path"] == f"/v26.0/{PHONE_NUMBER_ID}/messages"
    assert call["headers"]["authorization"] == f"Bearer {TOKEN}"


def test_wamids_are_unique(client):
    assert len({client.send_text(CUSTOMER, f"n{i}") for i in range(20)}) == 20


def test_send_text_reply_context_and_preview(client, graph):
    client.send_text(
        CUSTOMER, "see https://odoo.com", reply_to="wamid.ABC", preview_url=True
    )

    sent = graph.messages[-1]
    assert sent["context"] == {"message_id": "wamid.ABC"}
    assert sent["text"] == {"body": "see https://odoo.com", "preview_url": True}


def test_send_text_to_bsuid_recipient(client, graph):
    wamid = client.send_text(body="Hi", recipient=BSUID)

    sent = graph.messages[-1]
    assert sent["recipient"] == BSUID
    assert "to" not in sent
    assert sent["id"] == wamid


def test_bsuid_answer_has_user_id_not_wa_id(server, graph):
    answer = requests.post(
        f"{server.url}/v26.0/{PHONE_NUMBER_ID}/messages",
        json={
            "messaging_product": "whatsapp",
            "recipient": BSUID,
            "text": {"body": "x"},
        },
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    ).json()

    assert answer["contacts"] == [{"input": BSUID, "user_id": BSUID}]


def test_send_text_needs_a_recipient_and_a_body(client, graph):
    with pytest.raises(ValueError):
        client.send_text(body="nobody to send to")
    with pytest.raises(ValueError):
        client.send_text(CUSTOMER, "")
    assert graph.calls == []


def test_send_message_forces_messaging_product(client, graph):
    wamid = client.send_message(
        {
            "messaging_product": "sms",
            "to": CUSTOMER,
            "type": "template",
            "template": {"name": "hello_world", "language": {"code": "en_US"}},
        }
    )

    assert graph.messages[-1]["messaging_product"] == "whatsapp"
    assert graph.messages[-1]["id"] == wamid


@pytest.mark.parametrize(
    "payload, details",
    [
        ({"messaging_product": "sms", "to": CUSTOMER}, "messaging_product"),
        ({"messaging_product": "whatsapp", "text": {"body": "x"}}, "to"),
        ({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "fax"}, "type"),
        ({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "image"}, "image"),
        ({"messaging_product": "whatsapp", "to": CUSTOMER, "text": {}}, "body"),
    ],
)
def test_fake_rejects_invalid_message_payloads(payload, details):
    status, _headers, body = FakeGraph().handle(
        "POST",
        f"/v26.0/{PHONE_NUMBER_ID}/messages",
        {},
        {"Content-Type": "application/json"},
        json.dumps(payload).encode(),
    )
    error = error_from_response(status, json.loads(body))

    assert status == 400
    assert isinstance(error, UnsupportedError)
    assert error.code == 100
    assert details in error.details


def test_mark_read(client, graph):
    assert client.mark_read("wamid.IN1") is True

    assert graph.read_receipts == [
        {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN1"}
    ]
    assert graph.messages == []


def test_mark_read_with_typing_indicator(client, graph):
    assert client.mark_read("wamid.IN2", typing=True) is True

    assert graph.read_receipts[-1]["typing_indicator"] == {"type": "text"}
    assert graph.messages == []


# -- media --------------------------------------------------------------------


def test_upload_then_fetch_media_roundtrip(client, graph):
    media_id = client.upload_media(PNG, "image/png", "logo.png")

    assert media_id.isdigit()
    assert graph.media[media_id] == (PNG, "image/png")
    upload_call = graph.calls[-1]
    assert upload_call["form"] == {"messaging_product": "whatsapp", "type": "image/png"}

    assert client.fetch_media(media_id) == (PNG, "image/png")


def test_get_media_answers_like_meta(client, graph):
    media_id = graph.add_media(b"%PDF-1.7 hello", "application/pdf")

    info = client.get_media(media_id)

    assert info["messaging_product"] == "whatsapp"
    assert info["id"] == media_id
    assert info["mime_type"] == "application/pdf"
    assert info["file_size"] == 14
    assert len(info["sha256"]) == 64
    assert info["url"].startswith(f"{graph.base_url}/download/")
    assert client.download(info["url"]) == b"%PDF-1.7 hello"


def test_download_needs_the_bearer_token(client, graph):
    url = client.get_media(graph.add_media(b"abc", "text/plain"))["url"]

    assert requests.get(url, timeout=5).status_code == 400
    wrong = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=5)
    assert wrong.status_code == 401


def test_unknown_media_id_is_invalid_parameter(client):
    with pytest.raises(UnsupportedError) as caught:
        client.get_media("999")

    assert caught.value.code == 100
    assert caught.value.http_status == 400


def test_upload_of_unsupported_type_is_rejected(client):
    with pytest.raises(UnsupportedError) as caught:
        client.upload_media(b"GIF89a", "image/gif", "anim.gif")

    assert "image/gif" in caught.value.details


# -- templates and phone number ----------------------------------------------


def test_iter_templates_follows_cursors_over_three_pages(client, graph):
    for index in range(250):
        graph.add_template(f"template_{index:03d}")

    names = [t["name"] for t in client.iter_templates(page_size=100)]

    assert names == [f"template_{index:03d}" for index in range(250)]
    pages = [c for c in graph.calls if c["path"].endswith("/message_templates")]
    assert [c["query"].get("limit") for c in pages] == ["100"] * 3
    assert "after" not in pages[0]["query"]
    assert pages[1]["query"]["after"] and pages[2]["query"]["after"]


def test_iter_templates_on_empty_account(client):
    assert list(client.iter_templates()) == []


def test_create_template_is_pending_and_listed(client, graph):
    answer = client.create_template(
        {
            "name": "order_ready",
            "language": "en_US",
            "category": "UTILITY",
            "components": [
                {
                    "type": "BODY",
                    "text": "Your order {{1}} is ready",
                    "example": {"body_text": [["S0042"]]},
                }
            ],
        }
    )

    assert answer == {"id": answer["id"], "status": "PENDING", "category": "UTILITY"}
    assert [t["name"] for t in client.iter_templates()] == ["order_ready"]

    with pytest.raises(UnsupportedError) as caught:
        client.create_template(
            {"name": "order_ready", "language": "en_US", "category": "UTILITY"}
        )
    assert caught.value.subcode == 2388024


def test_template_calls_need_business_account_id(server):
    client = GraphClient(
        access_token=TOKEN, phone_number_id=PHONE_NUMBER_ID, base_url=server.url
    )
    with pytest.raises(ValueError):
        list(client.iter_templates())


def test_get_phone_number(client, graph):
    graph.add_phone_number(PHONE_NUMBER_ID, verified_name="Odoo Team")

    info = client.get_phone_number()

    assert info["verified_name"] == "Odoo Team"
    assert info["quality_rating"] == "GREEN"
    assert graph.calls[-1]["query"]["fields"] == (
        "display_phone_number,verified_name,quality_rating"
    )


def test_request_app_sync_of_a_coexistence_number(client, graph):
    """Contacts then history of the WhatsApp Business app, as Meta's
    coexistence onboarding asks for them: POST /{phone_number_id}/smb_app_data
    with a sync_type, answered with a request id."""
    contacts = client.request_app_sync("smb_app_state_sync")
    history = client.request_app_sync("history")
    assert contacts and history and contacts != history
    assert [
        (sync["phone_number_id"], sync["sync_type"], sync["request_id"])
        for sync in graph.app_syncs
    ] == [
        (PHONE_NUMBER_ID, "smb_app_state_sync", contacts),
        (PHONE_NUMBER_ID, "history", history),
    ]
    call = graph.calls[-1]
    assert call["method"] == "POST"
    assert call["path"].endswith(f"/{PHONE_NUMBER_ID}/smb_app_data")
    assert call["json"] == {"messaging_product": "whatsapp", "sync_type": "history"}


def test_request_app_sync_of_an_unknown_kind_is_refused(client, graph):
    with pytest.raises(GraphError) as caught:
        client.request_app_sync("labels")
    assert caught.value.code == 100
    assert graph.app_syncs == []


def test_any_graph_version_is_routed(server, graph):
    client = GraphClient(
        access_token=TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        base_url=server.url + "/",
        version="19.0",
    )

    assert client.send_text(CUSTOMER, "old version").startswith("wamid.")
    assert graph.calls[-1]["path"].startswith("/v19.0/")


# -- errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, error_class",
    [
        (1, TransientError),
        (2, TransientError),
        (131000, TransientError),
        (133004, TransientError),
        (4, ThrottleError),
        (80007, ThrottleError),
        (130429, ThrottleError),
        (131056, ThrottleError),
        (190, TokenError),
        (131047, WindowClosedError),
        (131021, RecipientError),
        (131026, RecipientError),
        (131030, RecipientError),
        (132000, TemplateError),
        (132001, TemplateError),
        (132005, TemplateError),
        (132007, TemplateError),
        (132012, TemplateError),
        (132015, TemplateError),
        (132016, TemplateError),
        (10, AccountError),
        (200, AccountError),
        (368, AccountError),
        (131031, AccountError),
        (131042, AccountError),
        (131048, AccountError),
        (131049, AccountError),
        (100, UnsupportedError),
        (131051, UnsupportedError),
        (131052, UnsupportedError),
        (131053, UnsupportedError),
    ],
)
def test_error_codes_map_to_classes(client, graph, code, error_class):
    graph.fail_next(code, details=f"details of {code}")

    with pytest.raises(GraphError) as caught:
        client.send_text(CUSTOMER, "will fail")

    error = caught.value
    assert type(error) is error_class
    assert ERROR_CLASSES[code] is error_class
    assert error.code == code
    assert error.details == f"details of {code}"
    assert error.fbtrace_id
    assert f"(#{code})" in str(error)
    assert error.retryable is (error_class in (TransientError, ThrottleError))
    assert graph.messages == []
    # the failure is used up: the next send goes through
    assert client.send_text(CUSTOMER, "works again").startswith("wamid.")


def test_injected_error_uses_metas_message_and_status(client, graph):
    graph.fail_next(131047)

    with pytest.raises(WindowClosedError) as caught:
        client.send_text(CUSTOMER, "late")

    assert caught.value.message == "(#131047) Re-engagement message"
    assert caught.value.http_status == 400
    assert caught.value.retryable is False


def test_fail_next_times_and_path_filter(client, graph):
    graph.fail_next(130429, times=2, path_contains="/messages")

    media_id = client.upload_media(b"hi", "text/plain", "hi.txt")
    for _ in range(2):
        with pytest.raises(ThrottleError):
            client.send_text(CUSTOMER, "busy")

    assert media_id in graph.media
    assert client.send_text(CUSTOMER, "free").startswith("wamid.")


def test_throttling_answer_carries_the_wait_meta_asked_for(client, graph):
    graph.fail_next(80007, path_contains="/messages", retry_after=1800)
    graph.fail_next(130429, path_contains="/messages")

    with pytest.raises(ThrottleError) as asked:
        client.send_text(CUSTOMER, "busy")
    with pytest.raises(ThrottleError) as silent:
        client.send_text(CUSTOMER, "busy")

    assert (asked.value.code, asked.value.retry_after) == (80007, 1800)
    assert (silent.value.code, silent.value.retry_after) == (130429, None)
    assert pickle.loads(pickle.dumps(asked.value)).retry_after == 1800
    graph.fail_next(130429, times=5)
    graph.clear_failures()
    assert client.send_text(CUSTOMER, "free").startswith("wamid.")


@pytest.mark.parametrize(
    "headers, seconds",
    [
        ({}, None),
        ({"Retry-After": "120"}, 120),
        ({"retry-after": "soon"}, None),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),  # past
        (
            {
                "X-Business-Use-Case-Usage": json.dumps(
                    {
                        "102290129340398": [
                            {
                                "type": "whatsapp_business_management",
                                "call_count": 100,
                                "estimated_time_to_regain_access": 12,
                            }
                        ]
                    }
                ),
                "Retry-After": "60",
            },
            720,
        ),
        ({"X-App-Usage": '{"call_count": 100}'}, None),
        ({"X-App-Usage": "not json"}, None),
    ],
)
def test_retry_after_seconds(headers, seconds):
    assert retry_after_seconds(headers) == seconds


def test_unknown_code_is_plain_graph_error(client, graph):
    graph.fail_next(999999, message="(#999999) Brand new error")

    with pytest.raises(GraphError) as caught:
        client.send_text(CUSTOMER, "x")

    assert type(caught.value) is GraphError
    assert caught.value.retryable is False


def test_wrong_token_is_token_error(server, graph):
    client = GraphClient(
        access_token="EAAwrong", phone_number_id=PHONE_NUMBER_ID, base_url=server.url
    )

    with pytest.raises(TokenError) as caught:
        client.send_text(CUSTOMER, "x")

    error = caught.value
    assert (error.code, error.http_status, error.error_type) == (
        190,
        401,
        "OAuthException",
    )
    assert "EAAwrong" not in str(error)
    assert graph.messages == []


def test_missing_token_is_token_error(server, graph):
    answer = requests.get(f"{server.url}/v26.0/{PHONE_NUMBER_ID}", timeout=5)
    error = error_from_response(answer.status_code, answer.json())

    assert isinstance(error, TokenError)
    assert error.code == 104


def test_http_502_with_plain_body_is_transient(client, graph):
    graph.fail_http(502)

    with pytest.raises(TransientError) as caught:
        client.send_text(CUSTOMER, "x")

    assert caught.value.http_status == 502
    assert caught.value.code is None
    assert caught.value.retryable is True
    assert "502" in caught.value.details


def test_delay_beyond_timeout_is_transient(server, graph):
    client = GraphClient(
        access_token=TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        base_url=server.url,
        timeout=0.3,
    )
    graph.delay_next(1.0)

    started = time.monotonic()
    with pytest.raises(TransientError) as caught:
        client.get_phone_number()

    assert time.monotonic() - started < 0.9
    assert caught.value.code is None
    assert caught.value.retryable is True
    assert "timed out" in caught.value.message


def test_connection_refused_is_transient():
    with FakeGraphServer() as stopped:
        url = stopped.url
    client = GraphClient(
        access_token=TOKEN, phone_number_id=PHONE_NUMBER_ID, base_url=url, timeout=1
    )

    with pytest.raises(TransientError) as caught:
        client.send_text(CUSTOMER, "x")

    assert "connection failed" in caught.value.message


def test_unknown_path_is_unsupported(client):
    with pytest.raises(UnsupportedError) as caught:
        client._json("GET", f"{PHONE_NUMBER_ID}/nowhere")

    assert caught.value.code == 100
    assert caught.value.error_type == "GraphMethodException"


class _StaticTransport:
    def __init__(self, status, content, headers=None):
        self.response = Response(status, headers or {}, content)

    def request(self, method, url, **kwargs):
        return self.response


def test_non_json_success_body_is_graph_error():
    client = GraphClient(
        access_token=TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        transport=_StaticTransport(200, b"<html>captive portal</html>"),
    )

    with pytest.raises(GraphError) as caught:
        client.send_text(CUSTOMER, "x")

    assert "not a JSON object" in caught.value.message
    assert caught.value.http_status == 200


def test_error_inside_a_200_answer_is_raised():
    body = b'{"error": {"message": "(#131047) Re-engagement message", "code": 131047}}'
    client = GraphClient(
        access_token=TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        transport=_StaticTransport(200, body),
    )

    with pytest.raises(WindowClosedError):
        client.send_text(CUSTOMER, "x")


@pytest.mark.parametrize(
    "status, body, error_class",
    [
        (500, None, TransientError),
        (503, {"unexpected": True}, TransientError),
        (429, None, ThrottleError),
        (401, {"error": {"message": "bad", "type": "OAuthException"}}, TokenError),
        (404, None, GraphError),
        (400, {"error": {"code": "131047", "message": "x"}}, WindowClosedError),
        (500, {"error": {"code": 131026, "message": "x"}}, RecipientError),
    ],
)
def test_error_from_response_fallbacks(status, body, error_class):
    error = error_from_response(status, body)

    assert type(error) is error_class
    assert error.http_status == status


def test_error_from_response_reads_all_fields():
    error = error_from_response(
        400,
        {
            "error": {
                "message": "(#132001) Template name does not exist in the translation",
                "type": "OAuthException",
                "code": 132001,
                "error_subcode": 2494010,
                "error_user_title": "Template missing",
                "error_data": '{"messaging_product": "whatsapp", "details": "no en"}',
                "fbtrace_id": "AbC",
            }
        },
    )

    assert isinstance(error, TemplateError)
    assert (error.subcode, error.title, error.details, error.fbtrace_id) == (
        2494010,
        "Template missing",
        "no en",
        "AbC",
    )


def test_errors_survive_pickling():
    error = ThrottleError("(#130429) Rate limit hit", code=130429, http_status=400)

    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is ThrottleError
    assert copy.as_dict() == error.as_dict()


def test_token_never_in_repr():
    client = GraphClient(access_token=TOKEN, phone_number_id=PHONE_NUMBER_ID)

    assert TOKEN not in repr(client)


# -- in-process transport -----------------------------------------------------


def test_fake_transport_matches_http_for_send_and_media(client, graph):
    local_graph = FakeGraph(access_token=TOKEN)
    local = in_process_client(local_graph)

    for target in (client, local):
        assert target.send_text(CUSTOMER, "same", reply_to="wamid.Q").startswith(
            "wamid."
        )
        media_id = target.upload_media(PNG, "image/png", "logo.png")
        assert target.fetch_media(media_id) == (PNG, "image/png")
        assert target.mark_read("wamid.IN", typing=True) is True

    def route(calls):
        # media ids differ between the two fakes; the routes must not
        return [(c["method"], re.sub(r"/\d{12,}", "/<id>", c["path"])) for c in calls]

    def strip_ids(messages):
        return [{k: v for k, v in m.items() if k != "id"} for m in messages]

    assert strip_ids(local_graph.messages) == strip_ids(graph.messages)
    assert local_graph.read_receipts == graph.read_receipts
    assert route(local_graph.calls) == route(graph.calls)


def test_fake_transport_errors_and_delays(graph):
    local_graph = FakeGraph(access_token=TOKEN)
    local = in_process_client(local_graph)

    local_graph.fail_next(131026)
    with pytest.raises(RecipientError):
        local.send_text(CUSTOMER, "x")

    local_graph.delay_next(60)
    started = time.monotonic()
    with pytest.raises(TransientError):
        local.get_phone_number()
    assert time.monotonic() - started < 1

    local_graph.fail_http(503)
    with pytest.raises(TransientError):
        local.get_phone_number()

    assert local.get_phone_number()["quality_rating"] == "GREEN"


def test_fake_without_token_accepts_any_bearer():
    local = GraphClient(
        access_token="",
        phone_number_id=PHONE_NUMBER_ID,
        transport=FakeTransport(FakeGraph()),
    )

    assert local.send_text(CUSTOMER, "sandbox").startswith("wamid.")
