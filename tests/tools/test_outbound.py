import pytest

from whatsapp_team.tools import outbound


def test_html_to_whatsapp_keeps_formatting_lines_and_links():
    html = (
        "<p>Hello <b>Ana</b>,</p><p>the <em>blue</em> one is <s>20</s> 15 EUR"
        "<br>see <a href='https://shop.example/chair'>the chair</a></p>"
        "<ul><li>fast</li><li>cheap &amp; good</li></ul>"
    )
    assert outbound.html_to_whatsapp(html) == (
        "Hello *Ana*,\n"
        "the _blue_ one is ~20~ 15 EUR\n"
        "see the chair (https://shop.example/chair)\n"
        "- fast\n"
        "- cheap & good"
    )


def test_html_to_whatsapp_plain_text_and_empty():
    assert outbound.html_to_whatsapp("just text") == "just text"
    assert outbound.html_to_whatsapp("") == ""
    assert outbound.html_to_whatsapp(None) == ""
    assert outbound.html_to_whatsapp("<p><br></p>") == ""


def test_html_to_whatsapp_leaves_out_what_a_browser_does_not_show():
    html = (
        "<p>Hi <span hidden>internal</span><b>Ana</b></p>"
        '<div style="color: red; DISPLAY : none">hidden <b>block</b><br/>'
        "<span>nested</span></div>"
        "<p>see<br/>you<script>alert(1)</script><style>p {}</style></p>"
        '<p style="display:none"><img src="x">gone</p><p>end</p>'
    )
    assert outbound.html_to_whatsapp(html) == "Hi *Ana*\nsee\nyou\nend"


@pytest.mark.parametrize(
    "mime, kind",
    [
        ("image/jpeg", "image"),
        ("image/png", "image"),
        ("image/webp", "sticker"),
        ("video/mp4", "video"),
        ("audio/ogg; codecs=opus", "audio"),
        ("application/pdf", "document"),
        ("application/zip", None),
        ("image/gif", None),
        ("", None),
    ],
)
def test_media_kind(mime, kind):
    assert outbound.media_kind(mime) == kind


def test_media_problem_type_and_size():
    assert outbound.media_problem("application/pdf", 1000) is None
    assert outbound.media_problem("application/zip", 10) == (
        "type",
        {"mime_type": "application/zip"},
    )
    code, values = outbound.media_problem("image/png", 6 * outbound.MB)
    assert (code, values["kind"], values["limit_mb"]) == ("size", "image", 5.0)
    assert outbound.media_problem("video/mp4", 16 * outbound.MB) is None


def test_text_payload_phone_reply_and_callback():
    payload = outbound.text_payload(
        "32470123456", "", "see https://x.example", reply_to="wamid.A", callback="c1"
    )
    assert payload == {
        "recipient_type": "individual",
        "to": "32470123456",
        "type": "text",
        "text": {"body": "see https://x.example", "preview_url": True},
        "context": {"message_id": "wamid.A"},
        "biz_opaque_callback_data": "c1",
    }


def test_text_payload_user_id_only_and_length():
    payload = outbound.text_payload("", "US.1", "x" * outbound.MAX_TEXT_LENGTH)
    assert payload["recipient"] == "US.1"
    assert "to" not in payload
    assert len(payload["text"]["body"]) == 4096
    with pytest.raises(ValueError):
        outbound.text_payload("", "", "hello")
    # never cut: half a message is worse than none
    with pytest.raises(ValueError, match="at most 4096 characters, this one has 4097"):
        outbound.text_payload("32470123456", "", "x" * 4097)


def test_length_problem():
    assert outbound.length_problem("x" * 1024, outbound.MAX_CAPTION_LENGTH) is None
    assert outbound.length_problem("", 10) is None
    assert outbound.length_problem(None, 10) is None
    assert outbound.length_problem("x" * 1025, outbound.MAX_CAPTION_LENGTH) == {
        "length": 1025,
        "limit": 1024,
    }


