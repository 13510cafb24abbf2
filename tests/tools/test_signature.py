import hashlib
import hmac

from whatsapp_team.tools import signature

BODY = b'{"object":"whatsapp_business_account","entry":[]}'


def test_sign_matches_hmac_sha256():
    expected = hmac.new(b"secret", BODY, hashlib.sha256).hexdigest()
    assert signature.sign("secret", BODY) == "sha256=" + expected


def test_verify_accepts_valid_signature():
    assert signature.verify("secret", BODY, signature.sign("secret", BODY))


def test_verify_accepts_uppercase_hex():
    header = signature.sign("secret", BODY)
    assert signature.verify("secret", BODY, "sha256=" + header[7:].upper())


def test_verify_rejects_other_secret_body_or_header():
    header = signature.sign("secret", BODY)
    assert not signature.verify("other", BODY, header)
    assert not signature.verify("secret", BODY + b" ", header)
    assert not signature.verify("secret", BODY, header[:-1])
    assert not signature.verify("secret", BODY, header.replace("sha256=", "sha1="))
    assert not signature.verify("secret", BODY, None)
    assert not signature.verify("secret", BODY, "")
    assert not signature.verify("", BODY, header)
