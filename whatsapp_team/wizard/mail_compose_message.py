from odoo import _, models
from odoo.exceptions import UserError


class MailComposeMessage(models.TransientModel):
    """Customers of a WhatsApp chat hear from the company on WhatsApp only:
    Odoo's composer never e-mails them from their chats."""

    _inherit = "mail.compose.message"

    def _action_send_mail_mass_mail(self, res_ids, auto_commit=False):
        if self.model == "whatsapp.conversation":
            raise UserError(
                _(
                    "Customers of WhatsApp chats are answered on WhatsApp, not "
                    "by e-mail: write in the chat, or send a template to many "
                    "customers from the list of contacts or leads."
                )
            )
        return super()._action_send_mail_mass_mail(res_ids, auto_commit=auto_commit)
