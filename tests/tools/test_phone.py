import pytest

from whatsapp_team.tools import phone


@pytest.mark.parametrize(
    "number, region, expected",
    [
        ("+32 470 12 34 56", None, "+32470123456"),
        ("0470 12 34 56", "BE", "+32470123456"),
        ("0032470123456", None, "+32470123456"),
        ("32470123456", None, "+32470123456"),
        ("+86 138 0013 8000", None, "+8613800138000"),
        ("138 0013 8000", "CN", "+8613800138000"),
        ("(11) 98765-4321", "BR", "+5511987654321"),
        ("not a number", None, None),
        ("", None, None),
        (None, None, None),
        ("12", None, None),
    ],
)
def test_to_e164(number, region, expected):
    assert phone.to_e164(number, region) == expected


def test_wa_id_to_e164():
    assert phone.wa_id_to_e164("16505551234") == "+16505551234"
    assert phone.wa_id_to_e164("") is None


@pytest.mark.parametrize(
    "a, b",
    [
        # Brazil: with and without the ninth digit
        ("+55 11 98765-4321", "551187654321"),
        ("(11) 98765-4321", "5511987654321"),
        # Mexico: with and without the old mobile "1"
        ("+52 1 55 1234 5678", "525512345678"),
        ("55 1234 5678", "5215512345678"),
        # Argentina: with and without the mobile "9"
        ("+54 9 11 1234-5678", "541112345678"),
        # China and Belgium: plain numbers
        ("138 0013 8000", "8613800138000"),
        ("0470/12.34.56", "32470123456"),
    ],
)
def test_same_line_same_key(a, b):
    region = {"(11)": "BR", "55 1": "MX", "138 ": "CN", "0470": "BE"}.get(a[:4])
    assert phone.match_key(a, region) == phone.wa_id_key(b)
    assert phone.match_key(a, region) is not None


def test_brazil_landline_keeps_its_digits():
    # a São Paulo landline (starts with 3) has no ninth digit to fold
    assert phone.match_key("+55 11 3456-7890") == "551134567890"


def test_brazil_different_lines_differ():
    assert phone.wa_id_key("5511987654321") != phone.wa_id_key("5511987654322")


def test_mexico_and_brazil_keys_do_not_fold_other_countries():
    # a US number whose national part starts with 9 keeps it
    assert phone.wa_id_key("19175550100") == "19175550100"


def test_region_and_display():
    assert phone.region_of("+5511987654321") == "BR"
    assert phone.region_of("+8613800138000") == "CN"
    assert phone.region_of("junk") is None
    assert phone.international("+5511987654321") == "+55 11 98765-4321"
    assert phone.international("junk") == "junk"


def test_wa_id_unknown_to_phonenumbers_still_has_a_key():
    # 14 digits after +1 is impossible for phonenumbers, yet Meta sent it
    assert phone.wa_id_key("16505554059136") == "16505554059136"
    assert phone.wa_id_key("+16505554059136") == "16505554059136"
    assert phone.wa_id_key("") is None
    # partners typed the same way get the same key
    assert phone.match_key("+1 650 555 405 9136") == "16505554059136"
    assert phone.match_key("0016505554059136") == "16505554059136"
    # but too few digits do not
    assert phone.match_key("+12") is None
    assert phone.match_key("+1234567") is None
