"""Client for Meta's WhatsApp Cloud API (the Graph API endpoints used by the addon).

Shaped like Odoo's ``sms_api.SmsApi`` over ``iap_tools``: a plain class with one
method per endpoint and a single transport that owns the timeout and turns every
failure into one exception family. Nothing here imports Odoo, so it is tested on
its own against :mod:`.fake_graph`.

Errors are classified by Meta's ``error.code`` rather than the HTTP status, as
Meta recommends: the same HTTP 400 covers both "retry in a second" (130429) and
"never retry" (131026). Callers only need ``GraphError.retryable`` and the
subclass to decide what to do.
"""

import hashlib
import json as jsonlib
import logging
import ssl
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import requests
from urllib3.exceptions import NewConnectionError

_logger = logging.getLogger(__name__)

DEFAULT_VERSION = "v26.0"
DEFAULT_BASE_URL = "https://graph.facebook.com"
# One number, as Odoo and most proxies expect; Meta answers well within it.
DEFAULT_TIMEOUT = 20
USER_AGENT = "odoo-whatsapp-team/1.0"

PHONE_NUMBER_FIELDS = "display_phone_number,verified_name,quality_rating"


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


class GraphError(Exception):
    """Meta answered with an error (or no answer came).

    Attributes mirror Meta's error object: ``code`` and ``subcode`` (``None``
    when the failure happened before Meta could answer), ``http_status``,
    ``message`` (Meta's message, usually "(#code) Title"), ``title``
    (``error_user_title``), ``details`` (``error_data.details``),
    ``fbtrace_id`` and ``error_type`` (e.g. ``OAuthException``).
    ``retryable`` tells whether sending the same request later may succeed;
    ``retry_after`` is how many seconds Meta asked to wait before trying
    again (its ``Retry-After`` or usage headers), ``None`` when it said
    nothing.
    """

    retryable = False

    def __init__(
        self,
        message="",
        *,
        code=None,
        subcode=None,
        http_status=None,
        title="",
        details="",
        fbtrace_id="",
        error_type="",
        retry_after=None,
    ):
        super().__init__(message)
        self.message = message or ""
        self.code = code
        self.subcode = subcode
        self.http_status = http_status
        self.title = title or ""
        self.details = details or ""
        self.fbtrace_id = fbtrace_id or ""
        self.error_type = error_type or ""
        self.retry_after = retry_after

    def __str__(self):
        text = self.message or self.__class__.__name__
        if self.code is not None and f"(#{self.code})" not in text:
            text = f"(#{self.code}) {text}"
        if self.details and self.details not in text:
            text = f"{text}: {self.details}"
        if self.http_status:
            text = f"{text} [HTTP {self.http_status}]"
        return text

    def __reduce__(self):
        # Keyword-only arguments are lost by the default Exception pickling,
        # which would break passing errors between processes (queue jobs).
        return (_rebuild_error, (self.__class__, self.as_dict()))

    def as_dict(self):
        """Plain-data view of the error, suitable for storing on a record."""
        return {
            "message": self.message,
            "code": self.code,
            "subcode": self.subcode,
            "http_status": self.http_status,
            "title": self.title,
            "details": self.details,
            "fbtrace_id": self.fbtrace_id,
            "error_type": self.error_type,
            "retry_after": self.retry_after,
        }


def _rebuild_error(cls, values):
    values = dict(values)
    message = values.pop("message", "")
    return cls(message, **values)


class TransientError(GraphError):
    """Meta or the network failed temporarily (5xx, codes 1, 2, 131000, or a
    connection that could not be opened)."""

    retryable = True


class NoAnswerError(TransientError):
    """The request may have reached Meta but no answer came back (read timeout,
    connection dropped while waiting): Meta may have acted on it.

    Still retryable for calls that can safely be repeated (reads, read
    receipts, uploads); :meth:`GraphClient.send_message` turns it into
    :class:`UnconfirmedSendError`.
    """


class UnconfirmedSendError(GraphError):
    """A message was handed to Meta but no answer came back.

    Meta may or may not have accepted it: sending it again could deliver it
    twice, so it is never retried automatically.
    """


