"""Phone numbers as WhatsApp sends them and as partners store them.

WhatsApp identifies a customer by ``wa_id``: the international number as
digits, without ``+``. Partners store numbers as people type them, in any
format and often without the country prefix. Matching the two needs one
canonical *match key* per number, computed the same way on both sides.

The key is the E.164 number without ``+``, with two national quirks folded
away because WhatsApp and people write the same line both ways:

* Brazil (+55): mobile numbers gained a ninth digit (a ``9`` after the two-digit
  area code). WhatsApp ids of older accounts often lack it, address books
  usually have it. The key drops it.
* Mexico (+52): mobile numbers used to be dialled internationally with a ``1``
  after the country code (``+52 1 55 …``). WhatsApp ids still carry it for
  many accounts. The key drops it.
* Argentina (+54) has the same habit with a ``9`` before mobile numbers in
  international form; the key drops it too.
"""

import functools

import phonenumbers

# country calling code -> (national number length, digit to drop, its position)
_FOLDED_DIGITS = {
    55: (11, "9", 2),  # BR: AA 9 XXXX XXXX -> AA XXXX XXXX
    52: (11, "1", 0),  # MX: 1 AA XXXX XXXX -> AA XXXX XXXX
    54: (11, "9", 0),  # AR: 9 AA XXXX XXXX -> AA XXXX XXXX
}


def parse(number, default_region=None):
    """Return a ``phonenumbers.PhoneNumber`` for ``number`` or ``None``.

    ``default_region`` (ISO code such as ``"BE"``) is used for numbers typed
    without their country prefix. A number written with ``00`` or with digits
    only that is impossible in the default region is retried as international,
    the way people paste WhatsApp ids.
    """
    if not number or not isinstance(number, str):
        return None
    text = number.strip()
    if not any(char.isdigit() for char in text):
        return None
    candidates = [text]
    if text.startswith("00"):
        candidates.insert(0, "+" + text[2:])
    elif not text.startswith("+"):
        candidates.append("+" + text)
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, default_region or None)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(parsed):
            return parsed
        legacy = _without_mexican_mobile_prefix(parsed)
        if legacy is not None:
            return legacy
    return None


def _without_mexican_mobile_prefix(parsed):
    # Mexico dropped the "1" of mobile numbers in 2019 and phonenumbers now
    # calls "+52 1 55 1234 5678" too long, yet WhatsApp ids still carry it.
    national = str(parsed.national_number)
    if parsed.country_code != 52 or len(national) != 11 or national[0] != "1":
        return None
    fixed = phonenumbers.PhoneNumber(country_code=52, national_number=int(national[1:]))
    return fixed if phonenumbers.is_possible_number(fixed) else None


def to_e164(number, default_region=None):
    """Return ``number`` as E.164 (``+32470123456``) or ``None`` when unusable."""
    parsed = parse(number, default_region)
    if parsed is None:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def wa_id_to_e164(wa_id):
    """Return the E.164 form of a WhatsApp id (international digits, no ``+``)."""
    if not wa_id:
        return None
    return to_e164("+" + wa_id.lstrip("+"))


def match_key(number, default_region=None):
    """Return the canonical digits used to match ``number`` with other numbers.

    Two numbers that reach the same WhatsApp account have the same key. Returns
    ``None`` for text that is not a possible phone number.
    """
    parsed = parse(number, default_region)
    if parsed is None:
        return _international_digits(number)
    return _key_of(parsed)


# a business's own numbers come back at every message: each is read once
@functools.lru_cache(maxsize=1024)
def international_key(number):
    """The match key of ``number`` read without a default region (as
    written with its ``+`` country prefix), or ``None`` when it cannot be
    read so."""
    parsed = parse(number)
    return _key_of(parsed) if parsed is not None else None


def _key_of(parsed):
    """The match key of a parsed number (see :func:`match_key`)."""
    national = str(parsed.national_number)
    fold = _FOLDED_DIGITS.get(parsed.country_code)
    if fold:
        length, digit, position = fold
        if len(national) == length and national[position] == digit:
            national = national[:position] + national[position + 1 :]
    return f"{parsed.country_code}{national}"


# the same customers write again and again: their ids are parsed once
@functools.lru_cache(maxsize=4096)
def wa_id_key(wa_id):
    """Return the match key of a WhatsApp id."""
    if not wa_id:
        return None
    return match_key("+" + wa_id.lstrip("+"))


def _international_digits(number):
    # A number written in international form that phonenumbers does not know
    # (a new range, outdated metadata, or a WhatsApp id Meta vouches for)
    # still identifies one line: its digits are its key.
    if not isinstance(number, str):
        return None
    text = number.strip()
    if not text.startswith(("+", "00")):
        return None
    digits = "".join(char for char in text if char.isdigit())
    if text.startswith("00"):
        digits = digits[2:]
    return digits if 8 <= len(digits) <= 15 else None


def region_of(number):
    """Return the ISO country code a number belongs to (``"BR"``), or ``None``."""
    parsed = parse(number)
    if parsed is None:
        return None
    return phonenumbers.region_code_for_number(parsed)


@functools.lru_cache(maxsize=4096)
def international(number, default_region=None):
    """Return the number formatted for people (``+55 11 98765-4321``)."""
    parsed = parse(number, default_region)
    if parsed is None:
        return number or ""
    return phonenumbers.format_number(
        parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
