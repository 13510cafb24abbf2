import json
import logging
from collections import defaultdict

from odoo import fields, models

from ..tools.payload import (
    APP_CONTACTS_FIELD,
    COEXISTENCE_FIELDS,
    ECHOES_FIELD,
    HISTORY_FIELD,
    is_own_number,
    parse_app_contacts,
    parse_history,
    parse_message_echoes,
    parse_webhook,
)
from .whatsapp_webhook_event import FIRST_PROCESSOR, UnknownNumberError

_logger = logging.getLogger(__name__)

# A history webhook may describe thousands of messages (Meta): a body with
# more items than this is processed as events of this many, each in its own
# transaction, so that none outlasts a worker's time limit.
ITEMS_PER_EVENT = 200


def _fields_of(item):
    """The fields of the changes an item's envelope holds (built by
    ``split_items``: an envelope of Meta's shape)."""
    return {
        change.get("field")
        for entry in item.payload.get("entry") or ()
        for change in entry.get("changes") or ()
    }


# one concern of the model per file, as Odoo's mail spreads res.partner
class WhatsappWebhookEvent(models.Model):
    """The webhook fields of a number shared with the WhatsApp Business app:
    ``smb_message_echoes`` (what the business sends from the app),
    ``history`` (the app's chat history, in phases and chunks) and
    ``smb_app_state_sync`` (the app's contacts). Each message and each
    contact is an item of its own (``tools.payload.split_items``)."""

    _inherit = "whatsapp.webhook.event"  # pylint: disable=consider-merging-classes-inherited

    def _process_items(self, items, isolated=True):
        if len(items) <= ITEMS_PER_EVENT:
            return super()._process_items(items, isolated=isolated)
        self._split_in_parts(items)
        return None

    def _split_in_parts(self, items):
        """Move the items of this large body to events of
        :data:`ITEMS_PER_EVENT` items each, processed in their order, each
        in its own transaction; this event is done."""
        self.ensure_one()
        values = []
        for start in range(0, len(items), ITEMS_PER_EVENT):
            part_items = items[start : start + ITEMS_PER_EVENT]
            body = dict(part_items[0].payload)
            body["entry"] = [
                entry for item in part_items for entry in item.payload["entry"]
            ]
            account = self._account_of(part_items[0].phone_number_id)
            values.append(
                {
                    "parent_id": self.id,
                    "payload": json.dumps(body),
                    "signature": self.signature,
                    "account_id": (account or self.account_id).id,
                }
            )
        # created in their order: the processors take them oldest first
        parts = self.create(values)
        self.write(
            {
                "state": "done",
                "attempts": self.attempts + 1,
                "error": False,
                "next_attempt_at": False,
                "processed_at": fields.Datetime.now(),
                "note": self.env._(
                    "%(total)s items, processed as events %(events)s.",
                    total=len(items),
                    events=", ".join(f"#{part.id}" for part in parts),
                ),
            }
        )
        self.env.ref(FIRST_PROCESSOR)._trigger()
        return parts

    def _process_item(self, item, signed):
        if not _fields_of(item) & set(COEXISTENCE_FIELDS):
            return super()._process_item(item, signed)
        changes = [
            change
            for change in parse_webhook(item.payload).others
            if change.field in COEXISTENCE_FIELDS
        ]
        notes = [self._process_app_change(change, signed) for change in changes]
        return "\n".join(note for note in notes if note) or None

    def _process_app_change(self, change, signed):
        """Process a change of a field of the WhatsApp Business app; returns a
        note for administrators when something was left aside."""
        number_id = (change.value.get("metadata") or {}).get("phone_number_id")
        account = self._account_of(number_id)
        if not account:
            # kept and retried, as a customer's message: adding the number
            # later recovers it
            raise UnknownNumberError(
                f"WhatsApp number {number_id} is not configured: add it under "
                "WhatsApp > Configuration > Numbers"
            )
        self._check_signed(account, signed)
        account._mark_coexistence()
        if change.field == ECHOES_FIELD:
            notes = [
                self._process_app_echo(account, echo)
                for echo in parse_message_echoes(change.value)
            ]
        elif change.field == HISTORY_FIELD:
            notes = [
                self._process_history_chunk(account, chunk)
                for chunk in parse_history(change.value)
            ]
        elif change.field == APP_CONTACTS_FIELD:
            Conversation_sudo = self.env["whatsapp.conversation"].sudo()
            for contact in parse_app_contacts(change.value):
                if contact.action == "add":
                    Conversation_sudo._partner_from_app_contact(account, contact)
            notes = []
        return "\n".join(note for note in notes if note) or None

    def _own_number_note(self, account, app_message):
        """A note when the app's message is with the number itself, which is
        no customer; else None."""
        message = app_message.message
        if not is_own_number(
            message.sender.wa_id,
            message.display_phone_number,
            account.display_phone_number,
            default_region=account._default_region,
        ):
            return None
        _logger.warning(
            "WhatsApp Business app message %s with number %s, its own: skipped",
            message.message_id,
            message.sender.wa_id,
        )
        return self.env._(
            "Message %(message)s of the WhatsApp Business app is with "
            "%(number)s, this WhatsApp number's own number: skipped, it would "
            "open a chat of the number with itself.",
            message=message.message_id,
            number=message.sender.wa_id,
        )

    def _process_app_echo(self, account, echo):
        note = self._own_number_note(account, echo)
        if note:
            return note
        Message_sudo = self.env["whatsapp.message"].sudo()
        message, created = Message_sudo._receive_app_message(account, echo, "echo")
        if created:
            message.conversation_id._on_app_echo(message)
        return None

    def _process_history_chunk(self, account, chunk):
        account._record_history_progress(chunk)
        Message_sudo = self.env["whatsapp.message"].sudo()
        imported = defaultdict(lambda: Message_sudo)
        notes = []
        for app_message in chunk.messages:
            note = self._own_number_note(account, app_message)
            if note:
                notes.append(note)
                continue
            message, created = Message_sudo._receive_app_message(
                account, app_message, "history"
            )
            if created:
                imported[message.conversation_id] |= message
        for conversation, messages in imported.items():
            conversation._on_app_history(messages)
        return "\n".join(notes) or None
