"""The fake Graph API takes interactive messages as Meta does: reply buttons
and lists within Meta's limits, refused beyond them with Meta's codes and
wording (131009 for a value out of its limits, 131008 for a missing one,
100 for an unknown type). Over real HTTP, through GraphClient."""

import copy

import pytest

from whatsapp_team.tools import outbound
from whatsapp_team.tools.graph_api import GraphClient, UnsupportedError

TOKEN = "EAAtest-interactive"
CUSTOMER = "32470123456"


@pytest.fixture
def client(server, graph):
    return GraphClient(
        access_token=TOKEN,
        phone_number_id="106540352242922",
        business_account_id="102290129340398",
        base_url=server.url,
        timeout=(2, 5),
    )


def buttons_payload(**interactive):
    content = {
        "type": "button",
        "body": {"text": "How did it go?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "good", "title": "Very well"}},
                {"type": "reply", "reply": {"id": "bad", "title": "Not well"}},
            ]
        },
    }
    content.update(interactive)
    return {"to": CUSTOMER, "type": "interactive", "interactive": content}


def list_payload(rows=None, **interactive):
    content = {
        "type": "list",
        "body": {"text": "Which size?"},
        "action": {
            "button": "Sizes",
            "sections": [
                {
                    "title": "Sizes",
                    "rows": rows
                    or [
                        {"id": "s", "title": "Small", "description": "30 cm"},
                        {"id": "l", "title": "Large"},
                    ],
                }
            ],
        },
    }
    content.update(interactive)
    return {"to": CUSTOMER, "type": "interactive", "interactive": content}


def refusal(client, payload):
    with pytest.raises(UnsupportedError) as caught:
        client.send_message(payload)
    return caught.value.code, caught.value.details


def test_our_payloads_are_taken(client, graph):
    for spec in (
        outbound.interactive_spec(
            "b" * 1024,
            buttons=[("i" * 256, "t" * 20), "u" * 20, "v" * 20],
            header="h" * 60,
            footer="f" * 60,
        ),
        outbound.interactive_spec(
            "l" * 4096,
            button="o" * 20,
            sections=[("s" * 24, [("r" * 200, "t" * 24, "d" * 72)])]
            + [(f"section {n}", [f"row {n}"]) for n in range(9)],
        ),
    ):
        wamid = client.send_message(outbound.interactive_payload(CUSTOMER, "", spec))
        assert wamid.startswith("wamid.")
    assert [m["interactive"]["type"] for m in graph.messages] == ["button", "list"]


def test_headers_and_untitled_sections(client, graph):
    header = {"type": "image", "image": {"id": "2762702990552401"}}
    client.send_message(buttons_payload(header=header))
    assert graph.messages[0]["interactive"]["header"] == header
    # a list takes a text header only
    assert refusal(client, list_payload(header=header)) == (
        131009,
        "Header type must be one of ['text'].",
    )
    # a lone section may have no title
    payload = list_payload()
    del payload["interactive"]["action"]["sections"][0]["title"]
    client.send_message(payload)
    assert len(graph.messages) == 2


@pytest.mark.parametrize(
    "change, code, details",
    [
        (
            lambda p: p["action"]["buttons"].extend(
                [
                    {"type": "reply", "reply": {"id": str(n), "title": str(n)}}
                    for n in range(2)
                ]
            ),
            131009,
            "Invalid buttons count. Min allowed buttons: 1, Max allowed buttons: 3",
        ),
        (
            lambda p: p["action"]["buttons"][0]["reply"].update(title="t" * 21),
            131009,
            "Button title length invalid. Min length: 1, Max length: 20",
        ),
        (
            lambda p: p["action"]["buttons"][0]["reply"].update(title=""),
            131009,
            "Button title length invalid. Min length: 1, Max length: 20",
        ),
        (
            lambda p: p["action"]["buttons"][1]["reply"].update(title="Very well"),
            131009,
            "Button title must be unique within the message.",
        ),
        (
            lambda p: p["action"]["buttons"][1]["reply"].update(id="good"),
            131009,
            "Button id must be unique within the message.",
        ),
        (
            lambda p: p["action"]["buttons"][0]["reply"].update(id="i" * 257),
            131009,
            "Button id length invalid. Min length: 1, Max length: 256",
        ),
        (
            lambda p: p["body"].update(text="b" * 1025),
            131009,
            "Body text length invalid. Min length: 1, Max length: 1024",
        ),
        (
            lambda p: p.update(footer={"text": "f" * 61}),
            131009,
            "Footer text length invalid. Min length: 1, Max length: 60",
        ),
        (
            lambda p: p.update(header={"type": "text", "text": "h" * 61}),
            131009,
            "Header text length invalid. Min length: 1, Max length: 60",
        ),
        (
            lambda p: p.pop("body"),
            131008,
            "The parameter interactive['body']['text'] is required.",
        ),
        (
            lambda p: p["action"]["buttons"][0].update(type="url"),
            131009,
            "Button type must be 'reply'.",
        ),
    ],
)
def test_reply_buttons_beyond_metas_limits(client, graph, change, code, details):
    payload = buttons_payload()
    change(payload["interactive"])
    assert refusal(client, payload) == (code, details)
    assert not graph.messages


def rows(count, **row):
    return [{"id": f"r{n}", "title": f"Row {n}", **row} for n in range(count)]


@pytest.mark.parametrize(
    "payload, code, details",
    [
        (
            list_payload(rows=rows(11)),
            131009,
            "Total row count exceed max allowed count: 10",
        ),
        (
            list_payload(rows=rows(1, title="t" * 25)),
            131009,
            "Row title length invalid. Min length: 1, Max length: 24",
        ),
        (
            list_payload(rows=rows(1, description="d" * 73)),
            131009,
            "Row description length invalid. Min length: 0, Max length: 72",
        ),
        (
            list_payload(rows=rows(1, id="i" * 201)),
            131009,
            "Row id length invalid. Min length: 1, Max length: 200",
        ),
        (
            list_payload(rows=rows(1) + rows(1)),
            131009,
            "Row id must be unique within the message.",
        ),
        (
            list_payload(body={"text": "b" * 4097}),
            131009,
            "Body text length invalid. Min length: 1, Max length: 4096",
        ),
        (
            list_payload(action={"button": "o" * 21, "sections": [{"rows": rows(1)}]}),
            131009,
            "Button text length invalid. Min length: 1, Max length: 20",
        ),
        (
            list_payload(
                action={
                    "button": "Open",
                    "sections": [{"title": str(n), "rows": rows(1)} for n in range(11)],
                }
            ),
            131009,
            "Invalid sections count. Min allowed sections: 1, Max allowed sections: 10",
        ),
        (
            list_payload(
                action={
                    "button": "Open",
                    "sections": [{"rows": rows(1)}, {"title": "Two", "rows": rows(1)}],
                }
            ),
            131009,
            "Section title length invalid. Min length: 1, Max length: 24",
        ),
        (
            list_payload(action={"button": "Open"}),
            131008,
            "The parameter interactive['action']['sections'] is required.",
        ),
        (
            list_payload(type="carousel"),
            100,
            None,
        ),
    ],
)
def test_lists_beyond_metas_limits(client, graph, payload, code, details):
    found = refusal(client, copy.deepcopy(payload))
    assert found[0] == code
    if details:
        assert found[1] == details
    assert not graph.messages
