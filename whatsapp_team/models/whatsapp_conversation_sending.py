import logging
import math
from datetime import timedelta

from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_datetime

from ..tools import outbound, replies
from ..tools.batch import processor_batch
from ..tools.graph_api import GraphError
from .mail_message import words_kept_text

_logger = logging.getLogger(__name__)

# a customer's message in the chat: see _notify_get_recipients
CUSTOMER_SUBTYPE = "whatsapp_team.mt_customer_message"
# the inbox screen, where a chat is read and answered, when installed
INBOX_ACTION = "whatsapp_team.whatsapp_inbox_action"


# one concern of the model per file, as Odoo's mail spreads res.partner
class WhatsappConversation(models.Model):
    """Replies to the customer: the chatter's "Send message", read receipts
    and the typing indicator."""

    _inherit = "whatsapp.conversation"  # pylint: disable=consider-merging-classes-inherited

    last_read_wa_id = fields.Char(
        "Last Message Marked Read",
        readonly=True,
        copy=False,
        help="The customer's latest message we told WhatsApp was read.",
    )
    # Meta's pair rate (131056): too many messages to this customer in a
    # short time. Their messages wait; other customers' go on.
    throttled_until = fields.Datetime(
        "Sending Paused Until",
        readonly=True,
        copy=False,
        help="WhatsApp limits how many messages this customer may get in a "
        "short time: messages to them wait until then.",
    )
    throttle_hits = fields.Integer(readonly=True, copy=False)

    def _whatsapp_system_fields(self):
        return super()._whatsapp_system_fields() | {
            "last_read_wa_id",
            "throttled_until",
            "throttle_hits",
        }

    def _pause_sending(self, retry_after=None):
        """Hold back messages to this customer after Meta's pair rate
        answer; return until when."""
        self.ensure_one()
        chat_sudo = self.sudo()
        hits = chat_sudo.throttle_hits + 1
        now = fields.Datetime.now()
        until = now + timedelta(
            seconds=math.ceil(outbound.throttle_delay("pair", hits, retry_after))
        )
        chat_sudo.write(
            {
                "throttle_hits": hits,
                "throttled_until": max(until, chat_sudo.throttled_until or now),
            }
        )
        return chat_sudo.throttled_until

    def action_reply(self):
        """Reply from the partner or lead form, in a dialog."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Reply on WhatsApp"),
            "res_model": "whatsapp.reply",
            "view_mode": "form",
            "target": "new",
            "context": {"default_conversation_id": self.id},
        }

    def action_open_chat(self):
        """Open the chat where it is read and answered: the inbox screen
        when installed, else the chat's form. Only an action: the chat opens
        under the record rules."""
        self.ensure_one()
        if self.env["ir.model.data"]._xmlid_to_res_id(INBOX_ACTION):
            action = self.env["ir.actions.actions"]._for_xml_id(INBOX_ACTION)
            action["context"] = {"active_id": self.id}
            return action
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "views": [(False, "form")],
            "target": "current",
        }

    def action_send_template(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Send a WhatsApp template"),
            "res_model": "whatsapp.template.send",
            "view_mode": "form",
            "target": "new",
            "context": {"default_conversation_id": self.id},
        }

    # ------------------------------------------------------------
    # Read receipts and typing
    # ------------------------------------------------------------

    def action_mark_read(self):
        """Opened by a salesperson: the customer sees their messages read."""
        self.ensure_one()
        if not self.account_id.mark_read_on_open:
            return False
        return self._send_read_receipt(typing=False)

    def action_typing(self):
        """A salesperson is writing a reply: the customer sees "typing…"."""
        self.ensure_one()
        if not self.account_id.send_typing_indicator or not self._is_window_open():
            return False
        return self._send_read_receipt(typing=True)

    def _send_read_receipt(self, typing):
        # callers reach this through the web client: the salesperson must be
        # allowed to read this chat
        self.check_access("read")
        latest_sudo = (
            self.env["whatsapp.message"]
            .sudo()
            .search(
                [
                    ("conversation_id", "=", self.id),
                    ("direction", "=", "in"),
                    ("wa_message_id", "!=", False),
                ],
                order="wa_timestamp desc, id desc",
                limit=1,
            )
        )
        if not latest_sudo or self.account_id.token_state != "valid":
            return False
        if not typing and latest_sudo.wa_message_id == self.last_read_wa_id:
            return False  # WhatsApp already shows it read
        # reading all messages up to the latest_sudo is one call to Meta
        try:
            self.account_id.sudo()._get_graph_client().mark_read(
                latest_sudo.wa_message_id, typing=typing
            )
        except GraphError as error:
            # a courtesy to the customer: never in the salesperson's way
            _logger.info(
                "WhatsApp read receipt for %s not sent: %s", self.display_name, error
            )
            return False
        self.sudo().last_read_wa_id = latest_sudo.wa_message_id
        return True

    def _thread_to_store(self, store, /, *, fields=None, request_list=None):
        result = super()._thread_to_store(
            store, fields=fields, request_list=request_list
        )
        self._whatsapp_composer_to_store(store)
        return result

    def _whatsapp_composer_to_store(self, store):
        """What the chatter's composer needs of these chats: whether a free
        reply can go out, until when, and whether typing shows."""
        for conversation in self:
            store.add(
                conversation,
                {
                    "whatsapp_window_open": conversation._is_window_open(),
                    "whatsapp_window_until": conversation.window_expires_at,
                    "whatsapp_typing": conversation.account_id.send_typing_indicator,
                },
                as_thread=True,
            )

    # ------------------------------------------------------------
    # Sending from the chatter
    # ------------------------------------------------------------

    # a decorator is inherited from Python parents only, and this class
    # derives from models.Model: without it, the external API gets a record
    # it cannot marshal (an XML-RPC fault after the message went out)
    @api.returns("mail.message", lambda value: value.id)
    def message_post(self, **kwargs):
        """ "Send message" goes to the customer on WhatsApp; "Log note" stays here.

        Whoever posts must be allowed to write in the chat: Odoo would also
        let a follower post, and one who lost the chat may still follow it.
        Mentions reach only those who may read the chat, and a reply quotes
        only a message of this chat. Returns the new ``mail.message``; over
        the external API, its id."""
        self.check_access("write")
        self._whatsapp_clean_post_values(kwargs)
        # reply buttons or a list (whatsapp_conversation_interactive.py)
        interactive = kwargs.pop("whatsapp_interactive", None)
        if not self._whatsapp_is_sent(kwargs):
            if interactive:
                raise UserError(
                    _(
                        "Buttons and lists go to the customer: send them as a "
                        "message, not as a note. Nothing was posted."
                    )
                )
            return super().message_post(**kwargs)
        self.ensure_one()
        attachments = self.env["ir.attachment"].browse(
            kwargs.get("attachment_ids") or []
        )
        if kwargs.get("body"):
            # quick replies (canned responses) may hold {customer}, {company}…
            values = {
                key: escape(value) for key, value in self._placeholder_values().items()
            }
            # as in Odoo's message_post: a str body is text unless said HTML
            body = kwargs["body"]
            if not (kwargs.pop("body_is_html", False) and self.env.user._is_internal()):
                body = escape(body)
            body = Markup(replies.render_placeholders(str(body), values))
            # sanitised as mail.message's body field stores it: the customer
            # gets what the chatter shows, never what the sanitiser takes out
            Message = self.env["mail.message"]
            kwargs["body"] = Message._fields["body"].convert_to_cache(body, Message)
        text = outbound.html_to_whatsapp(kwargs.get("body"))
        spec = self._whatsapp_interactive_of_post(interactive, text)
        if spec:
            text = spec["body"]
            # the chat shows the message as the customer sees it, buttons too
            kwargs["body"] = self.env["whatsapp.message"]._interactive_html(spec)
        self._check_can_send(attachments, text)
        # read before posting: Odoo re-parents chatter replies to the thread root
        reply_to_mail = self.env["mail.message"].browse(kwargs.get("parent_id"))
        mail_message = super().message_post(**kwargs)
        if spec:
            self.env["whatsapp.message"]._queue_interactive_from_chatter(
                self,
                mail_message,
                spec,
                mail_message.attachment_ids or attachments,
                reply_to_mail=reply_to_mail.exists(),
            )
        else:
            self.env["whatsapp.message"]._queue_from_chatter(
                self,
                mail_message,
                text,
                mail_message.attachment_ids or attachments,
                reply_to_mail=reply_to_mail.exists(),
            )
        self._on_agent_reply()
        self._mirror_to_crm(mail_message)
        return mail_message

    def _message_post_whatsapp(self, whatsapp_message=None, **kwargs):
        """Show in the chat what WhatsApp carries without the chatter's
        "Send message": a customer's message, or a template or automatic
        reply its caller queues. Nothing is sent from here, and the lead gets
        its copy (the ``lead_message_id`` of ``whatsapp_message``, the
        message the line shows, if given).

        Only the addon's own code calls this, after its own checks: a context
        key would be the caller's to set (the external API and the chatter's
        route take a context)."""
        self.ensure_one()
        self._whatsapp_clean_post_values(kwargs)
        # the next message_post after ours: Odoo's own, never a send
        message = super().message_post(**kwargs)
        self._mirror_to_crm(message, whatsapp_message)
        return message

    def _whatsapp_clean_post_values(self, kwargs):
        """What a post on a chat may carry: the poster as its author (a
        message in the customer's name is one WhatsApp delivered), mentions
        of those who may read the chat (a mention would let anyone else read
        the message), and a reply to a message of this chat only."""
        self.ensure_one()
        if not self.env.su:
            kwargs.pop("author_id", None)
            kwargs.pop("email_from", None)
        if kwargs.get("partner_ids"):
            partners = self.env["res.partner"].browse(kwargs["partner_ids"])
            kwargs["partner_ids"] = self._whatsapp_readers(partners).ids
        parent = self.env["mail.message"].sudo().browse(kwargs.get("parent_id") or [])
        if parent and (parent.model, parent.res_id) != (self._name, self.id):
            kwargs.pop("parent_id")

    def _whatsapp_readers(self, partners):
        """Of ``partners``, those of internal users the rules let read this
        chat."""
        self.ensure_one()
        readers = self.env["res.partner"]
        for partner in partners:
            users = partner.sudo().user_ids.filtered(lambda user: not user.share)
            if any(self.with_user(user).has_access("read") for user in users):
                readers |= partner
        return readers

    def _check_can_update_message_content(self, messages):
        """What went out on WhatsApp, or came in from the customer, stays as
        it was: the customer's phone keeps it. Only the team's notes can be
        edited or deleted."""
        result = super()._check_can_update_message_content(messages)
        note = self.env.ref("mail.mt_note")
        if any(message.subtype_id != note for message in messages):
            raise UserError(words_kept_text(self.env))
        return result

    def _message_compute_author(
        self, author_id=None, email_from=None, raise_on_email=True
    ):
        # a chat is never e-mailed: a salesperson without an e-mail address
        # writes in it all the same
        return super()._message_compute_author(
            author_id, email_from, raise_on_email=False
        )

    def _mail_get_alias_domains(self, default_company=False):
        """As Odoo's: the alias domain of each chat's company, else the first
        one. A processor posts many customer messages before it commits: the
        first alias domain, which Odoo searches at every post when a company
        has none, is searched once a commit."""
        work = processor_batch(self.env.context)
        default_company = default_company or self.env.company
        if work is None or default_company.alias_domain_id:
            return super()._mail_get_alias_domains(default_company=default_company)
        companies = self._mail_get_companies(default=default_company)
        AliasDomain = self.env["mail.alias.domain"]
        first = AliasDomain
        if not all(company.alias_domain_id for company in companies.values()):
            if work.alias_domain_id is None:
                work.alias_domain_id = AliasDomain.search([], limit=1).id
            first = AliasDomain.browse(work.alias_domain_id)
        return {
            record.id: companies[record.id].alias_domain_id or first for record in self
        }

    def _message_compute_parent_id(self, parent_id):
        """A chat is no e-mail thread: a message's parent is the message it
        answers, if any, as in Discuss, never the chat's first message, which
        Odoo would look up at every post to thread e-mails under it."""
        return parent_id

    def _notify_get_reply_to(self, default=None):
        """As Odoo's, without looking for aliases of the chats: a chat owns
        no alias (it is no alias owner, and no alias names it as its
        parent), so its reply-to is its company's catch-all, or ``default``.
        Every post in a chat asks for it."""
        if not self:
            return super()._notify_get_reply_to(default=default)
        records_sudo = self.sudo()
        companies = records_sudo._mail_get_companies(default=self.env.company)
        reply_to = {}
        for record in records_sudo:
            company = companies[record.id]
            reply_to[record.id] = (
                self._notify_get_reply_to_formatted_email(
                    company.catchall_email,
                    record.display_name or "",
                    company=company,
                )
                if company.catchall_email
                else default
            )
        return reply_to

    def notify_cancel_by_type(self, notification_type):
        result = super().notify_cancel_by_type(notification_type)
        if notification_type == "whatsapp":
            self._notify_cancel_by_type_generic("whatsapp")
        return result

    def _whatsapp_is_sent(self, kwargs):
        if kwargs.get("message_type", "notification") != "comment":
            return False
        subtype_id = kwargs.get("subtype_id")
        subtype_xmlid = kwargs.get("subtype_xmlid")
        if subtype_id:
            return subtype_id == self.env["ir.model.data"]._xmlid_to_res_id(
                "mail.mt_comment"
            )
        return subtype_xmlid in ("mail.mt_comment", "mt_comment")

    def _check_number_can_send(self):
        """Every way of sending stops here while the number's token is refused."""
        self.ensure_one()
        if self.account_id.token_state != "valid":
            raise UserError(
                _(
                    "The WhatsApp number %(number)s needs a new access token: ask "
                    "an administrator. Nothing was sent.",
                    number=self.account_id.name,
                )
            )

    def _check_can_send(self, attachments, text):
        """Refuse, before anything is posted or sent, what WhatsApp would refuse."""
        self.ensure_one()
        if not text and not attachments:
            raise UserError(_("Write a message or attach a file to send on WhatsApp."))
        # measured as the customer gets it: quick replies' placeholders filled
        too_long = outbound.length_problem(text, outbound.MAX_TEXT_LENGTH)
        if too_long:
            raise UserError(
                _(
                    "WhatsApp takes at most %(limit)s characters in a message: "
                    "this one has %(length)s. Shorten it, or send it in several "
                    "messages. Nothing was sent.",
                    **too_long,
                )
            )
        self._check_number_can_send()
        if not self._is_window_open():
            if self.last_inbound_at:
                raise UserError(
                    _(
                        "The customer last wrote on %(when)s: WhatsApp only allows "
                        "free replies within 24 hours of that. Send an approved "
                        "template to reopen the conversation. Nothing was sent.",
                        when=format_datetime(self.env, self.last_inbound_at),
                    )
                )
            raise UserError(
                _(
                    "This customer has not written to this number yet: start the "
                    "conversation with an approved template. Nothing was sent."
                )
            )
        for attachment in attachments:
            problem = outbound.media_problem(attachment.mimetype, attachment.file_size)
            if not problem:
                continue
            code, values = problem
            if code == "type":
                raise UserError(
                    _(
                        "WhatsApp does not take %(name)s (%(type)s). Send images "
                        "(JPEG, PNG), videos (MP4), audio, PDF or Office documents, "
                        "or share a link instead.",
                        name=attachment.name,
                        type=values["mime_type"],
                    )
                )
            raise UserError(
                _(
                    "%(name)s is too big for WhatsApp: %(kind)s files may be at "
                    "most %(limit)s MB.",
                    name=attachment.name,
                    kind=values["kind"],
                    limit=values["limit_mb"],
                )
            )
