from odoo import models
from odoo.exceptions import AccessError

from odoo.addons.mail.tools.discuss import Store

# what a user may change of any line: their own star, a pin; never its words
HARMLESS_FIELDS = frozenset({"starred_partner_ids", "pinned_at"})


def words_kept_text(env):
    """Why a line WhatsApp carried cannot be changed, in the user's words."""
    return env._(
        "A WhatsApp message cannot be changed or deleted once sent or "
        "received: the customer keeps it as it was. Send a new message, "
        "or write a note for the team."
    )


class MailMessage(models.Model):
    """The lines WhatsApp carried stay as they were, whatever path asks:
    the chatter's edit refuses them (``whatsapp.conversation.
    _check_can_update_message_content``), and so do ``write`` and
    ``unlink``, which Odoo allows to whoever may change the document."""

    _inherit = "mail.message"

    def write(self, vals):
        if not self.env.su and vals.keys() - HARMLESS_FIELDS:
            self._check_whatsapp_words_kept()
        return super().write(vals)

    def unlink(self):
        if not self.env.su:
            self._check_whatsapp_words_kept()
        return super().unlink()

    def _check_whatsapp_words_kept(self):
        """Refuse to change these messages if one is a chat's line that is
        not a note (a customer's message, what went out, an automatic reply,
        an event of the chat) or a lead's copy of a WhatsApp message."""
        if not self:
            return
        # sudo: what the messages are, to refuse; nothing is returned
        messages_sudo = self.sudo()
        note_id = self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_note")
        if any(
            message.model == "whatsapp.conversation"
            and message.subtype_id.id != note_id
            for message in messages_sudo
        ):
            raise AccessError(words_kept_text(self.env))
        WaMessage_sudo = self.env["whatsapp.message"].sudo()
        if WaMessage_sudo.search_count([("lead_message_id", "in", self.ids)], limit=1):
            raise AccessError(words_kept_text(self.env))

    def _extras_to_store(self, store: Store, format_reply):
        """A salesperson's answer quoting a customer's message shows the
        message it answers, as a reply in Discuss does (Odoo sends it for
        Discuss channels only)."""
        result = super()._extras_to_store(store, format_reply=format_reply)
        if format_reply:
            # sudo: mail.message: the parent is a message of the same chat
            # (whatsapp.conversation._whatsapp_clean_post_values)
            for message in self.sudo().filtered(
                lambda m: m.model == "whatsapp.conversation" and m.parent_id
            ):
                store.add(
                    message,
                    {"parentMessage": Store.one(message.parent_id, format_reply=False)},
                )
        return result
