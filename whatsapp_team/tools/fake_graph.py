"""In-memory fake of Meta's WhatsApp Cloud API (Graph API).

One :class:`FakeGraph` holds the state and answers requests the way Meta does:
same paths, same JSON bodies, same error envelope. It is reachable two ways:

* :class:`FakeTransport` plugs it into :class:`~.graph_api.GraphClient` without
  sockets: this is what "sandbox" WhatsApp numbers use.
* :class:`FakeGraphServer` serves it over real HTTP on 127.0.0.1 so tests go
  through ``requests``, timeouts and all.

Failures are injected with :meth:`FakeGraph.fail_next`, :meth:`FakeGraph.fail_http`,
:meth:`FakeGraph.delay_next`, :meth:`FakeGraph.answer_late_next` and
:meth:`FakeGraph.drop_answer_next`; :meth:`FakeGraphServer.refusing` refuses
connections altogether.
"""

import base64
import contextlib
import email.policy
import hashlib
import itertools
import json
import re
import secrets
import sys
import threading
import time
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import requests

from .graph_api import NoAnswerError, Response

_VERSION_PREFIX = re.compile(r"^/v\d+(?:\.\d+)?(?=/|$)")
_JSON_HEADERS = {"Content-Type": "application/json; charset=UTF-8"}

# Types accepted by POST /{phone_number_id}/messages ("type" defaults to text).
MESSAGE_TYPES = frozenset(
    {
        "audio",
        "contacts",
        "document",
        "image",
        "interactive",
        "location",
        "reaction",
        "sticker",
        "template",
        "text",
        "video",
    }
)

# Media types Meta documents as accepted by POST /{phone_number_id}/media.
UPLOAD_MIME_TYPES = (
    "audio/aac",
    "audio/amr",
    "audio/mp4",
    "audio/mpeg",
    "audio/ogg",
    "application/msword",
    "application/pdf",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "image/jpeg",
    "image/png",
    "image/webp",
    "text/plain",
    "video/3gpp",
    "video/mp4",
)

PHONE_NUMBER_FIELDS = frozenset(
    {
        "code_verification_status",
        "display_phone_number",
        "id",
        "name_status",
        "quality_rating",
        "throughput",
        "verified_name",
    }
)

TEMPLATE_CATEGORIES = frozenset({"AUTHENTICATION", "MARKETING", "UTILITY"})

# What POST /{phone_number_id}/smb_app_data syncs on a coexistence number.
APP_SYNC_TYPES = frozenset({"smb_app_state_sync", "history"})
# POST /{phone_number_id}/<edge>
_NUMBER_EDGES = frozenset({"messages", "media", "smb_app_data"})

# code -> (title, usual HTTP status). Meta's message is "(#code) title".
ERROR_TABLE = {
    0: ("AuthException", 401),
    1: ("API Unknown", 400),
    2: ("API Service", 503),
    3: ("API Method", 500),
    4: ("Application request limit reached", 400),
    10: ("Permission denied", 403),
    33: ("Parameter value is not valid", 400),
    100: ("Invalid parameter", 400),
    200: ("Permission error", 403),
    368: ("Temporarily blocked for policies violations", 403),
    80007: ("Rate limit issues", 400),
    130429: ("Rate limit hit", 400),
    130497: (
        "Business account is restricted from messaging users in this country",
        400,
    ),
    131000: ("Something went wrong", 500),
    131005: ("Access denied", 403),
    131008: ("Required parameter is missing", 400),
    131009: ("Parameter value is not valid", 400),
    131016: ("Service unavailable", 503),
    131021: ("Recipient cannot be sender", 400),
    131026: ("Message Undeliverable", 400),
    131030: ("Recipient phone number not in allowed list", 400),
    131031: ("Account has been locked", 403),
    131042: ("Business eligibility payment issue", 400),
    131045: ("Incorrect certificate", 400),
    131047: ("Re-engagement message", 400),
    131048: ("Spam rate limit hit", 400),
    131049: ("Message not delivered to maintain healthy ecosystem engagement", 400),
    131050: ("User stopped receiving marketing messages", 400),
    131051: ("Unsupported message type", 400),
    131052: ("Media download error", 400),
    131053: ("Media upload error", 400),
    131056: ("(Business Account, Consumer Account) pair rate limit hit", 400),
    131057: ("Account in maintenance mode", 400),
    131062: ("Business-scoped user ID recipients are not supported", 400),
    132000: ("Number of parameters does not match the expected number of params", 400),
    132001: ("Template name does not exist in the translation", 400),
    132005: ("Translated text too long", 400),
    132007: ("Template format character policy violated", 400),
    132012: ("Parameter format does not match format in the created template", 400),
    132015: ("Template is paused", 400),
    132016: ("Template is disabled", 400),
    133004: ("Server temporarily unavailable", 503),
    133010: ("Phone number not registered", 400),
    133016: ("Account register deregister rate limit exceeded", 400),
}


def _fbtrace_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(15)).decode().rstrip("=")


def error_body(
    code: int,
    *,
    message: str = "",
    details: str = "",
    subcode: int | None = None,
    error_type: str = "OAuthException",
    title: str = "",
    user_msg: str = "",
) -> dict:
    """Meta's error envelope for ``code`` (its usual title when no message given).

    ``error_subcode`` is only set when given: Meta stopped sending it for
    WhatsApp errors from v16.0 on.
    """
    if not message:
        known = ERROR_TABLE.get(code)
        message = f"(#{code}) {known[0] if known else 'Unknown error'}"
    error = {"message": message, "type": error_type, "code": code}
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    if subcode is not None:
        error["error_subcode"] = subcode
    if title:
        error["error_user_title"] = title
    if user_msg:
        error["error_user_msg"] = user_msg
    error["fbtrace_id"] = _fbtrace_id()
    return {"error": error}


