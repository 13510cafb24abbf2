"""Template authoring without a database: Meta's rules, the components we
submit, reading synced templates back, and the fake's review of them."""

import pytest

from whatsapp_team.tools import outbound
from whatsapp_team.tools import templates as tpl
from whatsapp_team.tools.fake_graph import FakeGraph, FakeTransport
from whatsapp_team.tools.graph_api import GraphClient, TemplateError, UnsupportedError

TOKEN = "EAAtest-token-123"
PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
APP_ID = "1234567890"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


def spec(**values):
    base = {
        "name": "order_ready",
        "language": "en_US",
        "category": "utility",
        "body": "Hello {{1}}, your order {{2}} is ready.",
        "body_examples": {1: "Ana", 2: "S0042"},
    }
    base.update(values)
    return tpl.TemplateSpec(**base)


def codes(found):
    return [code for code, _values in found]


# -- Meta's rules -------------------------------------------------------------


def test_a_complete_template_has_no_problem():
    assert tpl.problems(spec(), complete=True) == []


@pytest.mark.parametrize(
    "name, code",
    [
        ("Order Ready", "name_format"),
        ("order-ready", "name_format"),
        ("ordér", "name_format"),
        ("a" * 513, "name_length"),
    ],
)
def test_name_is_lowercase_letters_digits_underscores(name, code):
    assert code in codes(tpl.problems(spec(name=name)))


def test_name_of_512_characters_is_fine():
    assert tpl.problems(spec(name="a" * 512)) == []


def test_body_limits_and_numbering():
    assert codes(tpl.problems(spec(body="x" * 1025))) == ["body_length"]
    assert tpl.problems(spec(body="x" * 1024)) == []
    found = tpl.problems(spec(body="Hi {{1}} and {{3}}."))
    assert found == [("variables_sequence", {"where": "body", "found": "{{1}}, {{3}}"})]
    assert codes(tpl.problems(spec(body="Hi {{name}}."))) == ["variable_malformed"]
    # a draft may be incomplete; submitting may not
    assert tpl.problems(spec(body="")) == []
    assert "body_missing" in codes(tpl.problems(spec(body=""), complete=True))


def test_body_may_not_start_or_end_with_a_variable():
    for body in ("{{1}} is here.", "Hello {{1}}"):
        found = tpl.problems(spec(body=body, body_examples={1: "x"}), complete=True)
        assert codes(found) == ["variable_at_edge"]


def test_every_variable_needs_an_example_to_submit():
    found = tpl.problems(spec(body_examples={1: "Ana", 2: " "}), complete=True)
    assert found == [("example_missing", {"where": "body", "position": 2})]
    found = tpl.problems(
        spec(header_type="text", header_text="Order {{1}}"), complete=True
    )
    assert found == [("example_missing", {"where": "header", "position": 1})]


def test_header_rules():
    assert codes(tpl.problems(spec(header_type="text", header_text="x" * 61))) == [
        "header_text_length"
    ]
    assert codes(
        tpl.problems(spec(header_type="text", header_text="{{1}} and {{2}}"))
    ) == ["header_variables"]
    assert codes(tpl.problems(spec(header_type="text", header_text="Hi {{2}}"))) == [
        "variables_sequence"
    ]
    assert codes(tpl.problems(spec(header_type="text"), complete=True)) == [
        "header_text_missing"
    ]
    assert tpl.problems(spec(header_type="image"), complete=True) == [
        ("header_sample_missing", {"kind": "image"})
    ]
    media = spec(header_type="image", header_handle="4::x")
    assert tpl.problems(media, complete=True) == []


def test_footer_rules():
    assert codes(tpl.problems(spec(footer="x" * 61))) == ["footer_length"]
    assert codes(tpl.problems(spec(footer="Bye {{1}}"))) == ["footer_variables"]
    assert tpl.problems(spec(footer="x" * 60)) == []


def quick(text="Yes"):
    return tpl.Button("quick_reply", text)


def url(text="Shop", address="https://shop.example.com"):
    return tpl.Button("url", text, url=address)


def phone(text="Call us", number="+55 11 4000-1234"):
    return tpl.Button("phone_number", text, phone_number=number)


@pytest.mark.parametrize(
    "buttons, code",
    [
        ([quick(str(n)) for n in range(11)], "buttons_count"),
        ([url(), url(), url()], "url_buttons_count"),
        ([phone(), phone()], "phone_buttons_count"),
        ([quick(), url(), quick("No")], "quick_replies_not_grouped"),
        ([quick("x" * 26)], "button_text_length"),
        ([quick("")], "button_text_missing"),
        ([url(address="")], "url_missing"),
        ([url(address="https://x.example/" + "a" * 2000)], "url_length"),
        ([url(address="ftp://x.example")], "url_scheme"),
        ([url(address="https://x.example/{{1}}")], "url_variables"),
        ([phone(number="")], "phone_missing"),
        ([phone(number="call me")], "phone_invalid"),
    ],
)
def test_button_limits(buttons, code):
    assert code in codes(tpl.problems(spec(buttons=buttons)))