def test_media_payload():
    payload = outbound.media_payload(
        "32470123456", "", "document", "123", caption="quote", filename="q.pdf"
    )
    assert payload["document"] == {"id": "123", "caption": "quote", "filename": "q.pdf"}
    audio = outbound.media_payload("32470123456", "", "audio", "9", caption="ignored")
    assert audio["audio"] == {"id": "9"}
    image = outbound.media_payload("1", "", "image", "7", caption="c" * 1024)
    assert len(image["image"]["caption"]) == 1024
    with pytest.raises(ValueError, match="caption takes at most 1024"):
        outbound.media_payload("1", "", "image", "7", caption="c" * 1025)


def test_template_variables_and_fill():
    text = "Hello {{1}}, your order {{2}} ships on {{ 3 }}. Thanks {{1}}!"
    assert outbound.template_variables(text) == [1, 2, 3]
    assert outbound.template_variables("no variables") == []
    filled = outbound.fill_template(text, {1: "Ana", 2: "S0042"})
    assert filled == "Hello Ana, your order S0042 ships on {{ 3 }}. Thanks Ana!"


def test_template_payload():
    payload = outbound.template_payload(
        "32470123456", "", "order_update", "pt_BR", ["Ana", "S0042"], callback="c"
    )
    assert payload["type"] == "template"
    assert payload["template"] == {
        "name": "order_update",
        "language": {"code": "pt_BR"},
        "components": [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "Ana"},
                    {"type": "text", "text": "S0042"},
                ],
            }
        ],
    }
    assert payload["biz_opaque_callback_data"] == "c"
    assert (
        "components" not in outbound.template_payload("1", "", "hi", "en")["template"]
    )


# -- interactive messages: reply buttons and lists ----------------------------


def test_interactive_payload_reply_buttons():
    spec = outbound.interactive_spec(
        "How did it go?",
        buttons=[("csat_good", "Very well"), "It was OK", {"title": "Très mal"}],
        header="Your visit",
        footer="One tap is enough",
    )
    assert outbound.interactive_problems(spec) == []
    payload = outbound.interactive_payload(
        "32470123456", "", spec, reply_to="wamid.A", callback="c1"
    )
    assert payload == {
        "recipient_type": "individual",
        "to": "32470123456",
        "type": "interactive",
        "interactive": {
            "type": "button",
            "header": {"type": "text", "text": "Your visit"},
            "body": {"text": "How did it go?"},
            "footer": {"text": "One tap is enough"},
            "action": {
                "buttons": [
                    {
                        "type": "reply",
                        "reply": {"id": "csat_good", "title": "Very well"},
                    },
                    {
                        "type": "reply",
                        "reply": {"id": "it_was_ok", "title": "It was OK"},
                    },
                    {"type": "reply", "reply": {"id": "tres_mal", "title": "Très mal"}},
                ]
            },
        },
        "context": {"message_id": "wamid.A"},
        "biz_opaque_callback_data": "c1",
    }


def test_interactive_payload_list_with_sections_to_a_user_id():
    spec = outbound.interactive_spec(
        "When may we deliver?",
        button="Pick a slot",
        sections=[
            ("Monday", [("mon_am", "Morning", "8-12"), "Afternoon"]),
            {"title": "Tuesday", "rows": [{"title": "Morning"}]},
        ],
    )
    assert outbound.interactive_problems(spec) == []
    payload = outbound.interactive_payload("", "BR.77", spec)
    assert payload["recipient"] == "BR.77"
    assert payload["interactive"] == {
        "type": "list",
        "body": {"text": "When may we deliver?"},
        "action": {
            "button": "Pick a slot",
            "sections": [
                {
                    "title": "Monday",
                    "rows": [
                        {"id": "mon_am", "title": "Morning", "description": "8-12"},
                        {"id": "afternoon", "title": "Afternoon"},
                    ],
                },
                # a title made into an id twice gets a number
                {"title": "Tuesday", "rows": [{"id": "morning", "title": "Morning"}]},
            ],
        },
    }


