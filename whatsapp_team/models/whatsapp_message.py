import json
import logging
import mimetypes
from datetime import datetime, timezone

from markupsafe import Markup, escape

from odoo import _, api, fields, models

from ..tools.formatting import whatsapp_to_html
from ..tools.graph_api import GraphError
from ..tools.payload import status_moves_forward

_logger = logging.getLogger(__name__)

MESSAGE_TYPES = [
    ("text", "Text"),
    ("image", "Image"),
    ("audio", "Audio"),
    ("video", "Video"),
    ("document", "Document"),
    ("sticker", "Sticker"),
    ("location", "Location"),
    ("contacts", "Contacts"),
    ("interactive", "Interactive reply"),
    ("button", "Button reply"),
    ("reaction", "Reaction"),
    ("order", "Order"),
    ("system", "System"),
    ("request_welcome", "Conversation opened"),
    ("unsupported", "Unsupported"),
    ("template", "Template"),
    ("other", "Other"),
]
MEDIA_TYPES = {"image", "audio", "video", "document", "sticker"}
MEDIA_RETRIES = 5


class WhatsappMessage(models.Model):
    _name = "whatsapp.message"
    _description = "WhatsApp Message"
    _order = "wa_timestamp desc, id desc"
    _rec_name = "wa_message_id"

    wa_message_id = fields.Char(
        "WhatsApp Message ID", required=True, readonly=True, copy=False
    )
    conversation_id = fields.Many2one(
        "whatsapp.conversation", required=True, index=True, ondelete="cascade"
    )
    account_id = fields.Many2one(
        related="conversation_id.account_id", store=True, index=True
    )
    partner_id = fields.Many2one(related="conversation_id.partner_id")
    direction = fields.Selection(
        [("in", "From the customer"), ("out", "To the customer")],
        required=True,
        readonly=True,
    )
    message_type = fields.Selection(MESSAGE_TYPES, required=True, readonly=True)
    body = fields.Text(readonly=True)
    mail_message_id = fields.Many2one(
        "mail.message", string="Chatter Message", readonly=True, index=True
    )
    attachment_ids = fields.Many2many("ir.attachment", readonly=True)
    reply_to_wa_id = fields.Char("In Reply To (WhatsApp ID)", readonly=True)
    reply_to_id = fields.Many2one(
        "whatsapp.message", string="In Reply To", readonly=True
    )
    reaction_emoji = fields.Char(readonly=True)
    latitude = fields.Float(digits=(10, 7), readonly=True)
    longitude = fields.Float(digits=(10, 7), readonly=True)
    media_id = fields.Char("Media ID", readonly=True)
    media_mime_type = fields.Char(readonly=True)
    media_filename = fields.Char(readonly=True)
    media_state = fields.Selection(
        [
            ("none", "No media"),
            ("pending", "To download"),
            ("done", "Downloaded"),
            ("failed", "Download failed"),
        ],
        default="none",
        readonly=True,
        index=True,
    )
    media_attempts = fields.Integer(readonly=True)
    media_error = fields.Char(readonly=True)
    state = fields.Selection(
        [
            ("received", "Received"),
            ("queued", "Queued"),
            ("sent", "Sent"),
            ("delivered", "Delivered"),
            ("read", "Read"),
            ("failed", "Failed"),
        ],
        required=True,
        readonly=True,
        index=True,
    )
    error_code = fields.Integer(readonly=True)
    error_title = fields.Char(readonly=True)
    error_message = fields.Text(readonly=True)
    wa_timestamp = fields.Datetime("Sent At", readonly=True)
    delivered_at = fields.Datetime(readonly=True)
    read_at = fields.Datetime(readonly=True)
    failed_at = fields.Datetime(readonly=True)
    raw = fields.Text("Raw Message", readonly=True)

    _sql_constraints = [
        (
            "wa_message_id_uniq",
            "unique(wa_message_id)",
            "A WhatsApp message is stored once.",
        ),
    ]

    # ------------------------------------------------------------
    # Inbound
    # ------------------------------------------------------------

    @api.model
    def _receive_inbound(self, account, inbound):
        """Store one customer message (``tools.payload.InboundMessage``).

        Idempotent: Meta delivers the same message more than once, and this
        returns the record stored the first time.
        """
        Message = self.sudo()
        existing = Message.search([("wa_message_id", "=", inbound.message_id)])
        if existing:
            return existing
        Conversation = self.env["whatsapp.conversation"].sudo()
        conversation = Conversation._get_or_create_for(account, inbound.sender)
        # The identity lock is held now: a concurrent delivery of the same
        # message from the same sender has either committed or waits for us.
        existing = Message.search([("wa_message_id", "=", inbound.message_id)])
        if existing:
            return existing
        if inbound.system_type == "user_changed_number" and inbound.new_wa_id:
            conversation._change_number(inbound.new_wa_id)
        message = Message.create(self._prepare_inbound_values(conversation, inbound))
        if message.media_state == "pending":
            message._fetch_media()
        message._post_inbound_in_chatter()
        conversation._on_inbound(message)
        return message

    @api.model
    def _prepare_inbound_values(self, conversation, inbound):
        type_codes = {code for code, _label in MESSAGE_TYPES}
        values = {
            "wa_message_id": inbound.message_id,
            "conversation_id": conversation.id,
            "direction": "in",
            "message_type": inbound.type if inbound.type in type_codes else "other",
            "body": inbound.body,
            "state": "received",
            "wa_timestamp": _from_epoch(inbound.timestamp),
            "reply_to_wa_id": inbound.reply_to_message_id
            or inbound.reaction_to_message_id
            or False,
            "reaction_emoji": inbound.reaction_emoji or False,
            "raw": json.dumps(inbound.raw),
        }
        reply_to = values["reply_to_wa_id"] and self.sudo().search(
            [("wa_message_id", "=", values["reply_to_wa_id"])], limit=1
        )
        if reply_to:
            values["reply_to_id"] = reply_to.id
        if inbound.location:
            values.update(
                latitude=inbound.location.latitude,
                longitude=inbound.location.longitude,
            )
        if inbound.media:
            values.update(
                media_id=inbound.media.media_id,
                media_mime_type=inbound.media.mime_type,
                media_filename=inbound.media.filename,
                media_state="pending",
            )
        if inbound.errors:
            error = inbound.errors[0]
            values.update(
                error_code=error.code,
                error_title=error.title,
                error_message=error.details or error.message,
            )
        return values

    def _fetch_media(self):
        """Download the media of these messages through the Graph API.

        Media ids expire after a week at Meta: a failure keeps the message,
        says so in the chat, and the media cron tries again.
        """
        for message in self:
            client = message.account_id._get_graph_client()
            try:
                content, mime_type = client.fetch_media(message.media_id)
            except GraphError as error:
                message.write(
                    {
                        "media_state": "failed",
                        "media_attempts": message.media_attempts + 1,
                        "media_error": str(error)[:500],
                    }
                )
                _logger.info(
                    "WhatsApp media %s of message %s not downloaded: %s",
                    message.media_id,
                    message.wa_message_id,
                    error,
                )
                continue
            mime_type = mime_type or message.media_mime_type
            attachment = (
                self.env["ir.attachment"]
                .sudo()
                .create(
                    {
                        "name": message._media_file_name(mime_type),
                        "raw": content,
                        "mimetype": mime_type,
                        "res_model": "whatsapp.conversation",
                        "res_id": message.conversation_id.id,
                    }
                )
            )
            message.write(
                {
                    "media_state": "done",
                    "media_attempts": message.media_attempts + 1,
                    "media_error": False,
                    "attachment_ids": [(4, attachment.id)],
                }
            )
            if message.mail_message_id:
                # a retry after the message was already shown without it
                message.mail_message_id.sudo().write(
                    {
                        "attachment_ids": [(4, attachment.id)],
                        "body": message._chatter_body(),
                    }
                )

    def _media_file_name(self, mime_type):
        self.ensure_one()
        if self.media_filename:
            return self.media_filename
        extension = mimetypes.guess_extension((mime_type or "").split(";")[0]) or ""
        if extension == ".oga":
            extension = ".ogg"
        return f"{self.message_type}-{self.media_id}{extension}"

    @api.model
    def _cron_retry_media(self, limit=100):
        """Retry media downloads that failed, a few times each."""
        messages = self.sudo().search(
            [("media_state", "=", "failed"), ("media_attempts", "<", MEDIA_RETRIES)],
            order="id",
            limit=limit,
        )
        messages._fetch_media()
        return messages

    def _post_inbound_in_chatter(self):
        self.ensure_one()
        conversation = self.conversation_id
        mail_message = conversation.with_context(
            mail_create_nosubscribe=True
        ).message_post(
            body=self._chatter_body(),
            author_id=conversation.partner_id.id or False,
            email_from=conversation.partner_id.email_formatted or conversation.name,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            attachment_ids=self.attachment_ids.ids,
            # when the customer wrote it, even if processed later
            date=self.wa_timestamp or fields.Datetime.now(),
        )
        self.mail_message_id = mail_message

    def _chatter_body(self):
        """The message as the team reads it in the chatter (safe HTML)."""
        self.ensure_one()
        parts = []
        if self.reply_to_id and self.message_type != "reaction":
            quoted = (self.reply_to_id.body or "")[:200]
            parts.append(
                Markup("<blockquote>%s</blockquote>") % Markup(whatsapp_to_html(quoted))
            )
        kind = self.message_type
        if kind == "reaction":
            target = (self.reply_to_id.body or "")[:120]
            if self.reaction_emoji:
                parts.append(
                    escape(
                        _(
                            "Reacted %(emoji)s to “%(message)s”",
                            emoji=self.reaction_emoji,
                            message=target,
                        )
                    )
                )
            else:
                parts.append(
                    escape(_("Removed a reaction from “%(message)s”", message=target))
                )
        elif kind == "location":
            url = (
                "https://www.openstreetmap.org/"
                f"?mlat={self.latitude}&mlon={self.longitude}#map=17/"
                f"{self.latitude}/{self.longitude}"
            )
            label = self.body or _("Shared location")
            parts.append(
                Markup('📍 <a href="%s" target="_blank" rel="noopener">%s</a>')
                % (url, label)
            )
        elif kind == "contacts":
            parts.append(
                Markup("👤 %s")
                % Markup("<br/>").join(
                    escape(line) for line in self._shared_contacts_lines()
                )
            )
        elif kind == "unsupported":
            parts.append(
                Markup("<i>%s</i>")
                % _(
                    "The customer sent a message WhatsApp cannot pass on "
                    "(%(reason)s). Ask them to send it another way.",
                    reason=self.error_message or self.error_title or _("unsupported"),
                )
            )
        elif self.body:
            parts.append(Markup(whatsapp_to_html(self.body)))
        elif kind == "request_welcome":
            parts.append(
                Markup("<i>%s</i>")
                % _("The customer opened the chat for the first time.")
            )
        if self.media_state == "failed":
            parts.append(
                Markup("<p><i>%s</i></p>")
                % _(
                    "The %(kind)s could not be downloaded from WhatsApp yet: it "
                    "will be tried again automatically.",
                    kind=dict(MESSAGE_TYPES).get(kind, kind).lower(),
                )
            )
        if not parts:
            parts.append(Markup("<i>%s</i>") % dict(MESSAGE_TYPES).get(kind, kind))
        return Markup("").join(parts)

    def _shared_contacts_lines(self):
        self.ensure_one()
        try:
            raw = json.loads(self.raw or "{}")
        except ValueError:
            return [self.body or ""]
        lines = []
        for card in raw.get("contacts") or []:
            if not isinstance(card, dict):
                continue
            name = (card.get("name") or {}).get("formatted_name") or ""
            phones = ", ".join(
                p.get("phone", "")
                for p in card.get("phones") or []
                if isinstance(p, dict)
            )
            lines.append(" ".join(filter(None, [name, phones])))
        return lines or [self.body or ""]

    # ------------------------------------------------------------
    # Statuses of our messages
    # ------------------------------------------------------------

    @api.model
    def _receive_status(self, status):
        """Apply a status webhook (``tools.payload.StatusUpdate``).

        Meta delivers statuses late, twice and out of order: a message never
        moves backwards (a read message stays read).
        """
        message = self.sudo().search(
            [("wa_message_id", "=", status.message_id)], limit=1
        )
        if not message:
            _logger.info("WhatsApp status for unknown message %s", status.message_id)
            return message
        when = _from_epoch(status.timestamp) or fields.Datetime.now()
        values = {}
        if status.status == "delivered" and not message.delivered_at:
            values["delivered_at"] = when
        if status.status == "read" and not message.read_at:
            values["read_at"] = when
            values.setdefault("delivered_at", message.delivered_at or when)
        if status_moves_forward(message.state, status.status):
            values["state"] = status.status
            if status.status == "failed":
                error = status.errors[0] if status.errors else None
                values.update(
                    failed_at=when,
                    error_code=error.code if error else 0,
                    error_title=error.title if error else False,
                    error_message=(error.details or error.message) if error else False,
                )
        if values:
            message.write(values)
        return message


def _from_epoch(timestamp):
    if not timestamp:
        return False
    return datetime.fromtimestamp(int(timestamp), tz=timezone.utc).replace(tzinfo=None)
