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
