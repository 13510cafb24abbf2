from whatsapp_team.tools import replies


def test_placeholders_known_empty_and_unknown():
    text = "Hi {customer}, {company} here. {salesperson} {typo}"
    values = {"customer": "Ana", "company": "Sofá & Co", "salesperson": False}
    assert (
        replies.render_placeholders(text, values) == "Hi Ana, Sofá & Co here.  {typo}"
    )
    assert replies.render_placeholders("", values) == ""
    assert replies.render_placeholders(None, values) == ""


def test_whole_message_in_any_case_and_language():
    setting = replies.DEFAULT_OPTOUT_KEYWORDS
    for message in (
        "STOP",
        " stop ",
        "Stop!",
        "baja",
        "Baja.",
        "退订",
        " 取消订阅 ",
        "ＳＴＯＰ",
    ):
        assert replies.matches_keyword(message, setting), message
    for message in ("please stop sending", "stopped", "bajar", "", "退订了吗"):
        assert not replies.matches_keyword(message, setting), message


def test_keywords_setting_separators():
    assert replies.parse_keywords("Stop, PARAR\nArrêter，停止") == {
        "stop",
        "parar",
        "arrêter",
        "停止",
    }
    assert replies.parse_keywords("") == set()
    assert replies.matches_keyword("start", replies.DEFAULT_OPTIN_KEYWORDS)