class ThrottleError(GraphError):
    """A rate limit was hit (throughput, pair rate, app or account call limits)."""

    retryable = True


class TokenError(GraphError):
    """The access token is missing, expired or revoked: a human must fix it."""


class WindowClosedError(GraphError):
    """The 24-hour customer service window is closed: only templates may be sent."""


class RecipientError(GraphError):
    """This recipient cannot receive the message (not on WhatsApp, not allowed...)."""


class TemplateError(GraphError):
    """The template is missing, paused, disabled or its parameters do not match."""


class AccountError(GraphError):
    """The business account or number is blocked, locked, unpaid or lacks rights."""


class UnsupportedError(GraphError):
    """The request itself is invalid: bad parameter, unsupported type or media."""


# Meta documents codes per family; see the Cloud API "error codes" page.
_CODES_BY_CLASS = {
    TransientError: (
        1,  # API Unknown: possible server error
        2,  # API Service: temporary downtime or overload
        131000,  # Something went wrong
        131016,  # Service unavailable
        131057,  # Account in maintenance mode (throughput upgrade)
        133004,  # Server temporarily unavailable
    ),
    ThrottleError: (
        4,  # app-level API call rate limit
        80007,  # WhatsApp Business Account rate limit
        130429,  # Cloud API throughput reached
        131056,  # (business, consumer) pair rate limit
        133016,  # register/deregister attempts rate limit
    ),
    TokenError: (
        0,  # AuthException
        104,  # no access token sent
        190,  # access token expired or invalidated
    ),
    WindowClosedError: (131047,),
    RecipientError: (
        130497,  # business restricted from messaging users in this country
        131021,  # recipient cannot be the sender
        131026,  # message undeliverable
        131030,  # recipient not in the test number's allowed list
        131050,  # user stopped marketing messages from this business
    ),
    TemplateError: (
        132000,  # parameter count mismatch
        132001,  # template does not exist (in this language)
        132005,  # hydrated text too long
        132007,  # format character policy violated
        132012,  # parameter format mismatch
        132015,  # template paused (low quality)
        132016,  # template disabled
    ),
    AccountError: (
        3,  # capability or permission issue
        10,  # permission denied
        33,  # business phone number deleted
        368,  # temporarily blocked for policy violations
        131005,  # access denied
        131031,  # business account locked
        131042,  # payment / eligibility issue
        131045,  # number not registered (incorrect certificate)
        131048,  # spam rate limit: quality-based restriction, not a retry case
        131049,  # marketing message held for ecosystem health
        133010,  # phone number not registered
        *range(200, 300),  # API Permission family
    ),
    UnsupportedError: (
        100,  # invalid parameter
        131008,  # required parameter missing
        131009,  # parameter value not valid
        131051,  # unsupported message type
        131052,  # media download error
        131053,  # media upload error
        131062,  # business-scoped user id recipient not supported for this message
    ),
}

ERROR_CLASSES: dict[int, type[GraphError]] = {
    code: cls for cls, codes in _CODES_BY_CLASS.items() for code in codes
}


def _as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def error_from_response(http_status: int, body: dict | None) -> GraphError:
    """Build the right :class:`GraphError` subclass from an HTTP status and body.

    ``body`` is the decoded JSON answer (``None`` when it was not JSON). A known
    ``error.code`` wins over the HTTP status; without one, 5xx is transient,
    429 is throttling and 401 is a token problem.
    """
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {}
    code = _as_int(error.get("code"))
    error_data = error.get("error_data")
    if isinstance(error_data, str):
        # Some Graph endpoints serialise error_data as a JSON string.
        try:
            error_data = jsonlib.loads(error_data)
        except ValueError:
            error_data = {"details": error_data}
    details = error_data.get("details", "") if isinstance(error_data, dict) else ""
    # template management errors explain themselves in error_user_msg
    details = details or error.get("error_user_msg") or ""

    cls = ERROR_CLASSES.get(code) if code is not None else None
    if cls is None:
        status = http_status or 0
        if status >= 500:
            cls = TransientError
        elif status == 429:
            cls = ThrottleError
        elif status == 401:
            cls = TokenError
        else:
            cls = GraphError

    message = error.get("message") or ""
    if not message:
        message = (
            f"Graph API answered HTTP {http_status}"
            if http_status
            else "Graph API error"
        )
    return cls(
        message,
        code=code,
        subcode=_as_int(error.get("error_subcode")),
        http_status=http_status,
        title=error.get("error_user_title") or "",
        details=details if isinstance(details, str) else str(details),
        fbtrace_id=error.get("fbtrace_id") or "",
        error_type=error.get("type") or "",
    )