def test_a_lone_untitled_section_is_titled_by_the_lists_button():
    spec = outbound.interactive_spec("Size?", button="Sizes", sections=[("", ["S"])])
    payload = outbound.interactive_payload("1", "", spec)
    assert payload["interactive"]["action"]["sections"][0]["title"] == "Sizes"


@pytest.mark.parametrize(
    "title, taken, code",
    [
        ("Call me!", (), "call_me"),
        ("Très bien", (), "tres_bien"),
        ("👍", (), "option_2"),
        ("Yes", ("yes",), "yes_2"),
        ("Yes", ("yes", "yes_2"), "yes_3"),
    ],
)
def test_choice_code(title, taken, code):
    assert outbound.choice_code(title, set(taken), position=2) == code


def problem_codes(body="Which one?", **choices):
    spec = outbound.interactive_spec(body, **choices)
    return [code for code, _values in outbound.interactive_problems(spec)]


def test_interactive_problems_at_metas_limits():
    # at the limits: nothing to say
    assert problem_codes("b" * 1024, buttons=["t" * 20, "u" * 20, "v" * 20]) == []
    assert (
        problem_codes(
            "l" * 4096,
            button="o" * 20,
            sections=[("s", [("r" * 200, "t" * 24, "d" * 72)])]
            + [(f"{n:024d}", [f"row {n}"]) for n in range(9)],
            header="h" * 60,
            footer="f" * 60,
        )
        == []
    )
    # one beyond each
    assert problem_codes("b" * 1025, buttons=["Yes"]) == ["body_length"]
    assert problem_codes(buttons=["a", "b", "c", "d"]) == ["button_count"]
    assert problem_codes(buttons=[]) == ["button_count"]
    assert problem_codes(buttons=["t" * 21]) == ["button_title"]
    assert problem_codes(buttons=["Yes", "YES"]) == ["button_twice"]
    assert problem_codes(buttons=[("x" * 257, "Yes")]) == ["id_length"]
    assert problem_codes(buttons=[("same", "Yes"), ("same", "No")]) == ["id_twice"]
    assert problem_codes(buttons=["Yes"], header="h" * 61) == ["header_length"]
    assert problem_codes(buttons=["Yes"], footer="f" * 61) == ["footer_length"]
    assert problem_codes("", buttons=["Yes"]) == ["body"]
    assert problem_codes("l" * 4097, button="Open", sections=[("", ["S"])]) == [
        "body_length"
    ]
    assert problem_codes(button="o" * 21, sections=[("", ["S"])]) == ["list_button"]
    assert problem_codes(
        button="Open", sections=[("", [str(n) for n in range(11)])]
    ) == ["row_count"]
    assert problem_codes(
        button="Open", sections=[(str(n), ["r"]) for n in range(11)]
    ) == ["section_count", "row_count"]
    assert problem_codes(button="Open", sections=[("s" * 25, ["S"])]) == [
        "section_title"
    ]
    assert problem_codes(button="Open", sections=[("", ["S"]), ("Two", ["T"])]) == [
        "section_title"
    ]
    assert problem_codes(button="Open", sections=[("Empty", [])]) == [
        "section_empty",
        "row_count",
    ]
    assert problem_codes(button="Open", sections=[("", ["t" * 25])]) == ["row_title"]
    assert problem_codes(button="Open", sections=[("", [("a", "A", "d" * 73)])]) == [
        "row_description"
    ]
    assert problem_codes(button="Open", sections=[("", [("r" * 201, "A")])]) == [
        "id_length"
    ]