def test_buttons_within_limits():
    buttons = [quick("Yes"), quick("No"), url(), url("Track"), phone()]
    assert tpl.problems(spec(buttons=buttons), complete=True) == []
    assert tpl.problems(spec(buttons=[quick(str(n)) for n in range(10)])) == []


def test_authentication_templates_are_refused():
    assert codes(tpl.problems(spec(category="authentication"), complete=True)) == [
        "authentication"
    ]


# -- components ---------------------------------------------------------------


def test_create_payload_has_meta_shape():
    payload = tpl.create_payload(
        spec(
            header_type="text",
            header_text="Order {{1}}",
            header_examples={1: "S0042"},
            footer="Sent from Odoo",
            buttons=[quick("Thanks"), url(), phone()],
        )
    )
    assert payload == {
        "name": "order_ready",
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {
                "type": "HEADER",
                "format": "TEXT",
                "text": "Order {{1}}",
                "example": {"header_text": ["S0042"]},
            },
            {
                "type": "BODY",
                "text": "Hello {{1}}, your order {{2}} is ready.",
                "example": {"body_text": [["Ana", "S0042"]]},
            },
            {"type": "FOOTER", "text": "Sent from Odoo"},
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "QUICK_REPLY", "text": "Thanks"},
                    {"type": "URL", "text": "Shop", "url": "https://shop.example.com"},
                    {
                        "type": "PHONE_NUMBER",
                        "text": "Call us",
                        "phone_number": "+551140001234",
                    },
                ],
            },
        ],
    }


def test_media_header_and_plain_body():
    components = tpl.build_components(
        spec(body="No variables here.", header_type="video", header_handle="4::h")
    )
    assert components == [
        {"type": "HEADER", "format": "VIDEO", "example": {"header_handle": ["4::h"]}},
        {"type": "BODY", "text": "No variables here."},
    ]


def test_read_components_round_trip():
    original = spec(
        header_type="document",
        header_handle="4::doc",
        footer="Bye",
        buttons=[quick("Yes"), url()],
    )
    values = tpl.read_components(tpl.build_components(original))
    assert values["header_type"] == "document"
    assert values["header_handle"] == "4::doc"
    assert values["body"] == original.body
    assert values["footer"] == "Bye"
    assert values["buttons"] == original.buttons
    assert values["body_examples"] == {1: "Ana", 2: "S0042"}
    text = tpl.read_components(
        [
            {"type": "HEADER", "format": "TEXT", "text": "Hi {{1}}",
             "example": {"header_text": ["Bia"]}},
            {"type": "BODY", "text": "Body"},
            {"type": "CAROUSEL", "cards": []},
        ]
    )  # fmt: skip
    assert (text["header_type"], text["header_text"]) == ("text", "Hi {{1}}")
    assert text["header_examples"] == {1: "Bia"}
    assert tpl.read_components([])["header_type"] == "none"


def test_variable_slots_header_first():
    assert tpl.variable_slots("text", "Hi {{1}}", "A {{1}} b {{2}}.") == [
        ("header", 1),
        ("body", 1),
        ("body", 2),
    ]
    assert tpl.variable_slots("image", "ignored {{1}}", "A {{1}}.") == [("body", 1)]


def test_parameters_are_one_clean_line():
    assert tpl.clean_parameter("  Ana\n\tLima     Souza ") == "Ana Lima Souza"
    assert tpl.clean_parameter(None) == ""
    assert tpl.clean_parameter(1500.5) == "1500.5"
    assert len(tpl.clean_parameter("x" * 5000)) == 5000, "never cut"
    assert tpl.pick_value("", "there") == "there"
    assert tpl.pick_value(" \n", " friend ") == "friend"
    assert tpl.pick_value("Ana", "there") == "Ana"


def test_field_paths():
    assert tpl.valid_field_path("partner_id.name")
    assert tpl.valid_field_path("expected_revenue")
    for path in ("", "partner_id..name", "Partner", "name.", "a-b", "x; drop"):
        assert not tpl.valid_field_path(path)


def test_template_payload_with_header():
    payload = outbound.template_payload(
        "5511", "", "promo", "en_US", ["Ana"],
        header=outbound.header_parameter("document", "991", "offer.pdf"),
    )  # fmt: skip
    assert payload["template"]["components"] == [
        {
            "type": "header",
            "parameters": [
                {"type": "document", "document": {"id": "991", "filename": "offer.pdf"}}
            ],
        },
        {"type": "body", "parameters": [{"type": "text", "text": "Ana"}]},
    ]
    assert outbound.header_parameter("text", "Hi") == {"type": "text", "text": "Hi"}
    assert outbound.header_parameter("image", 7) == {
        "type": "image",
        "image": {"id": "7"},
    }


# -- against the fake Graph API -------------------------------------------------


@pytest.fixture
def client(server, graph):
    return GraphClient(
        access_token=TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        business_account_id=WABA_ID,
        base_url=server.url,
        timeout=(2, 5),
    )