def retry_after_seconds(headers) -> float | None:
    """Seconds an answer asks to wait before calling again, or ``None``.

    Reads the standard ``Retry-After`` (seconds or an HTTP date) and the
    ``estimated_time_to_regain_access`` (minutes) of Graph's usage headers
    (``X-Business-Use-Case-Usage``, ``X-App-Usage``); the longest wins.
    """
    headers = {str(key).lower(): value for key, value in (headers or {}).items()}
    waits = []
    retry_after = (headers.get("retry-after") or "").strip()
    if retry_after:
        waits.append(_seconds_until(retry_after))
    for name in ("x-business-use-case-usage", "x-app-usage"):
        try:
            usage = jsonlib.loads(headers.get(name) or "null")
        except ValueError:
            continue
        waits.extend(60 * minutes for minutes in _regain_minutes(usage))
    waits = [wait for wait in waits if wait > 0]
    return max(waits) if waits else None


def _seconds_until(retry_after):
    # delay-seconds, or an HTTP date; anything else says nothing
    try:
        return float(retry_after)
    except ValueError:
        try:
            moment = parsedate_to_datetime(retry_after)
        except (TypeError, ValueError):
            return 0
    return (moment - datetime.now(moment.tzinfo)).total_seconds()


def _regain_minutes(usage):
    # {"<business id>": [{"type": ..., "estimated_time_to_regain_access": 5}]}
    # for business use cases; a flat object for the app's usage
    if isinstance(usage, dict):
        minutes = _as_int(usage.get("estimated_time_to_regain_access"))
        if minutes:
            yield minutes
        for value in usage.values():
            if isinstance(value, list | dict):
                yield from _regain_minutes(value)
    elif isinstance(usage, list):
        for item in usage:
            yield from _regain_minutes(item)


# ---------------------------------------------------------------------------
# Transport
# ---------------------------------------------------------------------------


