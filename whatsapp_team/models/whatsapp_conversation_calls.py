"""Calls in the team inbox: a call is the chat's latest news, as in WhatsApp's
own list of chats (the chat moves up, its line says "Missed call from the
customer"), until a message comes after it."""

from odoo import fields, models


class WhatsappConversation(models.Model):
    _inherit = "whatsapp.conversation"

    last_call_id = fields.Many2one(
        "whatsapp.call",
        readonly=True,
        ondelete="set null",
        help="The chat's latest call, shown in the inbox when nothing was "
        "written after it.",
    )

    def _whatsapp_system_fields(self):
        # the inbox's latest news, read as superuser: Meta's calls set it
        return super()._whatsapp_system_fields() | {"last_call_id"}

    def _show_call_in_inbox(self, call):
        """``call`` began or changed: it becomes the chat's latest news when
        it is newer than what the chat shows, and the inbox rows say so."""
        self.ensure_one()
        chat_sudo = self.sudo()
        when = call._time()
        latest_sudo = chat_sudo.last_call_id
        values = {}
        if latest_sudo != call and (not latest_sudo or when >= latest_sudo._time()):
            values["last_call_id"] = call.id
        if not chat_sudo.last_message_at or when > chat_sudo.last_message_at:
            values["last_message_at"] = when
        if values:
            chat_sudo.write(values)
        self._inbox_notify()

    def _inbox_preview(self):
        preview = super()._inbox_preview()
        call = self.sudo().last_call_id
        if not call:
            return preview
        message = self.last_wa_message_id
        if message and (message.wa_timestamp or message.create_date) > call._time():
            return preview
        return {
            "body": "📞 " + call._summary(),
            "direction": call.direction,
            "state": "call",
            "author": "customer" if call.direction == "in" else "system",
        }
