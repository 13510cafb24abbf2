import logging

from odoo import SUPERUSER_ID, http
from odoo.http import request

from ..models.whatsapp_webhook_event import MAX_BODY_SIZE

_logger = logging.getLogger(__name__)


class WhatsappWebhookController(http.Controller):
    """Meta's webhook endpoint: verify, store, answer. Processing is elsewhere."""

    @http.route(
        "/whatsapp/webhook",
        type="http",
        # Meta is no user: the body's signature is its credential. No user is
        # looked up for it (Odoo's public user is one query a call); the
        # route writes, so its cursor is a read/write one from the start
        auth="none",
        readonly=False,
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
    )
    def webhook(self, **params):
        method = request.httprequest.method
        if method == "POST":
            return self._receive()
        if method in ("GET", "HEAD"):
            # HEAD is a GET whose answer has no body (werkzeug drops it)
            return self._verify(params)
        # Odoo routes OPTIONS to every route: it must not store a body
        response = self._answer(405, "Method Not Allowed")
        response.headers["Allow"] = "GET, HEAD, POST"
        return response

    def _verify(self, params):
        # Meta's subscription handshake: echo the challenge for our token.
        token = params.get("hub.verify_token")
        if params.get("hub.mode") == "subscribe" and token:
            # sudo: whether some number has this token; only the challenge goes back
            Accounts_sudo = request.env(user=SUPERUSER_ID)["whatsapp.account"]
            found = Accounts_sudo.search_count([("verify_token", "=", token)], limit=1)
            if found:
                return self._answer(200, params.get("hub.challenge", ""))
        return self._answer(403, "Forbidden")

    def _receive(self):
        httprequest = request.httprequest
        if (httprequest.content_length or 0) > MAX_BODY_SIZE:
            return self._answer(413, "Payload Too Large")
        body = httprequest.get_data()
        # sudo: the body is checked against the numbers' secrets before it is
        # stored; only the status goes back
        Events_sudo = request.env(user=SUPERUSER_ID)["whatsapp.webhook.event"]
        status, text, _event = Events_sudo._receive(
            body, httprequest.headers.get("X-Hub-Signature-256")
        )
        return self._answer(status, text)

    @staticmethod
    def _answer(status, text):
        return request.make_response(
            text, headers=[("Content-Type", "text/plain; charset=utf-8")], status=status
        )