def test_sample_upload_gives_a_handle_a_media_header_is_accepted_with(client, graph):
    handle = client.upload_template_sample(APP_ID, PNG, "image/png", "sample.png")

    assert handle.startswith("4::")
    assert graph.upload_handles[handle] == (PNG, "image/png")
    opened, sent = graph.calls[-2:]
    assert opened["path"].endswith(f"/{APP_ID}/uploads")
    assert opened["query"]["file_length"] == str(len(PNG))
    assert sent["path"].split("/")[-1].startswith("upload:")
    assert sent["headers"]["authorization"] == f"OAuth {TOKEN}"
    answer = client.create_template(
        tpl.create_payload(spec(header_type="image", header_handle=handle))
    )
    assert answer["status"] == "PENDING"


def test_sample_upload_refuses_unknown_types(client):
    with pytest.raises(UnsupportedError):
        client.upload_template_sample(APP_ID, b"GIF89a", "image/gif", "a.gif")
    with pytest.raises(ValueError):
        client.upload_template_sample("", PNG, "image/png", "a.png")


@pytest.mark.parametrize(
    "components, title",
    [
        ([], "Body is required"),
        ([{"type": "BODY", "text": "Hi {{1}}, welcome."}], "Missing sample values"),
        (
            [
                {
                    "type": "BODY",
                    "text": "{{1}} welcome",
                    "example": {"body_text": [["A"]]},
                }
            ],
            "Variables can't be at the start or end of the template",
        ),
        (
            [
                {
                    "type": "HEADER",
                    "format": "IMAGE",
                    "example": {"header_handle": ["x"]},
                },
                {"type": "BODY", "text": "Hi"},
            ],
            "Missing sample media",
        ),
        (
            [
                {"type": "BODY", "text": "Hi"},
                {
                    "type": "BUTTONS",
                    "buttons": [{"type": "URL", "text": "a", "url": "https://a"}] * 3,
                },
            ],
            "Too many buttons",
        ),
        (
            [
                {"type": "BODY", "text": "Hi"},
                {
                    "type": "BUTTONS",
                    "buttons": [
                        {"type": "QUICK_REPLY", "text": "a"},
                        {"type": "PHONE_NUMBER", "text": "b", "phone_number": "+1"},
                        {"type": "QUICK_REPLY", "text": "c"},
                    ],
                },
            ],
            "Invalid button order",
        ),
        (
            [{"type": "BODY", "text": "Hi"}, {"type": "FOOTER", "text": "{{1}}"}],
            "Invalid footer",
        ),
    ],
)
def test_fake_reviews_templates_like_meta(client, components, title):
    with pytest.raises(UnsupportedError) as caught:
        client.create_template(
            {
                "name": "checked",
                "language": "en_US",
                "category": "MARKETING",
                "components": components,
            }
        )
    assert caught.value.code == 100
    assert caught.value.title == title
    assert caught.value.details  # Meta's error_user_msg


def test_fake_checks_template_messages_against_the_approved_template(client, graph):
    graph.add_template(
        "promo",
        components=[
            {"type": "HEADER", "format": "IMAGE"},
            {"type": "BODY", "text": "Hi {{1}}, see this."},
        ],
    )
    graph.add_template("pending_one", status="PENDING")
    media_id = client.upload_media(PNG, "image/png", "a.png")
    good = outbound.template_payload(
        "5511", "", "promo", "en_US", ["Ana"],
        header=outbound.header_parameter("image", media_id),
    )  # fmt: skip
    assert client.send_message(good).startswith("wamid.")
    without_header = outbound.template_payload("5511", "", "promo", "en_US", ["Ana"])
    with pytest.raises(TemplateError) as caught:
        client.send_message(without_header)
    assert caught.value.code == 132000
    wrong_language = outbound.template_payload("5511", "", "promo", "pt_BR", ["A"])
    with pytest.raises(TemplateError) as caught:
        client.send_message(wrong_language)
    assert caught.value.code == 132001
    with pytest.raises(TemplateError):
        client.send_message(
            outbound.template_payload("5511", "", "pending_one", "en_US")
        )


def test_fake_without_reviewer_approves_at_once():
    graph = FakeGraph(approve_templates=True)
    client = GraphClient(
        access_token="",
        phone_number_id=PHONE_NUMBER_ID,
        business_account_id=WABA_ID,
        transport=FakeTransport(graph),
    )
    answer = client.create_template(tpl.create_payload(spec()))
    assert answer["status"] == "APPROVED"
    assert graph.templates[0]["status"] == "APPROVED"


def test_long_parameters():
    assert tpl.long_parameters({1: "Ana", 2: "x" * 1024}, "y" * 60) == []
    assert tpl.long_parameters({2: "x" * 1025, 1: "Ana"}, "y" * 61) == [
        ("header", 1, 61, 60),
        ("body", 2, 1025, 1024),
    ]
    # a template that is only a body takes longer variables
    assert tpl.long_parameters({1: "x" * 32768}, body_only=True) == []
    assert tpl.long_parameters({1: "x" * 32769}, body_only=True) == [
        ("body", 1, 32769, 32768)
    ]
    assert tpl.long_parameters({}, "") == []