class _Rule:
    """One injected failure or delay, consumed by matching requests."""

    __slots__ = ("kind", "times", "path_contains", "values")

    def __init__(self, kind, times, path_contains, **values):
        self.kind = kind
        self.times = times
        self.path_contains = path_contains or ""
        self.values = values


class FakeGraph:
    """In-memory stand-in for Meta's Graph API.

    Same paths, same bodies, Meta's error shapes.

    ``access_token=None`` accepts any request; with a token set, a missing one
    gets Meta's code 104 and a wrong one code 190 (HTTP 401).
    ``base_url`` is used to build media download URLs; :class:`FakeGraphServer`
    points it at itself. ``approve_templates`` approves new templates at once
    (Meta does so for some utility templates; sandbox numbers have no
    reviewer), else they stay ``PENDING``.
    """

    def __init__(
        self,
        *,
        access_token: str | None = None,
        base_url: str = "http://fake-graph.invalid",
        approve_templates: bool = False,
    ):
        self.access_token = access_token
        self.base_url = base_url
        self.approve_templates = approve_templates
        self._lock = threading.RLock()
        self.reset()

    # -- state --------------------------------------------------------------

    def reset(self):
        """Forget every call, message, media, template and injected failure."""
        with self._lock:
            self.calls: list[dict] = []
            self.messages: list[dict] = []
            self.read_receipts: list[dict] = []
            # coexistence numbers' requests for the app's contacts and history
            self.app_syncs: list[dict] = []
            self.media: dict[str, tuple[bytes, str]] = {}
            self.templates: list[dict] = []
            self.phone_numbers: dict[str, dict] = {}
            self._media_hashes: dict[str, str] = {}
            # Resumable Upload API: open sessions and the handles they gave
            self.upload_sessions: dict[str, dict] = {}
            self.upload_handles: dict[str, tuple[bytes, str]] = {}
            self._rules: list[_Rule] = []
            self._serial = itertools.count(1)

    def _new_numeric_id(self) -> str:
        # Graph ids are 15-16 digit strings; the serial keeps them unique.
        return str(
            10**15 + secrets.randbelow(9 * 10**13) * 100 + next(self._serial) % 100
        )

    def _new_wamid(self, recipient: str) -> str:
        # Real wamids are base64 of a small binary record holding the
        # recipient and a random hex id; mimic that so parsers see the shape.
        recipient_bytes = recipient.encode()[:200]
        raw = (
            b"\x1c\x18"
            + bytes([len(recipient_bytes)])
            + recipient_bytes
            + b"\x15\x02\x00\x11\x18\x12"
            + secrets.token_hex(9).upper().encode()
            + f"{next(self._serial):04d}".encode()[-4:]
            + b"\x00"
        )
        return "wamid." + base64.b64encode(raw).decode()

    def add_media(self, content: bytes, mime_type: str) -> str:
        """Store media as if a user had sent it; return its new numeric id."""
        with self._lock:
            media_id = self._new_numeric_id()
            while media_id in self.media:
                media_id = self._new_numeric_id()
            self.media[media_id] = (bytes(content), mime_type)
            self._media_hashes[media_id] = secrets.token_urlsafe(16)
            return media_id

    def add_phone_number(
        self,
        phone_number_id: str,
        *,
        display_phone_number: str = "+1 555-010-0000",
        verified_name: str = "Sandbox Business",
        quality_rating: str = "GREEN",
    ) -> dict:
        """Register a business phone number answered by ``GET /{phone_number_id}``."""
        info = {
            "display_phone_number": display_phone_number,
            "verified_name": verified_name,
            "quality_rating": quality_rating,
            "code_verification_status": "VERIFIED",
            "name_status": "APPROVED",
            "id": str(phone_number_id),
        }
        with self._lock:
            self.phone_numbers[str(phone_number_id)] = info
        return info

    def add_template(
        self,
        name: str,
        *,
        language: str = "en_US",
        category: str = "UTILITY",
        status: str = "APPROVED",
        components: list | None = None,
    ) -> dict:
        """Add a template as if it had been created and reviewed in WhatsApp Manager."""
        with self._lock:
            template = {
                "name": name,
                "language": language,
                "status": status,
                "category": category,
                "components": components
                if components is not None
                else [{"type": "BODY", "text": f"{name} body"}],
                "id": self._new_numeric_id(),
            }
            self.templates.append(template)
            return template

    # -- failure injection --------------------------------------------------

    def fail_next(
        self,
        code: int,
        *,
        times: int = 1,
        http_status: int | None = None,
        path_contains: str = "",
        message: str = "",
        details: str = "",
        subcode: int | None = None,
        retry_after: int | None = None,
    ):
        """Answer the next ``times`` matching requests with Meta's error for ``code``.

        ``http_status`` defaults to the status Meta uses for that code (400 for
        most, 401 for token errors, 5xx for server-side ones). ``retry_after``
        (seconds) adds a ``Retry-After`` header to the answer.
        """
        if http_status is None:
            http_status = ERROR_TABLE.get(code, ("", 400))[1]
        with self._lock:
            self._rules.append(
                _Rule(
                    "error",
                    times,
                    path_contains,
                    code=code,
                    http_status=http_status,
                    message=message,
                    details=details,
                    subcode=subcode,
                    retry_after=retry_after,
                )
            )

    def clear_failures(self):
        """Forget the failures and delays not used yet; keep everything else."""
        with self._lock:
            self._rules.clear()

    def fail_http(self, http_status: int, *, times: int = 1, path_contains: str = ""):
        """Answer the next matching requests with a bare HTTP error and an HTML body,
        like a load balancer in front of Graph does."""
        with self._lock:
            self._rules.append(
                _Rule("http", times, path_contains, http_status=http_status)
            )

    def delay_next(self, seconds: float, *, times: int = 1, path_contains: str = ""):
        """Delay the next matching requests: the HTTP server sleeps ``seconds``;
        :class:`FakeTransport` raises ``TransientError`` (a timeout) at once."""
        with self._lock:
            self._rules.append(_Rule("delay", times, path_contains, seconds=seconds))

    def answer_late_next(
        self, seconds: float, *, times: int = 1, path_contains: str = ""
    ):
        """Act on the next matching requests at once (a message is recorded as
        accepted) but answer only ``seconds`` later: a client whose read timeout
        is shorter never learns the outcome. :class:`FakeTransport` raises
        ``NoAnswerError`` after acting, without waiting."""
        with self._lock:
            self._rules.append(_Rule("late", times, path_contains, seconds=seconds))

    def drop_answer_next(self, *, times: int = 1, path_contains: str = ""):
        """Act on the next matching requests (a message is recorded as
        accepted), then close the connection without answering, like a network
        cut while the answer is on its way."""
        with self._lock:
            self._rules.append(_Rule("drop", times, path_contains))

    def _take_rule(self, kinds, path: str) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.kind in kinds and rule.path_contains in path:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                    return rule
        return None

    def take_delay(self, method: str, path: str) -> float:
        """Consume a matching :meth:`delay_next` rule; return its seconds (or 0)."""
        rule = self._take_rule(("delay",), path)
        return float(rule.values["seconds"]) if rule else 0.0

    def take_interruption(self, method: str, path: str) -> _Rule | None:
        """Consume a matching :meth:`answer_late_next` or :meth:`drop_answer_next`
        rule; its ``kind`` is ``"late"`` (``values["seconds"]``) or ``"drop"``."""
        return self._take_rule(("late", "drop"), path)

    # -- dispatcher ---------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict, headers: dict, body: bytes
    ) -> tuple[int, dict, bytes]:
        """Answer one request; return ``(http_status, headers, body)``.

        ``path`` is like ``/v26.0/123/messages`` (any ``vNN.N`` prefix, or none).
        """
        method = method.upper()
        query = {
            key: (value[0] if isinstance(value, list | tuple) else value)
            for key, value in (query or {}).items()
        }
        headers = {key.lower(): value for key, value in (headers or {}).items()}
        body = body or b""
        content_type = headers.get("content-type", "")
        payload = None
        if "json" in content_type and body:
            try:
                payload = json.loads(body.decode("utf-8"))
            except ValueError:
                payload = None
        form, files = {}, {}
        if content_type.startswith(("multipart/form-data", "application/x-www-form")):
            form, files = _parse_form(content_type, body)
        with self._lock:
            self.calls.append(
                {
                    "method": method,
                    "path": path,
                    "query": dict(query),
                    "json": payload,
                    "headers": dict(headers),
                    "form": dict(form),
                }
            )

        denied = self._check_token(headers)
        if denied:
            return denied

        rule = self._take_rule(("http", "error"), path)
        if rule and rule.kind == "http":
            status = rule.values["http_status"]
            page = f"<html><body><h1>{status} Bad Gateway</h1></body></html>"
            return status, {"Content-Type": "text/html"}, page.encode()
        if rule:
            values = rule.values
            status, out, content = self._error(
                values["http_status"],
                values["code"],
                message=values["message"],
                details=values["details"],
                subcode=values["subcode"],
            )
            if values["retry_after"] is not None:
                out["Retry-After"] = str(values["retry_after"])
            return status, out, content

        if path.startswith("/download/"):
            return self._download(method, path, query)
        version = _VERSION_PREFIX.match(path)
        version = version.group(0).lstrip("/") if version else ""
        parts = [unquote(p) for p in _VERSION_PREFIX.sub("", path).split("/") if p]
        if len(parts) == 2 and method == "POST" and parts[1] in _NUMBER_EDGES:
            return self._post_to_number(parts, payload, form, files)
        if method == "POST" and _is_upload(parts):
            return self._resumable_upload(parts, query, headers, body)
        if len(parts) == 2 and parts[1] == "message_templates":
            if method == "GET":
                return self._list_templates(version, parts[0], query)
            if method == "POST":
                return self._create_template(payload)
        if len(parts) == 1 and method == "GET":
            return self._get_node(parts[0], query)
        if len(parts) == 1 and method == "DELETE" and parts[0] in self.media:
            with self._lock:
                self.media.pop(parts[0], None)
            return self._json(200, {"success": True})
        return self._unsupported(method, parts[0] if parts else "")

    # -- answers ------------------------------------------------------------

    @staticmethod
    def _json(status: int, data: dict) -> tuple[int, dict, bytes]:
        return status, dict(_JSON_HEADERS), json.dumps(data).encode()

    def _error(self, status, code, **kwargs):
        return self._json(status, error_body(code, **kwargs))

    def _invalid(self, details: str, **kwargs):
        return self._error(400, 100, details=details, **kwargs)

    def _unsupported(self, method: str, node: str):
        message = (
            f"Unsupported {method.lower()} request. Object with ID '{node}' does not "
            "exist, cannot be loaded due to missing permissions, or does not "
            "support this operation."
        )
        return self._error(
            400, 100, message=message, subcode=33, error_type="GraphMethodException"
        )

    def _check_token(self, headers: dict):
        if self.access_token is None:
            # Sandbox numbers may have no token at all: accept anything.
            return None
        authorization = headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        # the Resumable Upload API takes "OAuth <token>", the rest "Bearer"
        if scheme.lower() not in ("bearer", "oauth") or not token.strip():
            return self._error(
                400,
                104,
                message="An access token is required to request this resource.",
            )
        if token.strip() != self.access_token:
            status, out, content = self._error(
                401,
                190,
                message="Error validating access token: the access token is invalid "
                "or has expired.",
                subcode=463,
            )
            out["WWW-Authenticate"] = 'OAuth "Facebook Platform" "invalid_token"'
            return status, out, content
        return None

    def _post_message(self, payload):
        if not isinstance(payload, dict):
            return self._invalid("The request body must be a JSON object.")
        if payload.get("messaging_product") != "whatsapp":
            return self._invalid("The parameter messaging_product must be 'whatsapp'.")
        if "status" in payload:
            return self._read_receipt(payload)
        to = str(payload.get("to") or "")
        recipient = str(payload.get("recipient") or "")
        if not to and not recipient:
            return self._invalid("The parameter to is required.")
        message_type = payload.get("type") or "text"
        if message_type not in MESSAGE_TYPES:
            return self._invalid(
                f"Param type must be one of {sorted(MESSAGE_TYPES)}, "
                f"got '{message_type}'."
            )
        content = payload.get(message_type)
        if not isinstance(content, dict):
            return self._invalid(f"The parameter {message_type} is required.")
        if message_type == "text" and not content.get("body"):
            return self._invalid("The parameter text['body'] is required.")
        if message_type == "template":
            refused = self._check_template_message(content)
            if refused:
                return refused
        if message_type == "interactive":
            problem = _interactive_problem(content)
            if problem:
                code, details = problem
                return self._error(400, code, details=details)
        # Meta gives "to" precedence when both identifiers are sent.
        if to:
            contact = {"input": to, "wa_id": re.sub(r"\D", "", to)}
        else:
            contact = {"input": recipient, "user_id": recipient}
        with self._lock:
            wamid = self._new_wamid(to or recipient)
            self.messages.append(dict(payload, id=wamid))
        message = {"id": wamid}
        if message_type == "template":
            message["message_status"] = "accepted"
        return self._json(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [contact],
                "messages": [message],
            },
        )

    def _check_template_message(self, sent):
        """Meta's checks of a template message against the approved template.

        A template name the fake was never told about is let through, so
        tests that do not care about templates need not declare them.
        """
        name = sent.get("name")
        language = (sent.get("language") or {}).get("code")
        with self._lock:
            same_name = [dict(t) for t in self.templates if t.get("name") == name]
        if not same_name:
            return None
        template = next((t for t in same_name if t.get("language") == language), None)
        if template is None or template.get("status") != "APPROVED":
            return self._error(
                400,
                132001,
                details=f"template name ({name}) does not exist in {language}",
            )
        parameters = {
            str(c.get("type") or "").lower(): c.get("parameters") or []
            for c in sent.get("components") or []
            if isinstance(c, dict)
        }
        definition = {
            str(c.get("type") or "").upper(): c
            for c in template.get("components") or []
            if isinstance(c, dict)
        }
        body = _positions((definition.get("BODY") or {}).get("text"))
        if len(parameters.get("body", [])) != len(body):
            return self._error(
                400,
                132000,
                details=f"body: number of localizable_params ({len(body)}) does "
                f"not match the expected number of params "
                f"({len(parameters.get('body', []))})",
            )
        return self._check_template_header(definition.get("HEADER"), parameters)

    def _check_template_header(self, header, parameters):
        header = header or {}
        header_format = str(header.get("format") or "").lower()
        sent = parameters.get("header", [])
        expected = 0
        if header_format == "text":
            expected = len(_positions(header.get("text")))
        elif header_format in ("image", "video", "document"):
            expected = 1
        if len(sent) != expected:
            return self._error(
                400,
                132000,
                details=f"header: number of parameters ({len(sent)}) does not "
                f"match the expected number of params ({expected})",
            )
        if not sent:
            return None
        parameter = sent[0] if isinstance(sent[0], dict) else {}
        if parameter.get("type") != header_format:
            return self._error(
                400,
                132012,
                details=f"header: expected a parameter of type {header_format}",
            )
        if header_format != "text":
            media = parameter.get(header_format) or {}
            with self._lock:
                known = media.get("id") in self.media
            if not (known or media.get("link")):
                return self._error(
                    400, 131053, details="header media id or link is not valid"
                )
        return None

    def _read_receipt(self, payload):
        if payload.get("status") != "read":
            return self._invalid("The parameter status must be 'read'.")
        if not payload.get("message_id"):
            return self._invalid("The parameter message_id is required.")
        typing = payload.get("typing_indicator")
        if typing is not None and typing != {"type": "text"}:
            return self._invalid("typing_indicator.type must be 'text'.")
        with self._lock:
            self.read_receipts.append(dict(payload))
        return self._json(200, {"success": True})

    def _post_to_number(self, parts, payload, form, files):
        edge = parts[1]
        if edge == "messages":
            return self._post_message(payload)
        if edge == "media":
            return self._post_media(form, files)
        return self._request_app_sync(parts[0], payload)

    def _request_app_sync(self, phone_number_id, payload):
        """``POST /{phone_number_id}/smb_app_data``: a coexistence number's
        contacts or history sync, recorded in :attr:`app_syncs`."""
        if not isinstance(payload, dict):
            return self._invalid("The request body must be a JSON object.")
        if payload.get("messaging_product") != "whatsapp":
            return self._invalid("The parameter messaging_product must be 'whatsapp'.")
        sync_type = payload.get("sync_type")
        if sync_type not in APP_SYNC_TYPES:
            return self._invalid(
                f"Param sync_type must be one of {sorted(APP_SYNC_TYPES)}, "
                f"got '{sync_type}'."
            )
        request_id = secrets.token_hex(16)
        with self._lock:
            self.app_syncs.append(
                {
                    "phone_number_id": phone_number_id,
                    "sync_type": sync_type,
                    "request_id": request_id,
                }
            )
        return self._json(
            200, {"messaging_product": "whatsapp", "request_id": request_id}
        )

    def _post_media(self, form, files):
        if form.get("messaging_product") != "whatsapp":
            return self._invalid("The parameter messaging_product must be 'whatsapp'.")
        if "file" not in files:
            return self._invalid("The parameter file is required.")
        _filename, content, part_type = files["file"]
        mime_type = form.get("type") or part_type
        base_type = mime_type.split(";", 1)[0].strip().lower()
        if base_type not in UPLOAD_MIME_TYPES:
            return self._invalid(
                "Param file must be a file with one of the following types: "
                f"{', '.join(UPLOAD_MIME_TYPES)}. "
                f"Received file of type '{base_type}'."
            )
        return self._json(200, {"id": self.add_media(content, mime_type)})

    def _get_node(self, node_id: str, query: dict):
        with self._lock:
            media = self.media.get(node_id)
            media_hash = self._media_hashes.get(node_id, "")
            phone = self.phone_numbers.get(node_id)
        if media is not None:
            content, mime_type = media
            url = f"{self.base_url.rstrip('/')}/download/{quote(node_id)}?" + urlencode(
                {"mid": node_id, "hash": media_hash}
            )
            return self._json(
                200,
                {
                    "messaging_product": "whatsapp",
                    "url": url,
                    "mime_type": mime_type,
                    "sha256": hashlib.sha256(content).hexdigest(),
                    "file_size": len(content),
                    "id": node_id,
                },
            )
        fields = {f.strip() for f in query.get("fields", "").split(",") if f.strip()}
        # Graph knows each node's type; the fake guesses a phone number from
        # the fields asked so sandbox numbers work without registration.
        if phone is None and fields and fields <= PHONE_NUMBER_FIELDS:
            phone = self.add_phone_number(node_id)
        if phone is None:
            return self._unsupported("GET", node_id)
        wanted = fields or {"display_phone_number", "verified_name", "quality_rating"}
        answer = {key: value for key, value in phone.items() if key in wanted}
        answer["id"] = node_id
        return self._json(200, answer)

    def _download(self, method: str, path: str, query: dict):
        media_id = unquote(path[len("/download/") :].strip("/"))
        with self._lock:
            media = self.media.get(media_id)
            media_hash = self._media_hashes.get(media_id)
        if method != "GET" or media is None or query.get("hash") != media_hash:
            return 404, {"Content-Type": "text/html"}, b"<html>Not Found</html>"
        content, mime_type = media
        return 200, {"Content-Type": mime_type}, content

    def _list_templates(self, version: str, waba_id: str, query: dict):
        try:
            limit = max(1, min(int(query.get("limit") or 25), 1000))
        except ValueError:
            return self._invalid("The parameter limit must be an integer.")
        start = 0
        if query.get("after"):
            position = _decode_cursor(query["after"])
            if position is None:
                return self._invalid("The parameter after is not a valid cursor.")
            start = position + 1
        fields = {f.strip() for f in query.get("fields", "").split(",") if f.strip()}
        with self._lock:
            page = [dict(t) for t in self.templates[start : start + limit]]
            has_more = start + limit < len(self.templates)
        if fields:
            page = [
                {k: v for k, v in t.items() if k in fields or k == "id"} for t in page
            ]
        answer = {"data": page}
        if page:
            after = _encode_cursor(start + len(page) - 1)
            answer["paging"] = {
                "cursors": {"before": _encode_cursor(start), "after": after}
            }
            if has_more:
                next_query = {"limit": limit, "after": after}
                if fields:
                    next_query["fields"] = query["fields"]
                prefix = f"/{version}" if version else ""
                answer["paging"]["next"] = (
                    f"{self.base_url.rstrip('/')}{prefix}/{waba_id}/message_templates?"
                    + urlencode(next_query)
                )
        return self._json(200, answer)

    def _template_error(self, title, message, subcode=None):
        # template management errors: code 100 with a title and a user message
        return self._error(
            400,
            100,
            message="Invalid parameter",
            subcode=subcode,
            title=title,
            user_msg=message,
        )

    def _create_template(self, payload):
        if not isinstance(payload, dict):
            return self._invalid("The request body must be a JSON object.")
        for field in ("name", "language", "category"):
            if not payload.get(field):
                return self._invalid(f"The parameter {field} is required.")
        category = str(payload["category"]).upper()
        if category not in TEMPLATE_CATEGORIES:
            return self._invalid(
                f"Param category must be one of {sorted(TEMPLATE_CATEGORIES)}."
            )
        if not re.fullmatch(r"[a-z0-9_]{1,512}", str(payload["name"])):
            return self._invalid(
                "Template name may only contain lowercase letters, digits and "
                "underscores."
            )
        with self._lock:
            for existing in self.templates:
                if (existing.get("name"), existing.get("language")) == (
                    payload["name"],
                    payload["language"],
                ):
                    return self._invalid(
                        f"Content in {payload['language']} already exists for "
                        f"template {payload['name']}.",
                        subcode=2388024,
                        title="Content in this language already exists",
                    )
        problem = self._template_problem(payload.get("components"))
        if problem:
            return self._template_error(*problem)
        with self._lock:
            status = "APPROVED" if self.approve_templates else "PENDING"
            template = dict(payload, category=category, status=status)
            template["id"] = self._new_numeric_id()
            self.templates.append(template)
        return self._json(
            200, {"id": template["id"], "status": status, "category": category}
        )

    def _template_problem(self, components):
        """Meta's review of a new template's components: ``(title, message,
        subcode)`` of the first problem, or None."""
        if not isinstance(components, list) or not all(
            isinstance(c, dict) for c in components
        ):
            return "Invalid components", "components must be a list of objects."
        by_type = {}
        for component in components:
            kind = str(component.get("type") or "").upper()
            if kind in by_type:
                return "Duplicate component", f"There can be only one {kind}."
            by_type[kind] = component
        body = by_type.get("BODY")
        if not body or not str(body.get("text") or "").strip():
            return "Body is required", "A template needs a BODY component with text."
        body_text = str(body["text"])
        if len(body_text) > 1024:
            return "Body too long", "The body may have at most 1024 characters."
        positions = _positions(body_text)
        if positions != list(range(1, len(positions) + 1)):
            return (
                "Invalid variable parameter",
                "Variables must be numbered in sequence from {{1}}.",
            )
        stripped = body_text.strip()
        if positions and (
            re.match(r"^\{\{\d+\}\}", stripped) or re.search(r"\{\{\d+\}\}$", stripped)
        ):
            return (
                "Variables can't be at the start or end of the template",
                "Move the variable inside the text.",
                2388299,
            )
        if positions:
            examples = (body.get("example") or {}).get("body_text")
            if (
                not isinstance(examples, list)
                or not examples
                or not isinstance(examples[0], list)
                or len(examples[0]) != len(positions)
                or not all(str(value).strip() for value in examples[0])
            ):
                return (
                    "Missing sample values",
                    "Add a sample value for every variable of the body.",
                )
        header = by_type.get("HEADER")
        if header:
            problem = self._header_problem(header)
            if problem:
                return problem
        footer = by_type.get("FOOTER")
        if footer:
            text = str(footer.get("text") or "")
            if not text or len(text) > 60 or "{{" in text:
                return (
                    "Invalid footer",
                    "A footer has 1 to 60 characters and no variables.",
                )
        buttons = by_type.get("BUTTONS")
        if buttons:
            return _buttons_problem(buttons.get("buttons"))
        return None

    def _header_problem(self, header):
        header_format = str(header.get("format") or "").upper()
        example = header.get("example") or {}
        if header_format == "TEXT":
            text = str(header.get("text") or "")
            positions = _positions(text)
            if not text or len(text) > 60:
                return "Invalid header", "A text header has 1 to 60 characters."
            if positions and positions != [1]:
                return "Invalid header", "A text header has at most one variable."
            samples = example.get("header_text")
            if positions and (
                not isinstance(samples, list) or not str(samples[0]).strip()
            ):
                return (
                    "Missing sample values",
                    "Add a sample value for the header's variable.",
                )
            return None
        if header_format in ("IMAGE", "VIDEO", "DOCUMENT"):
            handles = example.get("header_handle")
            with self._lock:
                known = (
                    isinstance(handles, list)
                    and bool(handles)
                    and handles[0] in self.upload_handles
                )
            if not known:
                return (
                    "Missing sample media",
                    "A media header needs a sample uploaded with the Resumable "
                    "Upload API (example.header_handle).",
                )
            return None
        return "Invalid header", f"Unknown header format {header_format!r}."

    def _resumable_upload(self, parts, query, headers, body):
        if len(parts) == 2 and parts[1] == "uploads":
            return self._open_upload(query)
        if len(parts) == 1:
            return self._upload_bytes(parts[0], query, headers, body)
        return self._unsupported("POST", parts[0])

    def _open_upload(self, query):
        file_type = query.get("file_type") or ""
        try:
            length = int(query.get("file_length") or 0)
        except ValueError:
            length = 0
        if file_type not in {"image/jpeg", "image/png", "video/mp4", "application/pdf"}:
            return self._invalid(
                "Param file_type must be one of application/pdf, image/jpeg, "
                "image/jpg, image/png, video/mp4."
            )
        if length <= 0:
            return self._invalid("Param file_length must be a positive integer.")
        with self._lock:
            session = "upload:" + base64.urlsafe_b64encode(
                f"session:{self._new_numeric_id()}".encode()
            ).decode().rstrip("=")
            signature = secrets.token_urlsafe(24)
            self.upload_sessions[session] = {
                "sig": signature,
                "length": length,
                "file_type": file_type,
            }
        return self._json(200, {"id": f"{session}?sig={signature}"})

    def _upload_bytes(self, session, query, headers, body):
        with self._lock:
            info = self.upload_sessions.get(session)
        if not info or query.get("sig") != info["sig"]:
            return self._invalid("The upload session does not exist or expired.")
        if str(headers.get("file_offset", "")) != "0":
            return self._invalid("The header file_offset is required.")
        if len(body) != info["length"]:
            return self._invalid("The file does not have the announced file_length.")
        handle = (
            "4::"
            + base64.b64encode(
                f"{info['file_type']}:{secrets.token_hex(12)}".encode()
            ).decode()
        )
        with self._lock:
            self.upload_handles[handle] = (bytes(body), info["file_type"])
            self.upload_sessions.pop(session, None)
        return self._json(200, {"h": handle})


