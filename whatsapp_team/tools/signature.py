"""Meta's webhook signature: ``X-Hub-Signature-256: sha256=<hex>``.

The signature is the HMAC-SHA256 of the raw request body keyed with the app
secret. It must be computed on the bytes as received, before any JSON parsing,
and compared in constant time.
"""

import hashlib
import hmac

PREFIX = "sha256="


def sign(app_secret, body):
    """Return the header value Meta would send for ``body`` (bytes)."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return PREFIX + digest


def verify(app_secret, body, header):
    """Return True when ``header`` is the valid signature of ``body``."""
    if not app_secret or not header or not isinstance(header, str):
        return False
    if not header.startswith(PREFIX):
        return False
    expected = sign(app_secret, body)
    return hmac.compare_digest(expected.encode(), header.strip().lower().encode())
