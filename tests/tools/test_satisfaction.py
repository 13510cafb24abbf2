from whatsapp_team.tools import satisfaction


def test_button_codes_give_their_rating():
    assert [satisfaction.value_of_code(c) for c, _t, _v in satisfaction.BUTTONS] == [
        5,
        3,
        1,
    ]
    for code in ("rating_0", "rating_6", "rating_", "rating_x", "blue", "", None):
        assert satisfaction.value_of_code(code) is None


def test_button_titles_fit_whatsapp():
    # reply buttons take at most 20 characters, and at most three of them
    assert len(satisfaction.BUTTONS) <= 3
    assert all(len(title) <= 20 for _c, title, _v in satisfaction.BUTTONS)


def test_template_buttons_happiest_first():
    three = ["Very good", "Fine", "Not good"]
    assert satisfaction.value_of_button(three, ["Very good"]) == 5
    assert satisfaction.value_of_button(three, ["", "Fine"]) == 3
    assert satisfaction.value_of_button(three, ["x", "Not good"]) == 1
    assert satisfaction.value_of_button(["Yes", "No"], ["No"]) == 1
    assert satisfaction.value_of_button(three, ["Maybe"]) is None
    # a template with one or four buttons is no survey
    assert satisfaction.value_of_button(["OK"], ["OK"]) is None
    assert satisfaction.value_of_button(["a", "b", "c", "d"], ["a"]) is None