def _is_upload(parts):
    # POST /{app_id}/uploads opens a session, POST /upload:{session} fills it
    return parts[-1:] == ["uploads"] or (bool(parts) and parts[0].startswith("upload:"))


def _positions(text):
    return sorted({int(n) for n in re.findall(r"\{\{\s*(\d+)\s*\}\}", text or "")})


# Interactive messages Meta takes in a 24-hour window; only reply buttons and
# lists are checked in depth, the others are let through.
INTERACTIVE_TYPES = frozenset(
    {
        "address_message",
        "button",
        "call_permission_request",
        "cta_url",
        "flow",
        "list",
        "location_request_message",
        "product",
        "product_list",
        "voice_call",
    }
)
# Meta's limits (reply buttons and list messages pages of the Cloud API):
# a text field's (min, max) characters
_INTERACTIVE_LENGTHS = {
    "button_body": (1, 1024),
    "list_body": (1, 4096),
    "header": (1, 60),
    "footer": (1, 60),
    "button_title": (1, 20),
    "button_id": (1, 256),
    "list_button": (1, 20),
    "section_title": (1, 24),
    "row_title": (1, 24),
    "row_id": (1, 200),
    "row_description": (0, 72),
}


def _missing(name):
    return 131008, f"The parameter {name} is required."


