import json
import logging
import mimetypes
import re
import time
import uuid
from collections import defaultdict, deque
from datetime import datetime, timedelta, timezone

import psycopg2
from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.modules import module as odoo_module

from odoo.addons.mail.tools.discuss import Store

from ..tools import outbound
from ..tools.batch import processor_batch
from ..tools.formatting import whatsapp_to_html
from ..tools.graph_api import (
    GraphError,
    ThrottleError,
    TokenError,
    TransientError,
    UnconfirmedSendError,
)
from ..tools.payload import status_moves_forward
from .mail_notification import NOTIFICATION_STATUS

_logger = logging.getLogger(__name__)

# the warning a failed message gets in the chatter, and how to find it again
FAILURE_NOTE = '<p class="text-danger">⚠ %s</p>'
FAILURE_NOTE_PATTERN = re.compile(r'<p class="text-danger">⚠ .*?</p>', re.DOTALL)

MESSAGE_TYPES = [
    ("text", "Text"),
    ("image", "Image"),
    ("audio", "Audio"),
    ("video", "Video"),
    ("document", "Document"),
    ("sticker", "Sticker"),
    ("location", "Location"),
    ("contacts", "Contacts"),
    ("interactive", "Interactive (buttons, list)"),
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
SEND_ATTEMPTS = 8
SEND_BATCH = 500
# a message left "sending" this long was interrupted: we cannot know whether
# Meta got it, and never send it twice
STALE_SENDING = timedelta(minutes=10)
# Meta's pair rate: about one message every 6 seconds to one customer, with
# short bursts allowed. A customer gets at most PAIR_BURST messages in any
# PAIR_WINDOW; the rest wait in the queue, other customers' messages do not.
PAIR_BURST = 10
PAIR_WINDOW = timedelta(seconds=60)
PAIR_RETRY = timedelta(seconds=6)
# Meta's throttling pauses of at most SHORT_PAUSE seconds are waited out in
# the send cron, up to MAX_PAUSES_WAITED seconds a run; longer ones end the
# run and the cron comes back when they end.
SHORT_PAUSE = 5
MAX_PAUSES_WAITED = 60


# the records a message is linked to, which WhatsApp's events rewrite or
# remove as superuser (its line in the chat, its copy on the lead, its files,
# the rating a survey tap fills in): see ``_check_linked_records``
LINKED_RECORDS = frozenset(
    {"mail_message_id", "lead_message_id", "attachment_ids", "rating_id"}
)


def check_linked_records(env, linked, vals_list):
    """Refuse values of the ``linked`` fields, but to the superuser: what
    WhatsApp's events rewrite or remove as superuser is never another
    record than the addon chose (a WhatsApp administrator, who may write
    messages and calls, would change that record through them)."""
    if env.su:
        return
    if any(linked.intersection(vals) for vals in vals_list):
        raise AccessError(
            _(
                "The chat lines, files and ratings of WhatsApp messages and "
                "calls are set by WhatsApp only."
            )
        )


class WhatsappMessage(models.Model):
    _name = "whatsapp.message"
    _description = "WhatsApp Message"
    _order = "wa_timestamp desc, id desc"
    _rec_name = "wa_message_id"

    wa_message_id = fields.Char(
        "WhatsApp Message ID", readonly=True, copy=False, index=True
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
    # the team inbox searches the messages' words
    body = fields.Text(readonly=True, index="trigram")
    mail_message_id = fields.Many2one(
        "mail.message", string="Chatter Message", readonly=True, index=True
    )
    # the lead's copy of the message (``_mirror_to_crm``): changed with it
    # when the customer edits or deletes it
    lead_message_id = fields.Many2one(
        "mail.message",
        string="Copy on the Lead",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        copy=False,
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
            ("sending", "Sending"),
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
    author_user_id = fields.Many2one("res.users", string="Sent By", readonly=True)
    template_id = fields.Many2one("whatsapp.template", readonly=True)
    template_values = fields.Text(
        readonly=True, help="Variables (body, and header if any), as JSON."
    )
    send_attempts = fields.Integer(readonly=True)
    next_attempt_at = fields.Datetime(readonly=True)
    sending_since = fields.Datetime(readonly=True)
    callback_ref = fields.Char(readonly=True, copy=False, index="btree_not_null")
    failure_cause = fields.Selection(
        [
            ("interrupted", "Interrupted while sending"),
            ("preparation", "Could not be prepared"),
        ],
        readonly=True,
        help="Set when a message failed without an answer from WhatsApp: its "
        "error message then says in plain words what happened.",
    )
    error_explanation = fields.Text(compute="_compute_error_explanation")
    # the message as the chat shows it: WhatsApp's formatting rendered, the
    # customer's quotes, locations and files (partner and lead history)
    body_html = fields.Html(
        "Message", compute="_compute_body_html", sanitize=True, compute_sudo=False
    )

    _sql_constraints = [
        (
            "wa_message_id_uniq",
            "unique(wa_message_id)",
            "A WhatsApp message is stored once.",
        ),
    ]

    @api.depends("body", "message_type", "attachment_ids", "media_state")
    def _compute_body_html(self):
        for message in self:
            if message.direction == "in":
                body = message._chatter_body()
            else:
                body = Markup(whatsapp_to_html(message.body or ""))
            files = Markup("").join(
                Markup(
                    '<div>📎 <a href="/web/content/%s?download=true" '
                    'target="_blank">%s</a></div>'
                )
                % (attachment.id, attachment.name)
                for attachment in message.attachment_ids
            )
            message.body_html = body + files

    @api.depends("state", "error_code", "error_message", "failure_cause")
    def _compute_error_explanation(self):
        for message in self:
            if message.state != "failed":
                message.error_explanation = False
            elif message.failure_cause:
                # WhatsApp said nothing: our own words stand as they are
                message.error_explanation = message.error_message
            else:
                message.error_explanation = message._explain_error(
                    message.error_code, message.error_message
                )

    # ------------------------------------------------------------
    # Inbound
    # ------------------------------------------------------------

    @api.model
    def _receive_inbound(self, account, inbound):
        """Store one customer message (``tools.payload.InboundMessage``).

        Idempotent: Meta delivers the same message more than once, and this
        returns the record stored the first time.
        """
        Message_sudo = self.sudo()
        Conversation_sudo = self.env["whatsapp.conversation"].sudo()
        # Looked up once the identity lock is held: a concurrent delivery of
        # the same message from the same sender has either committed or
        # waits for us (a delivery again finds the message stored, and
        # stops here).
        conversation, existing = Conversation_sudo._get_or_create_for_message(
            account, self._inbound_sender(inbound), inbound.message_id
        )
        if existing:
            return existing
        message = Message_sudo.create(
            self._prepare_inbound_values(conversation, inbound)
        )
        if message.media_state == "pending":
            message._fetch_media_later()
        if message.message_type == "system":
            # WhatsApp's notice, never words of the customer
            message._receive_system(inbound)
        elif not message._react_in_chatter():
            message._post_inbound_in_chatter()
        conversation._inbox_on_messages(message)
        conversation._on_inbound(message)
        message._announce_to_team()
        return message

    @api.model
    def _prepare_inbound_values(self, conversation, inbound):
        type_codes = {code for code, _label in MESSAGE_TYPES}
        values = {
            "wa_message_id": inbound.message_id,
            "conversation_id": conversation.id,
            "direction": "in",
            # "unknown" is Meta's former name of "unsupported" (errors 131051)
            "message_type": "unsupported"
            if inbound.type == "unknown"
            else (inbound.type if inbound.type in type_codes else "other"),
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

    def _fetch_media_later(self):
        """Have these messages' files downloaded apart (_cron_fetch_media):
        a slow media server holds up no other message; each file joins its
        chat when it arrives. Under a webhook processor, the media cron is
        woken once before its commit for all its messages' files
        (``tools.batch.ProcessorBatch``), not once a file."""
        self.env["ir.cron"]._whatsapp_wake("whatsapp_team.ir_cron_fetch_media")

    def _fetch_media(self):
        """Download the media of these messages through the Graph API.

        Media ids expire after a week at Meta: a failure keeps the message,
        says so in the chat, and the media cron tries again.
        """
        for message in self:
            client = message.account_id._get_graph_client()
            try:
                content, mime_type = client.fetch_media(message.media_id)
                message._check_media_checksum(content)
            except GraphError as error:
                message.write(
                    {
                        "media_state": "failed",
                        "media_attempts": message.media_attempts + 1,
                        "media_error": str(error)[:500],
                    }
                )
                if message.mail_message_id and message.media_attempts == 1:
                    # shown while the file was on its way: now it says so,
                    # in the chat and on the lead
                    message._refresh_chatter_body()
                    message._show_changed_line()
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
                # a retry after the message was already shown without it:
                # its line and its lead copy say so, then get the file
                message.mail_message_id.sudo().write(
                    {"attachment_ids": [(4, attachment.id)]}
                )
                message._refresh_chatter_body()
                message.conversation_id._mirror_late_file(attachment, message)
                message._show_changed_line()

    def _show_changed_line(self):
        """Show the chat's open screens this message's line as it is now
        (its file arrived or failed, its writer edited or deleted it): it
        changes under their eyes, as when Odoo edits a message, without a
        reload."""
        self.ensure_one()
        message_sudo = self.mail_message_id.sudo()
        conversation = self.conversation_id
        readers = conversation._inbox_readers().get(
            conversation.id, self.env["res.users"]
        )
        if not message_sudo or not readers:
            return
        store = Store(
            message_sudo,
            {
                "attachment_ids": Store.many(message_sudo.attachment_ids.sorted("id")),
                "body": message_sudo.body,
                "write_date": message_sudo.write_date,
            },
        )
        for reader in readers:
            reader._bus_send_store(store)

    def _media_file_name(self, mime_type):
        self.ensure_one()
        if self.media_filename:
            return self.media_filename
        extension = mimetypes.guess_extension((mime_type or "").split(";")[0]) or ""
        if extension == ".oga":
            extension = ".ogg"
        kind = "voice" if self.is_voice else self.message_type
        return f"{kind}-{self.media_id}{extension}"

    @api.model
    def _cron_fetch_media(self, limit=100):
        """Download the media of received messages, one message at a time,
        each in its own transaction.

        The message is in the chat already; its file follows here, out of
        the way of the other customers' messages. The message row is locked
        while its file is fetched (``SKIP LOCKED``): several runs never
        download one file twice.
        """
        auto_commit = not odoo_module.current_test
        done = 0
        while done < limit:
            # the previous download's outcome is what the next look sees
            self.env.flush_all()
            self.env.cr.execute(
                """
                SELECT id FROM whatsapp_message
                 WHERE media_state = 'pending'
                 ORDER BY id
                 LIMIT 1
                   FOR UPDATE SKIP LOCKED
                """
            )
            row = self.env.cr.fetchone()
            if not row:
                break
            done += 1
            self.sudo().browse(row[0])._fetch_media()
            if auto_commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit
        if done >= limit:
            self.env["ir.cron"]._whatsapp_wake("whatsapp_team.ir_cron_fetch_media")
        return done

    @api.model
    def _cron_retry_media(self, limit=100):
        """Retry media downloads that failed, a few times each."""
        messages_sudo = self.sudo().search(
            [("media_state", "=", "failed"), ("media_attempts", "<", MEDIA_RETRIES)],
            order="id",
            limit=limit,
        )
        messages_sudo._fetch_media()
        return messages_sudo

    def _post_inbound_in_chatter(self):
        self.ensure_one()
        conversation = self.conversation_id
        mail_message = conversation.with_context(
            mail_create_nosubscribe=True
        )._message_post_whatsapp(
            whatsapp_message=self,
            body=self._chatter_body(),
            author_id=conversation.partner_id.id or False,
            email_from=conversation.partner_id.email_formatted or conversation.name,
            message_type="comment",
            # announced once the chat has its salesperson: _announce_to_team
            subtype_xmlid="whatsapp_team.mt_customer_message",
            attachment_ids=self.attachment_ids.ids,
            # when the customer wrote it, even if processed later
            date=self.wa_timestamp or fields.Datetime.now(),
        )
        # posted naming nobody: what notifies and shows it need not read its
        # recipients back (Odoo does not keep them in cache on create)
        self.env.cache.insert_missing(
            mail_message, mail_message._fields["partner_ids"], [()]
        )
        self.mail_message_id = mail_message.id

    def _react_in_chatter(self):
        """A customer's reaction shows on the message it reacts to, as on
        their phone: one reaction of theirs per message, and an empty one
        takes it back. Returns False when it is not a reaction, or reacts to
        a message the chat does not show (it is then posted as a line)."""
        self.ensure_one()
        target = self.reply_to_id.mail_message_id
        customer = self.conversation_id.partner_id
        if self.message_type != "reaction" or not target or not customer:
            return False
        Reaction_sudo = self.env["mail.message.reaction"].sudo()
        previous_sudo = Reaction_sudo.search(
            [("message_id", "=", target.id), ("partner_id", "=", customer.id)]
        )
        contents = set(previous_sudo.mapped("content"))
        previous_sudo.unlink()
        if self.reaction_emoji:
            Reaction_sudo.create(
                {
                    "message_id": target.id,
                    "partner_id": customer.id,
                    "content": self.reaction_emoji,
                }
            )
            contents.add(self.reaction_emoji)
        # the chat's readers see the message's reactions change at once
        store = Store()
        for content in contents:
            target.sudo()._reaction_group_to_store(store, content)
        readers = self.conversation_id._inbox_readers().get(
            self.conversation_id.id, self.env["res.users"]
        )
        for reader in readers:
            reader._bus_send_store(store)
        return True

    def _announce_to_team(self):
        """Tell those who answer the chat of this customer message, in their
        Odoo inbox (Discuss rings and shows it on the desktop). Done once the
        message has been through the chat's team and assignment, so that the
        first message of a new chat reaches its salesperson too."""
        self.ensure_one()
        if self.mail_message_id and self.message_type != "system":
            work = processor_batch(self.env.context)
            if work is not None:
                # a processor announces its messages together, before it
                # commits (whatsapp.conversation._announce_together)
                work.add_announce(self.id)
                return
            self._announce_now()

    def _announce_now(self):
        """Announce this customer message (one ``_announce_to_team`` lets
        through) at once, as Odoo notifies a post (``_notify_thread``)."""
        self.ensure_one()
        conversation_sudo = self.conversation_id.sudo()
        # posted in this chat (_post_inbound_in_chatter): Odoo drops the
        # messages' documents from its cache whenever one is created, and
        # would read this one's back to tell who follows the chat
        self.env.cache.insert_missing(
            self.mail_message_id,
            self.mail_message_id._fields["res_id"],
            [conversation_sudo.id],
        )
        conversation_sudo._notify_thread(
            self.mail_message_id,
            msg_vals=self._announce_values(conversation_sudo),
            whatsapp_announce=True,
        )

    def _announce_values(self, conversation):
        """The values ``message_post`` notifies with, for the announce of the
        message it posted (``_post_inbound_in_chatter``): as Odoo does after
        a post, the notification takes them from here rather than reading the
        message again. It is not scheduled."""
        mail_message = self.mail_message_id.sudo()
        return {
            "model": conversation._name,
            "res_id": conversation.id,
            "message_type": mail_message.message_type,
            "subtype_id": mail_message.subtype_id.id,
            "author_id": mail_message.author_id.id,
            "partner_ids": mail_message.partner_ids.ids,
            "body": mail_message.body,
            "record_name": mail_message.record_name,
            "subject": mail_message.subject,
            "scheduled_date": False,
        }

    def _chatter_body(self):
        """The message as the team reads it in the chatter (safe HTML)."""
        self.ensure_one()
        parts = []
        if self.reply_to_id and self.message_type != "reaction":
            quoted = (self.reply_to_id.body or "")[:200]
            parts.append(
                Markup("<blockquote>%s</blockquote>") % Markup(whatsapp_to_html(quoted))
            )
        # a question about a product is rare: Meta's JSON is parsed only
        # for a message that names one, not for every message shown
        product = None
        if "referred_product" in (self.raw or ""):
            context = self._raw_message().get("context")
            product = (
                context.get("referred_product") if isinstance(context, dict) else None
            )
        if isinstance(product, dict) and product.get("product_retailer_id"):
            # the customer tapped "Message business" on a product of ours
            parts.append(
                Markup("<p><i>%s</i></p>")
                % _(
                    "🛍️ About product %(product)s",
                    product=str(product["product_retailer_id"]),
                )
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
            parts.append(self._shared_contacts_html())
        elif kind == "order":
            parts.append(self._order_html())
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
                    kind=self._kind_label().lower(),
                )
            )
        if not parts:
            parts.append(Markup("<i>%s</i>") % self._kind_label())
        return Markup("").join(parts)

    def _raw_message(self):
        """The message as Meta sent it (a dict, empty when unreadable)."""
        self.ensure_one()
        try:
            raw = json.loads(self.raw or "{}")
        except ValueError:
            return {}
        return raw if isinstance(raw, dict) else {}

    def _order_html(self):
        """A catalog order: the customer's note, then each product ordered
        (Meta's ``order.product_items``) with its quantity and price."""
        self.ensure_one()
        order = self._raw_message().get("order")
        order = order if isinstance(order, dict) else {}
        lines = []
        for item in order.get("product_items") or []:
            if not isinstance(item, dict):
                continue
            price = " ".join(
                str(item[key])
                for key in ("item_price", "currency")
                if item.get(key) not in (None, "")
            )
            line = f"{item.get('quantity') or 1} × {item.get('product_retailer_id')}"
            lines.append(line + (f" ({price})" if price else ""))
        parts = [Markup("🛒 %s") % (self.body or _("Order"))]
        parts += [escape(line) for line in lines]
        return Markup("<br/>").join(parts)

    def _kind_label(self):
        """What kind of message this is, in words (a voice message, an image)."""
        self.ensure_one()
        kind = self.message_type
        return dict(self._fields["message_type"]._description_selection(self.env)).get(
            kind, kind
        )

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
    def _receive_status(self, status, account=None):
        """Apply a status webhook (``tools.payload.StatusUpdate``), to a
        message of ``account`` when given (the number the status is about).

        Meta delivers statuses late, twice and out of order: a message never
        moves backwards (a read message stays read).
        """
        of_account = [("account_id", "=", account.id)] if account else []
        message = self.sudo().search(
            [("wa_message_id", "=", status.message_id), *of_account], limit=1
        )
        callback_ref = (status.raw or {}).get("biz_opaque_callback_data")
        if not message and callback_ref:
            # sent, but interrupted before its wamid was stored
            message = self.sudo().search(
                [
                    ("callback_ref", "=", callback_ref),
                    ("wa_message_id", "=", False),
                    *of_account,
                ],
                limit=1,
            )
            message.write({"wa_message_id": status.message_id, "sending_since": False})
            if message.state in ("sending", "failed"):
                if message.state == "failed":
                    message._clear_failure_in_chatter()
                message.write(
                    {
                        "state": "sent",
                        "error_code": 0,
                        "error_title": False,
                        "error_message": False,
                        "failure_cause": False,
                    }
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

    # ------------------------------------------------------------
    # Outbound
    # ------------------------------------------------------------

    @api.model
    def _queue_from_chatter(
        self, conversation, mail_message, text, attachments, reply_to_mail=None
    ):
        """Queue what a salesperson posted with "Send message".

        One attachment that takes a caption carries the text, when the text
        fits in a caption; otherwise the text goes first and each attachment
        follows as its own message (a salesperson who attached a picture to a
        long text expects both to arrive, not a refusal).
        ``reply_to_mail`` is the chatter message answered, if any.
        """
        reply_to = (
            self.sudo()
            .search([("mail_message_id", "=", reply_to_mail.id)], limit=1)
            .wa_message_id
            if reply_to_mail
            else False
        )
        common = {"reply_to_wa_id": reply_to or False}
        captioned = (
            len(attachments) == 1
            and outbound.media_kind(attachments.mimetype) in outbound.CAPTIONED_KINDS
            and not outbound.length_problem(text, outbound.MAX_CAPTION_LENGTH)
        )
        values_list = []
        if text and not captioned:
            values_list.append({**common, "message_type": "text", "body": text})
        for attachment in attachments:
            values_list.append(
                {
                    **common,
                    "message_type": outbound.media_kind(attachment.mimetype),
                    "body": text if captioned else False,
                    "attachment_ids": [(6, 0, attachment.ids)],
                    "media_mime_type": attachment.mimetype,
                    "media_filename": attachment.name,
                }
            )
        return self._queue_outbound(conversation, mail_message, values_list)

    @api.model
    def _queue_outbound(self, conversation, mail_message, values_list):
        """Create queued messages to ``conversation``'s customer, shown as
        ``mail_message`` in its chatter, and wake the send cron."""
        messages_sudo = self.sudo().create(
            [
                {
                    "conversation_id": conversation.id,
                    "direction": "out",
                    "state": "queued",
                    "mail_message_id": mail_message.id,
                    "author_user_id": self.env.user.id,
                    # echoed by Meta's statuses: finds a message whose
                    # wamid was never stored
                    "callback_ref": uuid.uuid4().hex,
                    **values,
                }
                for values in values_list
            ]
        )
        messages_sudo._create_notifications()
        conversation._inbox_on_messages(messages_sudo)
        self.env["ir.cron"]._whatsapp_wake("whatsapp_team.ir_cron_send_messages")
        return messages_sudo.with_env(self.env)

    def _create_notifications(self):
        """The chatter shows next to each message what became of it on
        WhatsApp (queued, sent, delivered, read, failed)."""
        customer = self.conversation_id[:1].partner_id
        Notification_sudo = self.env["mail.notification"].sudo()
        # a customer who is also a colleague following the chat has an inbox
        # notification of the message already: one per partner and message
        notified = Notification_sudo.search(
            [
                ("mail_message_id", "in", self.mail_message_id.ids),
                ("res_partner_id", "=", customer.id),
            ]
        ).mail_message_id
        Notification_sudo.create(
            [
                {
                    "mail_message_id": mail_message.id,
                    "author_id": mail_message.author_id.id,
                    "res_partner_id": customer.id
                    if mail_message not in notified
                    else False,
                    "notification_type": "whatsapp",
                    "is_read": True,
                    **self._notification_values(),
                }
                for mail_message in self.mail_message_id
            ]
        )

    def _notification_values(self):
        """The state of a chatter message sent as ``self``: the least
        advanced of its WhatsApp messages, or failed when one failed."""
        failed = self.filtered(lambda m: m.state == "failed")[:1]
        if failed:
            state = "failed"
        else:
            order = list(NOTIFICATION_STATUS)
            state = min(self.mapped("state"), key=order.index)
        return {
            "whatsapp_state": state,
            "notification_status": NOTIFICATION_STATUS[state],
            "failure_type": "whatsapp_refused" if failed else False,
            # why it waits, when Meta's throughput limits hold it back
            "failure_reason": failed.error_explanation
            if failed
            else self.filtered("waiting_reason")[:1].waiting_reason or False,
        }

    @api.model_create_multi
    def create(self, vals_list):
        self._check_linked_records(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        self._check_linked_records([vals])
        result = super().write(vals)
        # "sending" lasts the time of one call to Meta: the chatter goes
        # straight from queued to sent, which halves the queue's bus traffic
        if "state" in vals and vals["state"] != "sending":
            self._sync_notifications()
            # the inbox's rows show the state of each chat's last message
            self.conversation_id._inbox_notify()
        return result

    def _check_linked_records(self, vals_list):
        """The records a message is linked to (:data:`LINKED_RECORDS`) are
        the addon's own to set: a customer's edit or deletion, or a survey
        tap, changes them as superuser."""
        check_linked_records(self.env, LINKED_RECORDS, vals_list)

    def _sync_notifications(self):
        mail_messages = self.filtered(lambda m: m.direction == "out").mail_message_id
        if not mail_messages:
            return
        notifications_sudo = (
            self.env["mail.notification"]
            .sudo()
            .search(
                [
                    ("mail_message_id", "in", mail_messages.ids),
                    ("notification_type", "=", "whatsapp"),
                ]
            )
        )
        siblings_sudo = self.sudo().search(
            [("mail_message_id", "in", mail_messages.ids), ("direction", "=", "out")]
        )
        for notification in notifications_sudo:
            sent_as = siblings_sudo.filtered(
                lambda m, n=notification: m.mail_message_id == n.mail_message_id
            )
            notification.write(sent_as._notification_values())
        # the salesperson's open chatter follows without a reload
        notifications_sudo.mail_message_id._notify_message_notification_update()

    @api.model
    def _queue_template(self, conversation, template, values, header_value=""):
        """Queue ``template`` to ``conversation``'s customer, shown in its chatter.

        ``values`` maps each ``{{n}}`` of the body to its text;
        ``header_value`` is the text of the header's ``{{1}}``, if it has one.
        """
        template._check_sendable()
        conversation._check_number_can_send()
        if template.category == "marketing" and conversation.opted_out:
            raise UserError(
                _(
                    "%(customer)s asked not to receive marketing messages (they "
                    "opted out, or their number is on the blacklist). Send a "
                    "utility template, or wait until they opt in again. Nothing "
                    "was sent.",
                    customer=conversation.partner_id.name or conversation.name,
                )
            )
        too_long = template._values_too_long(values, header_value)
        if too_long:
            raise UserError(
                _(
                    "Too long for WhatsApp: %(problems)s. Shorten the text. "
                    "Nothing was sent.",
                    problems=too_long,
                )
            )
        text = outbound.fill_template(template.body or "", values)
        # the sender answers this chat; the template is shown as theirs
        conversation.check_access("write")
        mail_message = conversation.sudo()._message_post_whatsapp(
            body=Markup(whatsapp_to_html(template._render_text(values, header_value))),
            author_id=self.env.user.partner_id.id,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        return self._queue_outbound(
            conversation,
            mail_message,
            [
                {
                    "message_type": "template",
                    "body": text,
                    "template_id": template.id,
                    "template_values": template._serialize_values(values, header_value),
                }
            ],
        )

    @api.model
    def _cron_send_queue(self, limit=SEND_BATCH):
        """Send queued messages, oldest first, within each number's rate.

        At most once: a message is committed as "sending" before Meta is
        called and as "sent" with its wamid after. A crash in between leaves
        it "sending": it is never sent again, its status webhooks (which carry
        our ``callback_ref``) still find it, and without them it is marked
        failed after a while so the salesperson knows to check. A call that
        left but got no answer (read timeout, connection dropped) is failed
        the same way at once; only a call that never reached Meta is retried.
        """
        auto_commit = not odoo_module.current_test
        self._fail_stale_sending()
        recent = defaultdict(deque)  # account id -> send times in the last second
        done = 0
        waited = 0.0
        while done < limit:
            # the SQL below reads messages and numbers (token state)
            self.env.flush_all()
            now = fields.Datetime.now()
            self.env.cr.execute(
                """
                SELECT m.id FROM whatsapp_message m
                  JOIN whatsapp_account a ON a.id = m.account_id
                  JOIN whatsapp_conversation c ON c.id = m.conversation_id
                 WHERE m.state = 'queued' AND m.direction = 'out'
                   AND a.token_state = 'valid' AND a.active
                   AND (m.next_attempt_at IS NULL OR m.next_attempt_at <= %(now)s)
                   AND (a.throttled_until IS NULL OR a.throttled_until <= %(now)s)
                   AND (c.throttled_until IS NULL OR c.throttled_until <= %(now)s)
                   AND (SELECT count(*) FROM whatsapp_message p
                         WHERE p.conversation_id = m.conversation_id
                           AND p.direction = 'out'
                           AND COALESCE(p.wa_timestamp, p.sending_since)
                               > %(since)s) < %(burst)s
                 ORDER BY m.id
                 LIMIT 1
                   FOR UPDATE OF m SKIP LOCKED
                """,
                {"now": now, "since": now - PAIR_WINDOW, "burst": PAIR_BURST},
            )
            row = self.env.cr.fetchone()
            if not row:
                ready_at = self._next_ready_at(now)
                # a pause of a second or two (a number's throughput) is waited
                # out here: a trigger in the future only runs at the cron's
                # next poll, up to a minute later. Committed, nothing locked.
                wait = ready_at and (ready_at - datetime.utcnow()).total_seconds()
                if auto_commit and wait and 0 < wait <= SHORT_PAUSE:
                    if waited + wait <= MAX_PAUSES_WAITED:
                        time.sleep(wait)
                        waited += wait
                        continue
                self._trigger_for_paced(now, ready_at)
                break
            message = self.browse(row[0])
            message._wait_for_rate(recent[message.account_id.id])
            message.write({"state": "sending", "sending_since": fields.Datetime.now()})
            if auto_commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit
            message._send_now()
            done += 1
            if auto_commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit
        return done

    @api.model
    def _next_ready_at(self, now):
        """When the first queued message may go, as far as its own retry
        delay and Meta's throttling of its customer or number say (``now``
        for one held by the pair rate only); None when none is queued."""
        self.env.cr.execute(
            """
            SELECT min(GREATEST(m.next_attempt_at, a.throttled_until,
                                c.throttled_until, %(now)s))
              FROM whatsapp_message m
              JOIN whatsapp_account a ON a.id = m.account_id
              JOIN whatsapp_conversation c ON c.id = m.conversation_id
             WHERE m.state = 'queued' AND m.direction = 'out'
               AND a.token_state = 'valid' AND a.active
            """,
            {"now": now},
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _trigger_for_paced(self, now, ready_at):
        """Come back for messages held by a customer's pair rate, or by
        Meta's throttling of their customer or number: when the first of
        them may go."""
        if ready_at:
            self.env["ir.cron"]._whatsapp_wake(
                "whatsapp_team.ir_cron_send_messages", max(ready_at, now + PAIR_RETRY)
            )

    def _wait_for_rate(self, sent_times):
        # never more than the number's messages per second
        rate = max(self.account_id._send_rate(), 1)
        now = time.monotonic()
        while sent_times and now - sent_times[0] >= 1:
            sent_times.popleft()
        if len(sent_times) >= rate:
            time.sleep(max(0, 1 - (now - sent_times[0])))
            sent_times.popleft()
        sent_times.append(time.monotonic())

    def _send_now(self):
        """Call Meta for this message and record the outcome."""
        self.ensure_one()
        conversation = self.conversation_id
        client = self.account_id._get_graph_client()
        try:
            # a failure here undoes what preparing wrote: nothing left yet
            with self.env.cr.savepoint():
                payload = self._prepare_send_payload(client)
        except GraphError as error:
            self._record_send_error(error)
            return False
        except psycopg2.OperationalError as error:
            # another worker held what preparing writes (a template's media
            # id): nothing is wrong with the message, it goes out later
            _logger.info(
                "WhatsApp message %s: preparation met a concurrent update: %s",
                self.id,
                error,
            )
            self._record_send_error(
                TransientError(_("The database was busy; the message will be sent."))
            )
            return False
        except UserError as error:
            # a reason meant for people: it is shown as it is
            self._fail_preparation(str(error))
            return False
        except Exception:
            # a bug or bad data in this message only: the batch goes on
            _logger.exception(
                "WhatsApp message %s could not be prepared for sending", self.id
            )
            self._fail_preparation()
            return False
        try:
            wamid = client.send_message(payload)
        except GraphError as error:
            self._record_send_error(error)
            return False
        self.write(
            {
                "wa_message_id": wamid,
                "state": "sent",
                "wa_timestamp": fields.Datetime.now(),
                "send_attempts": self.send_attempts + 1,
                "sending_since": False,
                "next_attempt_at": False,
                "throttled_since": False,
                "error_code": 0,
                "error_title": False,
                "error_message": False,
                "failure_cause": False,
            }
        )
        conversation.last_message_at = self.wa_timestamp
        self._end_throttling()
        return True

    def _prepare_send_payload(self, client):
        """The ``/messages`` body of this message; media is uploaded first."""
        self.ensure_one()
        conversation = self.conversation_id
        extra = {"reply_to": self.reply_to_wa_id or "", "callback": self.callback_ref}
        if self.message_type == "template":
            return self.template_id.sudo()._prepare_message_payload(
                conversation, self.template_values, client, **extra
            )
        if self.message_type == "text":
            return outbound.text_payload(
                conversation.wa_id,
                conversation.wa_user_id,
                self.body or "",
                **extra,
            )
        attachment_sudo = self.attachment_ids[:1].sudo()
        media_id = client.upload_media(
            attachment_sudo.raw, attachment_sudo.mimetype, attachment_sudo.name
        )
        return outbound.media_payload(
            conversation.wa_id,
            conversation.wa_user_id,
            self.message_type,
            media_id,
            caption=self.body or "",
            filename=attachment_sudo.name,
            **extra,
        )

    def _fail_preparation(self, reason=None):
        """Fail a message whose payload could not be built: it never left,
        and trying again as is would fail the same way."""
        self.ensure_one()
        reason = (
            _("This message was not sent: %(reason)s", reason=reason)
            if reason
            else _(
                "This message could not be prepared for WhatsApp (an "
                "attachment or a template value could not be read), so it "
                "was not sent. Send it again; if that fails too, an "
                "administrator will find the cause in the server log."
            )
        )
        self.write(
            {
                "state": "failed",
                "failed_at": fields.Datetime.now(),
                "sending_since": False,
                "send_attempts": self.send_attempts + 1,
                "error_code": 0,
                "error_title": _("Not sent"),
                "error_message": reason,
                "failure_cause": "preparation",
            }
        )
        self._show_failure_in_chatter()

    def _record_send_error(self, error):
        self.ensure_one()
        attempts = self.send_attempts + 1
        values = {
            "sending_since": False,
            "error_code": error.code or 0,
            "error_title": error.title or False,
            "error_message": error.details or error.message or str(error),
        }
        if isinstance(error, TokenError):
            # not the message's fault: it waits for a new token
            self.write({**values, "state": "queued"})
            self.account_id._set_token_expired(error)
            return
        if isinstance(error, UnconfirmedSendError):
            # Meta may already have it: sending it again could deliver it twice
            _logger.warning(
                "WhatsApp message %s: no answer from Meta, not sent again: %s",
                self.id,
                error,
            )
            self._fail_interrupted(
                _(
                    "The connection to WhatsApp dropped while this message was "
                    "being sent: it may or may not have reached the customer. "
                    "Check the chat before sending it again."
                ),
                send_attempts=attempts,
            )
            return
        scope = (
            outbound.throttle_scope(error.code, error.http_status)
            if isinstance(error, ThrottleError)
            else None
        )
        if scope:
            if self._record_throttle(error, scope, values):
                return
            # throttled for a whole day: it fails, someone must look
        elif error.retryable and attempts - self.throttled_attempts < SEND_ATTEMPTS:
            self.write(
                {
                    **values,
                    "state": "queued",
                    "send_attempts": attempts,
                    "next_attempt_at": fields.Datetime.now()
                    + timedelta(seconds=min(2**attempts, 600)),
                }
            )
            self.env.ref("whatsapp_team.ir_cron_send_messages")._trigger(
                self.next_attempt_at
            )
            return
        self.write(
            {
                **values,
                "state": "failed",
                "send_attempts": attempts,
                "failed_at": fields.Datetime.now(),
            }
        )
        self._show_failure_in_chatter()

    def _show_failure_in_chatter(self):
        for message in self.filtered("mail_message_id"):
            if message.failure_cause:
                # already a full sentence, and maybe it was delivered
                text = message.error_explanation
            else:
                text = _(
                    "Not delivered on WhatsApp: %(reason)s",
                    reason=message.error_explanation,
                )
            note = Markup(FAILURE_NOTE) % text
            message.mail_message_id.sudo().body = message.mail_message_id.body + note

    def _clear_failure_in_chatter(self):
        """It was delivered after all: the warning goes."""
        for message in self.filtered("mail_message_id"):
            body = message.mail_message_id.body or ""
            cleared = FAILURE_NOTE_PATTERN.sub("", body)
            if cleared != body:
                message.mail_message_id.sudo().body = Markup(cleared)

    @api.model
    def _fail_stale_sending(self):
        stale_sudo = self.sudo().search(
            [
                ("state", "=", "sending"),
                ("sending_since", "<", fields.Datetime.now() - STALE_SENDING),
            ]
        )
        stale_sudo._fail_interrupted(
            _(
                "Sending was interrupted: the message may or may not have "
                "reached the customer. Check the chat before sending it again."
            )
        )

    def _fail_interrupted(self, reason, **values):
        """Fail messages Meta may or may not have accepted, never to be sent
        again automatically. A late status webhook (it carries our
        ``callback_ref``) still marks them sent."""
        if not self:
            return
        self.write(
            {
                **values,
                "state": "failed",
                "failed_at": fields.Datetime.now(),
                "sending_since": False,
                "next_attempt_at": False,
                "error_code": 0,
                "error_title": _("Interrupted"),
                "error_message": reason,
                "failure_cause": "interrupted",
            }
        )
        self._show_failure_in_chatter()

    @api.model
    def _explain_error(self, code, meta_text=""):
        """Meta's error, in words a salesperson can act on."""
        explanations = {
            131047: _(
                "more than 24 hours have passed since the customer last wrote. "
                "Send an approved template to reopen the conversation."
            ),
            131026: _(
                "WhatsApp could not deliver it: the number may not use WhatsApp "
                "or the customer's app is out of date. Check the number or "
                "contact the customer another way."
            ),
            # a throttled message fails only after waiting a whole day
            130429: _(
                "WhatsApp kept limiting how fast this number may send for a "
                "whole day. Send it again later; if it keeps happening, ask an "
                "administrator to check the number's throughput in WhatsApp "
                "Manager."
            ),
            131056: _(
                "WhatsApp kept limiting how many messages this customer may get "
                "for a whole day. Send it again later."
            ),
            80007: _(
                "WhatsApp kept limiting this business account's sending for a "
                "whole day. Send it again later; an administrator can check the "
                "account's limits in WhatsApp Manager."
            ),
            4: _(
                "WhatsApp kept limiting the app's calls for a whole day. Send it "
                "again later; an administrator can check the app's rate limit "
                "in the Meta App Dashboard."
            ),
            131048: _(
                "Meta limits this number because customers reported messages "
                "as spam. Wait before sending more, and ask an administrator to "
                "check the number's quality in WhatsApp Manager."
            ),
            131049: _(
                "Meta held back this marketing message to avoid tiring the "
                "customer. Try later or with another template."
            ),
            131051: _(
                "WhatsApp does not carry this kind of message. Send text, an "
                "image, a video, audio or a document."
            ),
            132000: _(
                "the template's variables do not match the approved template. "
                "Check the values you filled in."
            ),
            132001: _(
                "the template does not exist in this language, or is not "
                "approved yet. Pick another template or language."
            ),
            190: _(
                "the number's access token expired or was revoked. An "
                "administrator must paste a new one on the number; messages "
                "wait until then."
            ),
            368: _(
                "Meta blocked this number for a policy violation. An "
                "administrator must check it in WhatsApp Manager."
            ),
            131031: _(
                "the WhatsApp account is locked. An administrator must check it "
                "in WhatsApp Manager."
            ),
        }
        if code in explanations:
            return explanations[code]
        if meta_text:
            return _(
                "WhatsApp refused it (%(text)s). Check the message and send it "
                "again.",
                text=meta_text,
            )
        return _("WhatsApp refused it. Check the message and send it again.")


def _from_epoch(timestamp):
    if not timestamp:
        return False
    return datetime.fromtimestamp(int(timestamp), tz=timezone.utc).replace(tzinfo=None)