class Response:
    """What a transport returns: status, headers and raw body."""

    def __init__(self, status_code: int, headers: dict | None = None, content=b""):
        self.status_code = status_code
        self.headers = dict(headers or {})
        self.content = content or b""

    def __repr__(self):
        return f"<Response [{self.status_code}]>"

    def header(self, name: str, default: str = "") -> str:
        """Case-insensitive header lookup."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return default

    @property
    def text(self) -> str:
        """Body decoded as UTF-8, undecodable bytes replaced."""
        return self.content.decode("utf-8", errors="replace")

    def json(self):
        """Decoded JSON body; raises ``ValueError`` when the body is not JSON."""
        return jsonlib.loads(self.content.decode("utf-8"))


def _causes(exc):
    """``exc`` and every exception it wraps (requests wraps urllib3's, which
    wraps the socket's)."""
    seen, pending = [], [exc]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or any(
            current is known for known in seen
        ):
            continue
        seen.append(current)
        pending.extend(
            [
                current.__cause__,
                current.__context__,
                getattr(current, "reason", None),  # urllib3 MaxRetryError
                getattr(current, "original_error", None),  # urllib3 ProxyError
                *current.args[:1],
            ]
        )
    return seen


def never_sent(exc: requests.RequestException) -> bool:
    """Whether ``exc`` certainly happened before any byte of the request left.

    Only failures to open the connection qualify: connect timeout, connection
    refused, unknown host, unreachable network, or a server certificate that
    fails verification. Anything later (read timeout, connection reset or
    closed while waiting) may come after Meta received the request.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return True
    return any(
        isinstance(cause, NewConnectionError | ssl.SSLCertVerificationError)
        for cause in _causes(exc)
    )


def network_error(method: str, exc: requests.RequestException) -> GraphError:
    """The :class:`GraphError` for a request that got no HTTP answer.

    * the connection could not be opened: :class:`TransientError`, the
      request never reached Meta and can be sent again;
    * the request left but no answer came (read timeout, connection dropped):
      :class:`NoAnswerError`, Meta may have acted on it;
    * the request could not even be built (bad URL, header...): a plain,
      non-retryable :class:`GraphError`.
    """
    name = exc.__class__.__name__
    if never_sent(exc):
        if isinstance(exc, requests.Timeout):
            return TransientError(f"Graph API connection timed out ({method})")
        return TransientError(f"Graph API connection failed ({method}): {name}")
    if isinstance(exc, requests.Timeout):
        return NoAnswerError(f"Graph API request timed out ({method})")
    if isinstance(
        exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError
    ):
        return NoAnswerError(
            f"Graph API connection dropped before the answer ({method}): {name}"
        )
    return GraphError(f"Graph API request could not be sent ({method}): {name}")


class RequestsTransport:
    """Real HTTP with requests.Session; every call has a timeout."""

    def __init__(self, session=None, *, timeout=DEFAULT_TIMEOUT):
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self.timeout = timeout

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
        """Send one request; network failures become a :class:`GraphError`
        (see :func:`network_error`)."""
        try:
            answer = self.session.request(
                method,
                url,
                headers=headers,
                params=params,
                json=json,
                data=data,
                files=files,
                # A request without a timeout can hang an Odoo worker forever.
                timeout=timeout if timeout is not None else self.timeout,
            )
        except requests.RequestException as exc:
            raise network_error(method, exc) from exc
        return Response(answer.status_code, dict(answer.headers), answer.content)

    def close(self):
        """Release pooled connections."""
        self.session.close()


# ---------------------------------------------------------------------------
# Client
# ---------------------------------------------------------------------------


class GraphClient:
    """WhatsApp Cloud API client bound to one business phone number.

    ``transport`` defaults to :class:`RequestsTransport`; sandbox numbers pass a
    :class:`~.fake_graph.FakeTransport` instead.
    """

    def __init__(
        self,
        *,
        access_token: str,
        phone_number_id: str,
        business_account_id: str = "",
        version: str = DEFAULT_VERSION,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | tuple = DEFAULT_TIMEOUT,
        transport=None,
    ):
        self._access_token = access_token
        self.phone_number_id = str(phone_number_id or "")
        self.business_account_id = str(business_account_id or "")
        version = (version or DEFAULT_VERSION).strip("/")
        self.version = version if version.startswith("v") else f"v{version}"
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout
        self.transport = transport or RequestsTransport(timeout=timeout)

    def __repr__(self):
        # Never show the token, even in tracebacks.
        return (
            f"<GraphClient phone_number_id={self.phone_number_id!r} "
            f"version={self.version!r} base_url={self.base_url!r}>"
        )

    # -- plumbing -----------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{self.version}/{path.lstrip('/')}"

    def _request(
        self,
        method,
        url,
        *,
        params=None,
        json=None,
        data=None,
        files=None,
        headers=None,
    ):
        headers = {"Authorization": f"Bearer {self._access_token}", **(headers or {})}
        _logger.debug("Graph API %s %s", method, url.split("?", 1)[0])
        response = self.transport.request(
            method,
            url,
            headers=headers,
            params=params,
            json=json,
            data=data,
            files=files,
            timeout=self.timeout,
        )
        if response.status_code >= 400:
            raise self._error(response)
        return response

    @staticmethod
    def _error(response: Response) -> GraphError:
        try:
            body = response.json()
        except ValueError:
            body = None
        error = error_from_response(
            response.status_code, body if isinstance(body, dict) else None
        )
        if body is None and response.content and not error.details:
            # A proxy or load balancer page: keep a short trace for debugging.
            error.details = " ".join(response.text.split())[:200]
        error.retry_after = retry_after_seconds(response.headers)
        return error

    def _json(self, method, path, **kwargs) -> dict:
        response = self._request(method, self._url(path), **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise GraphError(
                f"Graph API answered {method} {path.split('?', 1)[0]} with "
                f"HTTP {response.status_code} but the body is not a JSON object",
                http_status=response.status_code,
                details=" ".join(response.text.split())[:200],
            )
        if "error" in body:
            # Graph sometimes reports failures inside a 200 answer.
            raise error_from_response(response.status_code, body)
        return body

    def _need_waba(self):
        if not self.business_account_id:
            raise ValueError("business_account_id is required for template calls")

    # -- messages -----------------------------------------------------------

    def send_message(self, payload: dict) -> str:
        """POST a message payload to ``/{phone_number_id}/messages``; return its wamid.

        ``messaging_product`` is always set to ``whatsapp``. When the request
        may have reached Meta but no answer came back, raises
        :class:`UnconfirmedSendError` (not retryable) instead of a transient
        error: the message may already be on its way to the customer.
        """
        body = dict(payload)
        body["messaging_product"] = "whatsapp"
        try:
            answer = self._json("POST", f"{self.phone_number_id}/messages", json=body)
        except NoAnswerError as error:
            raise UnconfirmedSendError(
                "Graph API may have accepted the message but did not answer: "
                "sending it again could deliver it twice",
                details=error.message,
            ) from error
        messages = answer.get("messages")
        if (
            not messages
            or not isinstance(messages[0], dict)
            or not messages[0].get("id")
        ):
            raise GraphError(
                "Graph API accepted the message but returned no message id",
                details=jsonlib.dumps(answer)[:200],
            )
        return messages[0]["id"]

    def send_text(
        self,
        to: str = "",
        body: str = "",
        *,
        recipient: str = "",
        reply_to: str = "",
        preview_url: bool = False,
    ) -> str:
        """Send a text message; return its wamid.

        ``to`` is the phone number (digits with country code); ``recipient`` is a
        business-scoped user id (BSUID) for users known only by username. Meta
        gives ``to`` precedence, so ``recipient`` is only sent without ``to``.
        ``reply_to`` quotes an earlier message (``context.message_id``).
        """
        if not to and not recipient:
            raise ValueError(
                "send_text needs a phone number (to) or a BSUID (recipient)"
            )
        if not body:
            raise ValueError("send_text needs a non-empty body")
        text = {"body": body}
        if preview_url:
            text["preview_url"] = True
        payload = {"recipient_type": "individual", "type": "text", "text": text}
        if to:
            payload["to"] = to
        else:
            payload["recipient"] = recipient
        if reply_to:
            payload["context"] = {"message_id": reply_to}
        return self.send_message(payload)

    def mark_read(self, message_id: str, *, typing: bool = False) -> bool:
        """Mark an incoming message as read, optionally showing a typing indicator.

        Meta dismisses the indicator after the next reply or 25 seconds.
        """
        body = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": message_id,
        }
        if typing:
            body["typing_indicator"] = {"type": "text"}
        answer = self._json("POST", f"{self.phone_number_id}/messages", json=body)
        return answer.get("success") is True

    # -- media --------------------------------------------------------------

    def upload_media(self, content: bytes, mime_type: str, filename: str) -> str:
        """Upload a file to ``/{phone_number_id}/media``; return the media id."""
        answer = self._json(
            "POST",
            f"{self.phone_number_id}/media",
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename or "file", content, mime_type)},
        )
        media_id = answer.get("id")
        if not media_id:
            raise GraphError("Graph API accepted the upload but returned no media id")
        return str(media_id)

    def get_media(self, media_id: str) -> dict:
        """Return ``{url, mime_type, sha256, file_size, id}`` for a media id.

        The URL is short-lived (minutes) and needs the bearer token: download it
        right away with :meth:`download`.
        """
        return self._json("GET", quote(str(media_id), safe=""))

    def download(self, url: str) -> bytes:
        """GET an absolute media URL (from :meth:`get_media`) with the token."""
        if not url.lower().startswith(("https://", "http://")):
            raise ValueError("download needs an absolute http(s) URL")
        response = self._request("GET", url)
        if "json" in response.header("Content-Type").lower():
            # An expired media URL can come back as a JSON error with HTTP 200.
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict) and "error" in body:
                raise error_from_response(response.status_code, body)
        return response.content

    def fetch_media(self, media_id: str) -> tuple[bytes, str]:
        """Resolve and download a media id; return ``(content, mime_type)``."""
        info = self.get_media(media_id)
        url = info.get("url")
        if not url:
            raise GraphError(f"Graph API returned no URL for media {media_id}")
        content = self.download(url)
        expected = str(info.get("sha256") or "").lower()
        if expected and hashlib.sha256(content).hexdigest() != expected:
            # Warn rather than fail: a false alarm would drop real media.
            _logger.warning("Media %s: sha256 does not match Meta's", media_id)
        return content, info.get("mime_type") or "application/octet-stream"

    # -- templates ----------------------------------------------------------

    def iter_templates(self, *, page_size: int = 100, fields: str = ""):
        """Yield every message template of the business account, page by page.

        Follows ``paging.cursors.after`` while Meta announces a ``paging.next``
        page (the ``next`` URL itself is not followed: it embeds the token).
        """
        self._need_waba()
        params = {"limit": int(page_size)}
        if fields:
            params["fields"] = fields
        seen_cursors = set()
        path = f"{self.business_account_id}/message_templates"
        while True:
            answer = self._json("GET", path, params=dict(params))
            yield from answer.get("data") or []
            paging = answer.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after or after in seen_cursors:
                return
            seen_cursors.add(after)
            params["after"] = after

    def create_template(self, values: dict) -> dict:
        """Submit a template for review; return ``{id, status, category}``."""
        self._need_waba()
        return self._json(
            "POST", f"{self.business_account_id}/message_templates", json=dict(values)
        )

    def upload_template_sample(
        self, app_id: str, content: bytes, mime_type: str, filename: str
    ) -> str:
        """Upload a template's sample media; return its handle (``h``).

        Meta's Resumable Upload API: ``POST /{app_id}/uploads`` opens an
        upload session, ``POST /{session}`` sends the bytes. The handle is
        the ``header_handle`` example a media header is reviewed with.
        """
        if not app_id:
            raise ValueError("app_id is required to upload a template sample")
        session = self._json(
            "POST",
            f"{quote(str(app_id), safe='')}/uploads",
            params={
                "file_name": filename or "sample",
                "file_length": len(content),
                "file_type": mime_type,
            },
        )
        session_id = str(session.get("id") or "")
        if not session_id.startswith("upload:"):
            raise GraphError("Graph API opened no upload session")
        # the session id carries its own query string (?sig=...)
        answer = self._json(
            "POST",
            session_id,
            data=content,
            headers={
                "Authorization": f"OAuth {self._access_token}",
                "file_offset": "0",
            },
        )
        handle = answer.get("h")
        if not handle:
            raise GraphError("Graph API accepted the upload but returned no handle")
        return str(handle)

    # -- phone number -------------------------------------------------------

    def request_app_sync(self, sync_type: str) -> str:
        """Ask Meta for the WhatsApp Business app's data of a number shared
        with it ("coexistence"); return Meta's request id.

        ``sync_type`` is ``smb_app_state_sync`` (the app's contacts, then
        their changes) or ``history`` (the app's chat history, when the
        business agreed to share it): Meta sends them to the webhook. Meta
        takes each once, within 24 hours of the number's connection.
        """
        answer = self._json(
            "POST",
            f"{self.phone_number_id}/smb_app_data",
            json={"messaging_product": "whatsapp", "sync_type": sync_type},
        )
        return str(answer.get("request_id") or "")

    def get_phone_number(self) -> dict:
        """Return display number, verified name and quality rating of the number."""
        return self._json(
            "GET", self.phone_number_id, params={"fields": PHONE_NUMBER_FIELDS}
        )

    def close(self):
        """Release the transport's connections when it has any."""
        close = getattr(self.transport, "close", None)
        if close:
            close()