def _length_problem(kind, label, value):
    low, high = _INTERACTIVE_LENGTHS[kind]
    if not isinstance(value, str) or not low <= len(value) <= high:
        return 131009, f"{label} length invalid. Min length: {low}, Max length: {high}"
    return None


def _interactive_problem(content):
    """Meta's refusal of an ``interactive`` object, ``(code, details)``, or
    None: 131008 for a missing parameter, 131009 for a value out of its
    limits (with Meta's wording), 100 for an unknown type."""
    kind = content.get("type")
    if not kind:
        return _missing("interactive['type']")
    if kind not in INTERACTIVE_TYPES:
        return 100, (
            f"Param interactive['type'] must be one of {sorted(INTERACTIVE_TYPES)}, "
            f"got '{kind}'."
        )
    if kind not in ("button", "list"):
        return None
    body = content.get("body")
    if not isinstance(body, dict) or "text" not in body:
        return _missing("interactive['body']['text']")
    problem = _length_problem(f"{kind}_body", "Body text", body["text"])
    if problem:
        return problem
    footer = content.get("footer")
    if footer is not None:
        if not isinstance(footer, dict):
            return _missing("interactive['footer']['text']")
        problem = _length_problem("footer", "Footer text", footer.get("text"))
        if problem:
            return problem
    header = content.get("header")
    if header is not None:
        problem = _interactive_header_problem(kind, header)
        if problem:
            return problem
    action = content.get("action")
    if not isinstance(action, dict):
        return _missing("interactive['action']")
    if kind == "button":
        return _reply_buttons_problem(action.get("buttons"))
    return _list_problem(action)


