from markupsafe import Markup

from odoo import _, api, fields, models

from .whatsapp_conversation_sending import CUSTOMER_SUBTYPE
from .whatsapp_message import MEDIA_TYPES

# history_context.status of a message of the app's history -> our state
APP_STATES = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "played": "read",
    "error": "failed",
    # still on the phone, waiting for a connection: it went out from there
    "pending": "sent",
}


# one concern of the model per file, as Odoo's mail spreads res.partner
class WhatsappMessage(models.Model):
    """Messages of the WhatsApp Business app on a number shared with it:
    those the business sends from the app (Meta's echoes) and the app's chat
    history. They are shown in the chats as they happened, and none of them
    is ever sent through the API."""

    _inherit = "whatsapp.message"  # pylint: disable=consider-merging-classes-inherited

    message_type = fields.Selection(
        selection_add=[("media_placeholder", "File kept on the phone")],
        ondelete={
            "media_placeholder": lambda messages: messages.write(
                {"message_type": "other"}
            )
        },
    )
    app_origin = fields.Selection(
        [
            ("echo", "Sent from the WhatsApp Business app"),
            ("history", "Imported from the WhatsApp Business app"),
        ],
        string="From the Business App",
        readonly=True,
        index="btree_not_null",
        help="Written in the WhatsApp Business app on the phone that shares "
        "this number: sent from there, or from the app's chat history.",
    )

    @api.model
    def _receive_app_message(self, account, app_message, origin):
        """Store a message of the WhatsApp Business app
        (``tools.payload.AppMessage``) in its chat: one the business sent from
        the app (``origin`` ``echo``) or one of the app's chat history
        (``history``). It keeps its time and direction and is shown in the
        chat; nothing is sent, nobody is told.

        Idempotent: returns ``(message, created)``, the message stored the
        first time when Meta delivers it again. A history message stored as
        a placeholder gets its file when Meta sends it later.
        """
        inbound = app_message.message
        Message_sudo = self.sudo()
        existing = Message_sudo.search([("wa_message_id", "=", inbound.message_id)])
        if existing:
            existing._complete_placeholder(inbound)
            return existing, False
        Conversation_sudo = self.env["whatsapp.conversation"].sudo()
        # looked up again once the identity lock is held, as for a
        # customer's message
        conversation, existing = Conversation_sudo._get_or_create_for_message(
            account, inbound.sender, inbound.message_id
        )
        if existing:
            existing._complete_placeholder(inbound)
            return existing, False
        message = Message_sudo.create(
            self._prepare_app_values(conversation, app_message, origin)
        )
        if message.media_state == "pending":
            # downloaded apart, as a customer's file (_cron_fetch_media)
            message._fetch_media_later()
        message._post_app_message_in_chatter()
        return message, True

    @api.model
    def _prepare_app_values(self, conversation, app_message, origin):
        inbound = app_message.message
        values = self._prepare_inbound_values(conversation, inbound)
        values["app_origin"] = origin
        if inbound.type == "media_placeholder":
            values["message_type"] = "media_placeholder"
        if app_message.outgoing:
            state = APP_STATES.get(app_message.status, "sent")
            values.update(direction="out", state=state)
            if state == "failed":
                values["failed_at"] = values["wa_timestamp"]
        return values

    def _complete_placeholder(self, inbound):
        """Meta sends the file of a recent history message after the
        message itself: the placeholder becomes the photo, video, audio or
        document, downloaded and shown in the chat."""
        self.ensure_one()
        if self.message_type != "media_placeholder" or not inbound.media:
            return
        self.write(
            {
                "message_type": inbound.type
                if inbound.type in MEDIA_TYPES
                else "other",
                "body": inbound.body or self.body,
                "media_id": inbound.media.media_id,
                "media_mime_type": inbound.media.mime_type,
                "media_filename": inbound.media.filename,
                "media_state": "pending",
            }
        )
        self._fetch_media_later()
        if self.mail_message_id:
            # on its way: the chat says so, and shows it when it arrives
            self.mail_message_id.sudo().body = self._chatter_body()
            self._show_changed_line()

    def _post_app_message_in_chatter(self):
        """Show the message in its chat, at the time it was written: the
        customer's as theirs, the business's as the app's. It notifies
        nobody: the customer's words were read on the phone, and what the
        business sends is its own."""
        self.ensure_one()
        conversation = self.conversation_id
        if self.direction == "in":
            author = conversation.partner_id
            subtype = CUSTOMER_SUBTYPE
        else:
            author = conversation.account_id._app_partner()
            subtype = "mail.mt_comment"
        mail_message = conversation.with_context(
            mail_create_nosubscribe=True
        )._message_post_whatsapp(
            whatsapp_message=self,
            body=self._chatter_body(),
            author_id=author.id or False,
            email_from=author.email_formatted or author.name or conversation.name,
            message_type="comment",
            subtype_xmlid=subtype,
            attachment_ids=self.attachment_ids.ids,
            date=self.wa_timestamp or fields.Datetime.now(),
        )
        self.mail_message_id = mail_message.id
        if self.direction == "out":
            # its ticks, as for what the team sends
            self._create_notifications()

    def _compute_body_html(self):
        result = super()._compute_body_html()
        # the business's files kept on the phone say so too, in the
        # partner's and the lead's history
        for message in self.filtered(lambda m: m.message_type == "media_placeholder"):
            message.body_html = message._chatter_body()
        return result

    def _chatter_body(self):
        if self.message_type != "media_placeholder":
            return super()._chatter_body()
        return Markup("<i>%s</i>") % _(
            "📎 A photo, video, voice message or document from before the "
            "number was connected to Odoo: WhatsApp does not pass it on, it "
            "stays on the phone."
        )