@pytest.mark.parametrize(
    "choices",
    [
        {"buttons": "Yes"},
        {"buttons": [42]},
        {"buttons": [("a", "b", "c")]},
        {"buttons": [{"title": "Yes", "colour": "red"}]},
        {"buttons": ["Yes"], "button": "Open"},
        {"button": "Open", "sections": [{"rows": ["a"], "colour": "red"}]},
        {"button": "Open", "sections": ["a"]},
        {"buttons": ["Yes"], "colour": "red"},
    ],
)
def test_interactive_spec_refuses_values_of_the_wrong_shape(choices):
    with pytest.raises(ValueError):
        outbound.interactive_spec("Which?", **choices)


def test_interactive_payload_refuses_what_meta_would():
    spec = outbound.interactive_spec("Which?", buttons=["t" * 21])
    with pytest.raises(ValueError, match="button_title"):
        outbound.interactive_payload("1", "", spec)


@pytest.mark.parametrize(
    "text, body, choices",
    [
        (
            "How was it?\n[Very well] [Not really]\n",
            "How was it?",
            {"buttons": ["Very well", "Not really"]},
        ),
        ("How was it?\n[ Yes ]\n[No]", "How was it?", {"buttons": ["Yes", "No"]}),
        (
            "Which one?\n\n[See the sizes]\n- Small | 30 cm\n* Large\n• XL |",
            "Which one?",
            {
                "button": "See the sizes",
                "sections": [
                    {
                        "title": "",
                        "rows": [
                            ("", "Small", "30 cm"),
                            ("", "Large", ""),
                            ("", "XL", ""),
                        ],
                    }
                ],
            },
        ),
        (
            "See the [new] catalogue, [page 4]",
            "See the [new] catalogue, [page 4]",
            None,
        ),
        ("Our offer:\n- fast\n- cheap", "Our offer:\n- fast\n- cheap", None),
        ("Choose:\n[A] [B]\n- one", "Choose:\n[A] [B]\n- one", None),
        ("A checkbox\n[ ]", "A checkbox\n[ ]", None),
        ("[see](https://x.example)", "[see](https://x.example)", None),
        ("", "", None),
    ],
)
def test_split_choices(text, body, choices):
    assert outbound.split_choices(text) == (body, choices)


@pytest.mark.parametrize(
    "code, http_status, scope",
    [
        (131056, 400, "pair"),
        (130429, 400, "number"),
        (80007, 400, "account"),
        (4, 400, "app"),
        (None, 429, "number"),
        (133016, 400, None),  # registration attempts: no sending limit
        (131026, 400, None),
        (None, 503, None),
    ],
)
def test_throttle_scope(code, http_status, scope):
    assert outbound.throttle_scope(code, http_status) == scope


def test_throttle_delay_grows_with_jitter_up_to_its_cap():
    def low(hits, scope="number"):
        return outbound.throttle_delay(scope, hits, rand=lambda: 0.0)

    def high(hits, scope="number"):
        return outbound.throttle_delay(scope, hits, rand=lambda: 1.0)

    assert [high(hits) for hits in range(1, 6)] == [1, 2, 4, 8, 16]
    assert [low(hits) for hits in range(1, 4)] == [0.5, 1, 2]
    assert high(30) == high(200) == outbound.THROTTLE_MAX_DELAY == 900
    assert low(30) == 450
    assert (high(1, "pair"), high(1, "account"), high(1, "app")) == (6, 60, 60)
    assert high(5, "app") == 900
    delays = {outbound.throttle_delay("number", 5) for _ in range(50)}
    assert len(delays) > 1 and all(8 <= delay <= 16 for delay in delays)


def test_throttle_delay_honours_the_wait_meta_asked_for():
    assert outbound.throttle_delay("number", 1, retry_after=300) == 300
    # a shorter wait than the backoff's does not shorten it
    assert outbound.throttle_delay("app", 5, retry_after=10, rand=lambda: 1) == 900
    # a wait beyond a day is not believed
    assert outbound.throttle_delay("number", 1, retry_after=10**9) == 24 * 3600