def _interactive_header_problem(kind, header):
    header_type = header.get("type") if isinstance(header, dict) else None
    allowed = ("text",) if kind == "list" else ("text", "image", "video", "document")
    if header_type not in allowed:
        return 131009, f"Header type must be one of {list(allowed)}."
    if header_type == "text":
        return _length_problem("header", "Header text", header.get("text"))
    media = header.get(header_type)
    if not isinstance(media, dict) or not (media.get("id") or media.get("link")):
        return _missing(f"interactive['header']['{header_type}']")
    return None


def _reply_buttons_problem(buttons):
    if not isinstance(buttons, list):
        return _missing("interactive['action']['buttons']")
    if not 1 <= len(buttons) <= 3:
        return (
            131009,
            "Invalid buttons count. Min allowed buttons: 1, Max allowed buttons: 3",
        )
    titles, ids = set(), set()
    for button in buttons:
        if not isinstance(button, dict) or button.get("type") != "reply":
            return 131009, "Button type must be 'reply'."
        reply = button.get("reply")
        if not isinstance(reply, dict):
            return _missing("interactive['action']['buttons'][]['reply']")
        problem = _length_problem(
            "button_title", "Button title", reply.get("title")
        ) or _length_problem("button_id", "Button id", reply.get("id"))
        if problem:
            return problem
        if reply["title"] in titles:
            return 131009, "Button title must be unique within the message."
        if reply["id"] in ids:
            return 131009, "Button id must be unique within the message."
        titles.add(reply["title"])
        ids.add(reply["id"])
    return None


