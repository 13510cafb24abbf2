import logging

from odoo import http
from odoo.http import request

from ..models.whatsapp_webhook_event import MAX_BODY_SIZE

_logger = logging.getLogger(__name__)


class WhatsappWebhookController(http.Controller):
    """Meta's webhook endpoint: verify, store, answer. Processing is elsewhere."""

    @http.route(
        "/whatsapp/webhook",
        type="http",
        auth="public",
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
            found = (
                request.env["whatsapp.account"]
                .sudo()
                .search_count([("verify_token", "=", token)], limit=1)
            )
            if found:
                return self._answer(200, params.get("hub.challenge", ""))
        return self._answer(403, "Forbidden")

    def _receive(self):
        httprequest = request.httprequest
        if (httprequest.content_length or 0) > MAX_BODY_SIZE:
            return self._answer(413, "Payload Too Large")
        body = httprequest.get_data()
        status, text, _event = (
            request.env["whatsapp.webhook.event"]
            .sudo()
            ._receive(body, httprequest.headers.get("X-Hub-Signature-256"))
        )
        return self._answer(status, text)

    @staticmethod
    def _answer(status, text):
        return request.make_response(
            text, headers=[("Content-Type", "text/plain; charset=utf-8")], status=status
        )
