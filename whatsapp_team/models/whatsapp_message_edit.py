"""A customer, or the business from the WhatsApp Business app, edits or
deletes a message.

On a number shared with the WhatsApp Business app, Meta tells of it
(messages of type ``edit`` and ``revoke``, the business's own among the
app's echoes): the chat shows the message as the phones now do, edited or
deleted, without a new line, a reopened chat or an answer asked of anyone.
An edit or deletion of a message the chat never had is kept as a message of
its own, so nothing written is lost.
"""

from markupsafe import Markup

from odoo import api, fields, models

from .whatsapp_message import _from_epoch

CHANGES = ("edit", "revoke")


class WhatsappMessage(models.Model):
    _inherit = "whatsapp.message"  # pylint: disable=consider-merging-classes-inherited

    edited_at = fields.Datetime(
        "Edited",
        readonly=True,
        help="When the customer (or the business, from the WhatsApp Business "
        "app) last edited this message. The text is the edited one; the "
        "original is kept in the message as Meta sent it.",
    )
    revoked_at = fields.Datetime(
        "Deleted",
        readonly=True,
        help="When the customer (or the business, from the WhatsApp Business "
        "app) deleted this message for everyone: its words and files are "
        "gone from the chat, as from their phones.",
    )

    @api.model
    def _receive_inbound(self, account, inbound):
        if inbound.type in CHANGES:
            original_sudo = self._changed_by(account, inbound)
            if original_sudo:
                original_sudo._apply_customer_change(inbound)
                return original_sudo
        return super()._receive_inbound(account, inbound)

    @api.model
    def _receive_app_message(self, account, app_message, origin):
        inbound = app_message.message
        if inbound.type in CHANGES:
            direction = "out" if app_message.outgoing else "in"
            original_sudo = self._changed_by(account, inbound, direction)
            if original_sudo:
                original_sudo._apply_customer_change(inbound)
                return original_sudo, False
        return super()._receive_app_message(account, app_message, origin)

    @api.model
    def _changed_by(self, account, inbound, direction="in"):
        """The message ``inbound`` edits or deletes, in the chat of its
        customer on this number: one the customer sent (``direction``
        ``in``), or one the business did (``out``); or nothing. Read as
        superuser: only webhook processing calls this, as it calls
        ``_receive_inbound``, after the body's signature was checked."""
        if not inbound.original_message_id:
            return self.browse()
        original_sudo = self.sudo().search(
            [
                ("wa_message_id", "=", inbound.original_message_id),
                ("direction", "=", direction),
            ],
            limit=1,
        )
        chat = original_sudo.conversation_id
        sender = inbound.sender
        theirs = (sender.wa_id and sender.wa_id == chat.wa_id) or (
            sender.user_id and sender.user_id == chat.wa_user_id
        )
        if not original_sudo or chat.account_id != account or not theirs:
            return self.browse()
        return original_sudo

    def _apply_customer_change(self, inbound):
        """Edit or delete this message as its writer did, in the chat and
        on the screens that show it. A deleted message stays deleted; an
        edit older than the one shown is not applied (Meta may deliver
        them out of order)."""
        self.ensure_one()
        when = _from_epoch(inbound.timestamp) or fields.Datetime.now()
        if self.revoked_at:
            return
        if inbound.type == "revoke":
            values = {"revoked_at": when, "body": False}
            if self.media_state in ("pending", "failed"):
                values["media_state"] = "none"  # not downloaded any more
            # the chat's files, and their copies on the lead: only the
            # lead's own files (the copy is a chatter message those who may
            # write the lead may change: another file put on it stays)
            copy_sudo = self.lead_message_id.sudo()
            files_sudo = self.attachment_ids.sudo() | copy_sudo.attachment_ids.filtered(
                lambda file: (file.res_model, file.res_id)
                == (copy_sudo.model, copy_sudo.res_id)
            )
            self.write(values)
            files_sudo.unlink()
        else:
            if self.edited_at and when < self.edited_at:
                return
            self.write({"edited_at": when, "body": inbound.body or self.body})
        self._refresh_chatter_body()
        self._show_changed_line()
        self.conversation_id._inbox_notify()

    def _chatter_body(self):
        if self.revoked_at:
            return Markup("<p><i>%s</i></p>") % (
                self.env._("🚫 Deleted from the WhatsApp Business app.")
                if self.direction == "out"
                else self.env._("🚫 The customer deleted this message.")
            )
        body = super()._chatter_body()
        if self.edited_at:
            body += Markup(" <small><i>%s</i></small>") % self.env._("(edited)")
        return body


class WhatsappConversation(models.Model):
    _inherit = "whatsapp.conversation"  # pylint: disable=consider-merging-classes-inherited

    def _inbox_preview_text(self, message):
        if message.revoked_at:
            return self.env._("🚫 Deleted message")
        return super()._inbox_preview_text(message)