def _list_problem(action):
    problem = _length_problem("list_button", "Button text", action.get("button"))
    if problem:
        return problem
    sections = action.get("sections")
    if not isinstance(sections, list):
        return _missing("interactive['action']['sections']")
    if not 1 <= len(sections) <= 10:
        return (
            131009,
            "Invalid sections count. Min allowed sections: 1, Max allowed sections: 10",
        )
    ids, count = set(), 0
    for section in sections:
        if not isinstance(section, dict):
            return _missing("interactive['action']['sections'][]")
        if "title" in section or len(sections) > 1:
            problem = _length_problem(
                "section_title", "Section title", section.get("title")
            )
            if problem:
                return problem
        rows = section.get("rows")
        if not isinstance(rows, list) or not rows:
            return _missing("interactive['action']['sections'][]['rows']")
        count += len(rows)
        for row in rows:
            if not isinstance(row, dict):
                return _missing("interactive['action']['sections'][]['rows'][]")
            problem = (
                _length_problem("row_title", "Row title", row.get("title"))
                or _length_problem("row_id", "Row id", row.get("id"))
                or _length_problem(
                    "row_description", "Row description", row.get("description", "")
                )
            )
            if problem:
                return problem
            if row["id"] in ids:
                return 131009, "Row id must be unique within the message."
            ids.add(row["id"])
    if count > 10:
        return 131009, "Total row count exceed max allowed count: 10"
    return None


