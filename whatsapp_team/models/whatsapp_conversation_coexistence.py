from odoo import SUPERUSER_ID, api, fields, models

from ..tools import phone as phone_tools
from ..tools.payload import Identity
from .whatsapp_conversation_inbox import _message_rank


# one concern of the model per file, as Odoo's mail spreads res.partner
class WhatsappConversation(models.Model):
    """A chat on a number shared with the WhatsApp Business app: what the
    business sends from the app answers the customer, the app's history
    comes in as it happened, and the app's contacts are the customers'
    names."""

    _inherit = "whatsapp.conversation"  # pylint: disable=consider-merging-classes-inherited

    def _on_app_echo(self, message):
        """The business answered from the WhatsApp Business app: the chat
        moves up with it and is answered, as by a salesperson's reply (the
        reply activity goes, the customer no longer waits, what they wrote
        was read on the phone). Nobody in Odoo answered: nobody is given the
        chat. The 24-hour window is the customer's alone: it is left as it
        was."""
        self.ensure_one()
        chat_sudo = self.sudo()
        when = message.wa_timestamp or fields.Datetime.now()
        if not chat_sudo.last_message_at or when > chat_sudo.last_message_at:
            chat_sudo.last_message_at = when
        self._inbox_on_messages(message)
        # the system's answer: it claims nothing (see _on_agent_reply)
        self.with_user(SUPERUSER_ID)._on_agent_reply()
        if chat_sudo.unread_count:
            chat_sudo.unread_count = 0

    def _on_app_history(self, messages):
        """``messages`` of the app's history came into this chat: they keep
        their time, and the chat takes its place among the others by its
        latest message. They are old: nobody is told, given the chat or
        asked to answer, no automatic reply goes, nothing is unread, and the
        24-hour window stays as it was. A chat that holds nothing but
        history is done: the customer's next message reopens it."""
        self.ensure_one()
        chat_sudo = self.sudo()
        latest = max(filter(None, messages.mapped("wa_timestamp")), default=False)
        if latest and (
            not chat_sudo.last_message_at or latest > chat_sudo.last_message_at
        ):
            chat_sudo.last_message_at = latest
        # the latest written, of the preview and these: a chat's history may
        # be thousands of messages, each an item of its own
        latest_message = max(
            messages.sudo() | chat_sudo.last_wa_message_id, key=_message_rank
        )
        if latest_message != chat_sudo.last_wa_message_id:
            chat_sudo.last_wa_message_id = latest_message
        if (
            chat_sudo.state == "open"
            and not chat_sudo.user_id
            and not chat_sudo.waiting_since
            and not self._holds_more_than_history()
        ):
            chat_sudo.with_context(mail_notrack=True).state = "done"

    def _holds_more_than_history(self):
        self.ensure_one()
        return bool(
            self.env["whatsapp.message"]
            .sudo()
            .search_count(
                [("conversation_id", "=", self.id), ("app_origin", "!=", "history")],
                limit=1,
            )
        )

    def _inbox_preview(self):
        preview = super()._inbox_preview()
        message = self.last_wa_message_id
        if preview and message.app_origin and message.direction == "out":
            preview["author"] = "business_app"
        return preview

    # ------------------------------------------------------------
    # The app's contacts
    # ------------------------------------------------------------

    @api.model
    def _partner_from_app_contact(self, account, contact):
        """The partner of a contact of the WhatsApp Business app
        (``tools.payload.AppContact``), found by number as a customer's
        message finds it, else created: never a second one. The name typed
        in the app replaces one WhatsApp gave (the customer's profile name,
        or their number), never one typed in Odoo. Returns the partner in
        the caller's environment, or an empty recordset for a number
        WhatsApp cannot have."""
        phone_key = phone_tools.wa_id_key(contact.wa_id)
        Partner_sudo = self.env["res.partner"].sudo()
        if not phone_key:
            return self.env["res.partner"]
        # the same lock as a first message from this number: one partner
        self._lock_identity(phone_key, None)
        name = contact.full_name or contact.first_name
        partner_sudo = Partner_sudo._whatsapp_find_by_key(phone_key, account).sudo()
        if not partner_sudo:
            identity = Identity(wa_id=contact.wa_id, profile_name=name)
            partner_sudo = self._find_or_create_partner(account, identity, phone_key)
        elif name and partner_sudo.name != name:
            if self._named_by_whatsapp(partner_sudo, contact.wa_id):
                partner_sudo.name = name
        return partner_sudo.with_env(self.env)

    @api.model
    def _named_by_whatsapp(self, partner, wa_id):
        """Whether ``partner``'s name is one WhatsApp gave it: its number, or
        the profile name or username of one of its chats."""
        given = {
            partner.phone,
            partner.mobile,
            wa_id,
            f"+{wa_id}",
            phone_tools.international(f"+{wa_id}"),
        }
        chats_sudo = (
            self.sudo()
            .with_context(active_test=False)
            .search([("partner_id", "=", partner.id)])
        )
        given |= set(chats_sudo.mapped("profile_name"))
        given |= set(chats_sudo.mapped("wa_username"))
        return partner.name in given - {False, None, ""}
