"""Satisfaction surveys: which answer is worth which rating, without the ORM.

Odoo's ratings run from 1 (unhappy) to 5 (happy); a WhatsApp message takes
at most three reply buttons, so a survey offers three answers worth 5, 3
and 1, or two worth 5 and 1.
"""

# the survey's reply buttons, happiest first: (code, title, rating)
BUTTONS = (
    ("rating_5", "😀 Great", 5),
    ("rating_3", "😐 OK", 3),
    ("rating_1", "😞 Bad", 1),
)
# the ratings of a template's quick reply buttons, by their number
VALUES_BY_COUNT = {2: (5, 1), 3: (5, 3, 1)}
CODE_PREFIX = "rating_"


def value_of_code(code):
    """The rating a survey button's code gives (``rating_3`` → 3), or None
    for a code that is not one of the survey's."""
    code = code or ""
    if not code.startswith(CODE_PREFIX):
        return None
    number = code[len(CODE_PREFIX) :]
    if number.isdigit() and 1 <= int(number) <= 5:
        return int(number)
    return None


def value_of_button(texts, pressed):
    """The rating of the quick reply button ``pressed`` (its payload or its
    text) among the template's buttons ``texts``, happiest first; None when
    it is none of them or the template has no survey's number of buttons.
    Meta returns a quick reply's text as its payload when the template set
    none, so either is matched."""
    values = VALUES_BY_COUNT.get(len(texts))
    if not values:
        return None
    for pressed_text in pressed:
        if pressed_text and pressed_text in texts:
            return values[list(texts).index(pressed_text)]
    return None