def _buttons_problem(buttons):
    if not isinstance(buttons, list) or not buttons:
        return "Invalid buttons", "BUTTONS needs at least one button."
    if len(buttons) > 10:
        return "Too many buttons", "A template has at most 10 buttons."
    kinds = [str(b.get("type") or "").upper() for b in buttons]
    if kinds.count("URL") > 2:
        return "Too many buttons", "A template has at most 2 URL buttons."
    if kinds.count("PHONE_NUMBER") > 1:
        return "Too many buttons", "A template has at most 1 phone number button."
    quick = [index for index, kind in enumerate(kinds) if kind == "QUICK_REPLY"]
    if quick and quick[-1] - quick[0] + 1 != len(quick):
        return (
            "Invalid button order",
            "Quick reply buttons must be grouped together.",
        )
    for button, kind in zip(buttons, kinds, strict=True):
        text = str(button.get("text") or "")
        if kind not in ("QUICK_REPLY", "URL", "PHONE_NUMBER"):
            return "Invalid button", f"Unsupported button type {kind!r}."
        if not text or len(text) > 25:
            return "Invalid button", "Button text has 1 to 25 characters."
        if kind == "URL" and not 0 < len(str(button.get("url") or "")) <= 2000:
            return (
                "Invalid button",
                "A URL button needs a URL of up to 2000 characters.",
            )
        if kind == "PHONE_NUMBER" and not button.get("phone_number"):
            return "Invalid button", "A phone number button needs a phone number."
    return None


