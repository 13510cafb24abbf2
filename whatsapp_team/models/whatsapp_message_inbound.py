"""What a customer message carries beyond its words, kept in fields.

Interactive replies (their id, title and description), template quick reply
buttons (payload and text), voice notes, the media checksum and shared
contact cards: a salesperson reads them, a filter or an automation rule
uses them, without digging into the raw JSON Meta sent.
"""

import dataclasses
import json
import logging

from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.fields import Command

from ..tools.graph_api import GraphError
from ..tools.payload import checksum_matches
from .whatsapp_message import MEDIA_RETRIES

_logger = logging.getLogger(__name__)


class MediaChecksumError(GraphError):
    """The downloaded file is not the one Meta's checksum describes."""

    retryable = True


def _answer_text(value):
    """An answer of a Flow as text: a word as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# one concern of the model per file, as the conversation's
class WhatsappMessage(models.Model):
    _inherit = "whatsapp.message"  # pylint: disable=consider-merging-classes-inherited

    interactive_type = fields.Selection(
        [
            ("button_reply", "Reply button"),
            ("list_reply", "List row"),
            ("nfm_reply", "Form (Flow)"),
        ],
        string="Interactive Reply",
        readonly=True,
        help="What the customer answered with: one of the reply buttons or a "
        "row of the list we sent them, or a WhatsApp Flow they filled in.",
    )
    interactive_reply_id = fields.Char(
        "Reply ID",
        readonly=True,
        index="btree_not_null",
        help="The id we gave the button or list row the customer picked (for a "
        "Flow, its name): what filters and automation rules test.",
    )
    interactive_reply_title = fields.Char(
        "Reply Title", readonly=True, help="The button's or row's title."
    )
    interactive_reply_description = fields.Char(
        "Reply Description", readonly=True, help="The list row's description."
    )
    button_payload = fields.Char(
        readonly=True,
        index="btree_not_null",
        help="The payload of the template's quick reply button the customer "
        "pressed, as the template defines it.",
    )
    button_text = fields.Char(
        readonly=True, help="The text the customer read on the button."
    )
    is_voice = fields.Boolean(
        "Voice Message",
        readonly=True,
        help="Recorded in WhatsApp as a voice note, not sent as an audio file.",
    )
    media_sha256 = fields.Char(
        "Media Checksum",
        readonly=True,
        help="Meta's SHA-256 of the file: the downloaded file is checked "
        "against it.",
    )
    media_checksum = fields.Selection(
        [("match", "Matches"), ("mismatch", "Does not match")],
        string="Checksum Check",
        readonly=True,
        help="Whether the downloaded file matched Meta's checksum. A file that "
        "does not is downloaded again; the last attempt keeps it, marked as "
        "possibly damaged.",
    )
    shared_contact_ids = fields.One2many(
        "whatsapp.message.contact", "message_id", string="Shared Contacts"
    )

    # ------------------------------------------------------------
    # Receiving
    # ------------------------------------------------------------

    @api.model
    def _prepare_inbound_values(self, conversation, inbound):
        values = super()._prepare_inbound_values(conversation, inbound)
        values.update(self._inbound_detail_values(inbound))
        return values

    @api.model
    def _inbound_detail_values(self, inbound):
        """The fields of this concern for ``inbound``
        (``tools.payload.InboundMessage``)."""
        values = {}
        if inbound.type == "interactive":
            kinds = dict(self._fields["interactive_type"].selection)
            values.update(
                interactive_type=inbound.interactive_type
                if inbound.interactive_type in kinds
                else False,
                interactive_reply_id=inbound.interactive_reply_id or False,
                interactive_reply_title=inbound.reply_title or False,
                interactive_reply_description=inbound.reply_description or False,
            )
        elif inbound.type == "button":
            values.update(
                button_payload=inbound.interactive_reply_id or False,
                button_text=inbound.reply_title or False,
            )
        if inbound.media:
            values.update(
                is_voice=inbound.type == "audio" and inbound.media.voice,
                media_sha256=inbound.media.sha256 or False,
            )
        if inbound.type == "contacts":
            Contact = self.env["whatsapp.message.contact"]
            cards = inbound.raw.get("contacts") or []
            values["shared_contact_ids"] = [
                Command.create(Contact._values_from_card(card, sequence))
                for sequence, card in enumerate(cards)
                if isinstance(card, dict)
            ]
        return values

    @api.model
    def _inbound_sender(self, inbound):
        """Who ``inbound`` comes from, to find their chat. WhatsApp's notice
        that a customer's ids changed finds the chat by the ids it had:
        ``previous_user_id`` when Meta gives it."""
        sender = inbound.sender
        if inbound.type == "system" and inbound.previous_user_id:
            sender = dataclasses.replace(sender, user_id=inbound.previous_user_id)
        return sender

    def _receive_system(self, inbound):
        """A system message: what it changes (the customer's number or user
        id), then a line in the chat saying so, as a notification of the
        system: never in the customer's name, never announced to the team."""
        self.ensure_one()
        conversation = self.conversation_id.sudo()
        text = conversation._apply_identity_change(inbound) or (
            self.body
            or self.env._(
                "WhatsApp sent a notice about this customer (%(kind)s).",
                kind=inbound.system_type or self.env._("system"),
            )
        )
        self.mail_message_id = conversation.with_context(
            mail_create_nosubscribe=True
        ).message_post(
            body=text,
            message_type="notification",
            date=self.wa_timestamp or fields.Datetime.now(),
        )

    # ------------------------------------------------------------
    # Media checksum
    # ------------------------------------------------------------

    def _check_media_checksum(self, content):
        """Compare a downloaded file with Meta's checksum.

        A file that does not match is not kept: the download counts as
        failed, says so, and is tried again. The last attempt keeps it all
        the same (Meta forgets the file after a week, and a wrong checksum is
        likelier than nothing), marked as possibly damaged.
        """
        self.ensure_one()
        matches = checksum_matches(content, self.media_sha256)
        if matches is None:
            return
        self.media_checksum = "match" if matches else "mismatch"
        if matches:
            return
        _logger.warning(
            "WhatsApp media %s of message %s does not match its checksum",
            self.media_id,
            self.wa_message_id,
        )
        if self.media_attempts + 1 < MEDIA_RETRIES:
            raise MediaChecksumError(
                self.env._(
                    "The file received does not match the checksum WhatsApp "
                    "gave: it may be damaged, and is downloaded again."
                )
            )

    # ------------------------------------------------------------
    # In the chat
    # ------------------------------------------------------------

    def _kind_label(self):
        if self.message_type == "audio" and self.is_voice:
            return self.env._("Voice message")
        return super()._kind_label()

    def _chatter_body(self):
        body = super()._chatter_body()
        if self.interactive_type == "nfm_reply":
            body += self._flow_answers_html()
        elif self.message_type == "interactive":
            body += self._call_permission_html()
        if self.media_state == "done" and self.media_checksum == "mismatch":
            body += Markup("<p><i>%s</i></p>") % self.env._(
                "This file does not match the checksum WhatsApp gave: it may "
                "be damaged. Ask the customer to send it again if it does not "
                "open."
            )
        return body

    def _flow_answers_html(self):
        """What the customer filled in a WhatsApp Flow (or an address
        message): Meta's ``nfm_reply.response_json``, a JSON string, shown
        field by field; the ``flow_token`` is ours, not theirs."""
        self.ensure_one()
        interactive = self._raw_message().get("interactive")
        reply = interactive.get("nfm_reply") if isinstance(interactive, dict) else None
        text = reply.get("response_json") if isinstance(reply, dict) else None
        try:
            answers = json.loads(text) if isinstance(text, str) else text
        except ValueError:
            answers = text
        if isinstance(answers, dict):
            lines = [
                f"{key}: {_answer_text(value)}"
                for key, value in answers.items()
                if key != "flow_token"
            ]
        elif answers:
            lines = [str(answers)]
        else:
            lines = []
        if not lines:
            return Markup("")
        lines = Markup("<br/>").join(escape(line) for line in lines)
        return Markup("<p>%s</p>") % lines

    def _call_permission_html(self):
        """The customer's answer to a request to call them (Calling API:
        ``interactive.call_permission_reply``, ``response`` accept or
        reject); empty for any other message."""
        self.ensure_one()
        interactive = self._raw_message().get("interactive")
        if not isinstance(interactive, dict):
            return Markup("")
        reply = interactive.get("call_permission_reply")
        if interactive.get("type") != "call_permission_reply" or not isinstance(
            reply, dict
        ):
            return Markup("")
        if reply.get("response") == "accept":
            text = (
                self.env._("📞 The customer accepts to be called, from now on.")
                if reply.get("is_permanent") is True
                else self.env._("📞 The customer accepts to be called for a while.")
            )
        else:
            text = self.env._("📞 The customer declines to be called.")
        return Markup("<p>%s</p>") % text

    def _shared_contacts_html(self):
        """Each shared card with every field Meta sent, and a link to add it
        to the contacts (or to the contact made from it)."""
        self.ensure_one()
        cards = self.shared_contact_ids
        if not cards:
            return Markup("👤 %s") % Markup("<br/>").join(
                escape(line) for line in self._shared_contacts_lines()
            )
        return Markup("").join(card._chatter_html() for card in cards)

    def _refresh_chatter_body(self):
        """Show again what changed since the message was posted (a contact
        made from one of its cards)."""
        for message in self.filtered("mail_message_id"):
            body = message._chatter_body()
            message.mail_message_id.sudo().write({"body": body})
            # the lead's copy, as the chat shows it now
            copy_sudo = message.lead_message_id.sudo()
            if copy_sudo:
                copy_sudo.write(
                    {
                        "body": message.conversation_id._lead_copy_body(
                            message, copy_sudo
                        )
                    }
                )