def _encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"pos:{position}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int | None:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not text.startswith("pos:") or not text[4:].isdigit():
        return None
    return int(text[4:])


def _parse_form(content_type: str, body: bytes) -> tuple[dict, dict]:
    """Split a form body into ``(fields, files)``; files are ``name -> (filename,
    content, content_type)``."""
    if content_type.startswith("application/x-www-form"):
        return dict(parse_qsl(body.decode("utf-8", "replace"))), {}
    message = BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    fields, files = {}, {}
    if not message.is_multipart():
        return fields, files
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        content = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, content, part.get_content_type())
        else:
            fields[name] = content.decode("utf-8", "replace")
    return fields, files


class FakeTransport:
    """In-process transport for GraphClient over a FakeGraph (no sockets).

    Used by sandbox numbers.
    """

    def __init__(self, graph: FakeGraph):
        self.graph = graph

    def request(
        self,
        method,
        url,
        *,
        headers=None,
        params=None,
        json=None,
        data=None,
        files=None,
        timeout=None,
    ) -> Response:
        """Route by path and query, ignoring the URL's host; same contract as
        :meth:`~.graph_api.RequestsTransport.request`."""
        # requests builds the exact body (JSON or multipart) without any I/O,
        # so the fake parses the same bytes it would get over HTTP.
        prepared = requests.Request(
            method.upper(),
            url,
            headers=headers,
            params=params,
            json=json,
            data=data,
            files=files,
        ).prepare()
        split = urlsplit(prepared.url)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        body = prepared.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        if self.graph.take_delay(method, split.path):
            raise NoAnswerError(f"Graph API request timed out ({method.upper()})")
        interruption = self.graph.take_interruption(method, split.path)
        status, out_headers, content = self.graph.handle(
            method, split.path, query, dict(prepared.headers), body
        )
        if interruption:
            # acted on, but the answer never arrives
            raise NoAnswerError(
                f"Graph API connection dropped before the answer ({method.upper()})"
            )
        return Response(status, out_headers, content)


class _Handler(BaseHTTPRequestHandler):
    graph: FakeGraph  # set on the per-server subclass
    protocol_version = "HTTP/1.1"
    server_version = "FakeGraph/1.0"
    # Headers and body leave in one segment: separate small writes meet the
    # client's delayed ACK and cost ~40 ms per request.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True

    def log_message(self, format, *args):
        # Tests run many requests; the default access log is noise on stderr.
        pass

    def _dispatch(self):
        split = urlsplit(self.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        delay = self.graph.take_delay(self.command, split.path)
        if delay:
            time.sleep(delay)
        interruption = self.graph.take_interruption(self.command, split.path)
        status, headers, content = self.graph.handle(
            self.command, split.path, query, dict(self.headers.items()), body
        )
        if interruption:
            self.close_connection = True
            if interruption.kind == "drop":
                return  # closed without a single byte of answer
            time.sleep(float(interruption.values["seconds"]))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_DELETE = do_PUT = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients that gave up (timeout tests) leave broken pipes behind:
        # expected, not worth a traceback on stderr.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeGraphServer:
    """FakeGraph served over real HTTP on 127.0.0.1. Context manager.

    A ThreadingHTTPServer runs in a daemon thread.
    """

    def __init__(self, graph: FakeGraph | None = None, host="127.0.0.1", port=0):
        self.graph = graph if graph is not None else FakeGraph()
        self.host = host
        self.port = port
        self.url = ""
        self._server = None
        self._thread = None

    def start(self) -> "FakeGraphServer":
        """Bind, point ``graph.base_url`` here and serve in a daemon thread."""
        if self._server is not None:
            return self
        handler = type("FakeGraphHandler", (_Handler,), {"graph": self.graph})
        self._server = _Server((self.host, self.port), handler)
        host, port = self._server.server_address[:2]
        self.port = port
        self.url = f"http://{host}:{port}"
        self.graph.base_url = self.url
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-graph-{port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = self._thread = None

    @contextlib.contextmanager
    def refusing(self):
        """Refuse connections inside the block, as a host that is down does:
        nothing listens on the port, so requests never reach the fake (nor
        appear in ``graph.calls``). Serving resumes on the same port after."""
        if self._server is None:
            raise RuntimeError("the fake Graph server is not started")
        self.stop()
        try:
            yield self
        finally:
            self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
