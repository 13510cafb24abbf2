import logging
from datetime import timedelta

from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.osv import expression
from odoo.tools import SQL, format_datetime

from ..tools import outbound, replies
from ..tools import phone as phone_tools
from ..tools.formatting import whatsapp_to_html
from ..tools.graph_api import GraphError
from ..tools.payload import Identity

_logger = logging.getLogger(__name__)

# Meta lets a business answer freely for 24 hours after the customer's last
# message; after that only templates go through.
WINDOW = timedelta(hours=24)
STATES = [
    ("open", "Open"),
    ("pending", "Waiting for the customer"),
    ("snoozed", "Snoozed"),
    ("done", "Done"),
]
DEFAULT_RESPONSE_MINUTES = 15


class WhatsappConversation(models.Model):
    _name = "whatsapp.conversation"
    _description = "WhatsApp Conversation"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "last_message_at desc, id desc"
    _rec_names_search = ["name", "phone", "wa_username", "partner_id"]

    name = fields.Char(compute="_compute_name", store=True)
    account_id = fields.Many2one(
        "whatsapp.account",
        string="WhatsApp Number",
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        related="account_id.company_id", store=True, index=True
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", index=True, tracking=True
    )
    # The customer's identity on this number: a phone (wa_id) and/or, since
    # 2026, a business-scoped user id. Either one finds the conversation.
    wa_id = fields.Char("WhatsApp ID", readonly=True, copy=False)
    phone_key = fields.Char(readonly=True, copy=False)
    phone = fields.Char(readonly=True, copy=False)
    wa_user_id = fields.Char("Business-Scoped User ID", readonly=True, copy=False)
    wa_username = fields.Char("WhatsApp Username", readonly=True)
    profile_name = fields.Char(readonly=True)
    message_ids_wa = fields.One2many(
        "whatsapp.message", "conversation_id", string="WhatsApp Messages"
    )
    wa_message_count = fields.Integer(
        "Message Count", compute="_compute_wa_message_count"
    )
    last_inbound_at = fields.Datetime("Last Customer Message", readonly=True)
    last_message_at = fields.Datetime(readonly=True, index=True)
    window_expires_at = fields.Datetime(
        "Reply Window Until", compute="_compute_window", store=True
    )

    window_open = fields.Boolean("Reply Window Open", compute="_compute_window_open")
    # the team
    team_id = fields.Many2one(
        "crm.team", string="Sales Team", index=True, tracking=True
    )
    user_id = fields.Many2one(
        "res.users",
        string="Assigned To",
        index=True,
        tracking=True,
        domain=lambda self: [
            ("groups_id", "in", self.env.ref("whatsapp_team.group_whatsapp_user").id)
        ],
    )
    state = fields.Selection(
        STATES,
        string="Status",
        default="open",
        required=True,
        index=True,
        tracking=True,
        group_expand=True,
    )
    snoozed_until = fields.Datetime(tracking=True, copy=False)
    waiting_since = fields.Datetime(
        "Customer Waiting Since",
        readonly=True,
        copy=False,
        help="The customer's first message not answered yet.",
    )
    reply_deadline = fields.Datetime(
        "Reply Due", readonly=True, copy=False, index="btree_not_null"
    )
    escalated_at = fields.Datetime("Escalated", readonly=True, copy=False)
    is_late = fields.Boolean("Reply Late", compute="_compute_is_late")
    # the CRM behind the chat
    lead_id = fields.Many2one(
        "crm.lead",
        index="btree_not_null",
        tracking=True,
        domain="[('partner_id', '=', partner_id)]",
    )
    label_ids = fields.Many2many("whatsapp.label", string="Labels")
    opted_out = fields.Boolean(
        compute="_compute_opted_out",
        search="_search_opted_out",
        help="The customer's number is on the phone blacklist (they wrote STOP, "
        "or someone put it there): marketing templates are refused.",
    )
    # customers known only by their username have no number for the phone
    # blacklist: their opt-out is kept on the chat itself
    user_opted_out = fields.Boolean(readonly=True, copy=False)
    away_sent_on = fields.Date("Away Message Sent On", readonly=True, copy=False)
    is_manager = fields.Boolean(compute="_compute_is_manager")
    last_read_wa_id = fields.Char(
        "Last Message Marked Read",
        readonly=True,
        copy=False,
        help="The customer's latest message we told WhatsApp was read.",
    )

    _sql_constraints = [
        (
            "account_phone_uniq",
            "unique(account_id, phone_key)",
            "There is already a conversation with this number.",
        ),
        (
            "account_user_id_uniq",
            "unique(account_id, wa_user_id)",
            "There is already a conversation with this WhatsApp user.",
        ),
    ]

    @api.depends("partner_id.name", "phone", "wa_username", "profile_name")
    def _compute_name(self):
        for conversation in self:
            conversation.name = (
                conversation.partner_id.name
                or conversation.profile_name
                or conversation.wa_username
                or conversation.phone
                or conversation.wa_user_id
                or _("WhatsApp customer")
            )

    def _compute_wa_message_count(self):
        counts = dict(
            self.env["whatsapp.message"]._read_group(
                [("conversation_id", "in", self.ids)], ["conversation_id"], ["__count"]
            )
        )
        for conversation in self:
            conversation.wa_message_count = counts.get(conversation, 0)

    @api.depends("last_inbound_at")
    def _compute_window(self):
        for conversation in self:
            conversation.window_expires_at = (
                conversation.last_inbound_at + WINDOW
                if conversation.last_inbound_at
                else False
            )

    @api.depends("window_expires_at")
    def _compute_window_open(self):
        for conversation in self:
            conversation.window_open = conversation._is_window_open()

    def _is_window_open(self):
        # not cached: the window closes with time, not with a write
        self.ensure_one()
        return bool(
            self.window_expires_at and self.window_expires_at > fields.Datetime.now()
        )

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

    @api.depends("reply_deadline")
    def _compute_is_late(self):
        now = fields.Datetime.now()
        for conversation in self:
            conversation.is_late = bool(
                conversation.reply_deadline and conversation.reply_deadline < now
            )

    def _compute_is_manager(self):
        is_manager = self.env.user.has_group("whatsapp_team.group_whatsapp_manager")
        for conversation in self:
            conversation.is_manager = is_manager

    def action_view_messages(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "whatsapp_team.whatsapp_message_action"
        )
        action["domain"] = [("conversation_id", "=", self.id)]
        return action

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
        latest = (
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
        if not latest or self.account_id.token_state != "valid":
            return False
        if not typing and latest.wa_message_id == self.last_read_wa_id:
            return False  # WhatsApp already shows it read
        # reading all messages up to the latest is one call to Meta
        try:
            self.account_id.sudo()._get_graph_client().mark_read(
                latest.wa_message_id, typing=typing
            )
        except GraphError as error:
            # a courtesy to the customer: never in the salesperson's way
            _logger.info(
                "WhatsApp read receipt for %s not sent: %s", self.display_name, error
            )
            return False
        self.sudo().last_read_wa_id = latest.wa_message_id
        return True

    def _thread_to_store(self, store, /, *, fields=None, request_list=None):
        result = super()._thread_to_store(
            store, fields=fields, request_list=request_list
        )
        # the chatter's composer says whether a free reply can go out
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
        return result

    # ------------------------------------------------------------
    # Sending from the chatter
    # ------------------------------------------------------------

    def message_post(self, **kwargs):
        """ "Send message" goes to the customer on WhatsApp; "Log note" stays here."""
        if not self._whatsapp_is_sent(kwargs):
            message = super().message_post(**kwargs)
            if (
                self.env.context.get("whatsapp_inbound")
                and kwargs.get("message_type") == "comment"
            ):
                # a customer message, a template or an automatic reply
                self._mirror_to_crm(message)
            return message
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
            if not kwargs.get("body_is_html"):
                body = escape(body)
            kwargs["body"] = Markup(replies.render_placeholders(str(body), values))
        text = outbound.html_to_whatsapp(kwargs.get("body"))
        self._check_can_send(attachments, text)
        # read before posting: Odoo re-parents chatter replies to the thread root
        reply_to_mail = self.env["mail.message"].browse(kwargs.get("parent_id"))
        mail_message = super().message_post(**kwargs)
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

    def _mirror_to_crm(self, mail_message):
        """The lead shows the chat in its chatter: a logged copy, internal and
        notifying nobody. Not the partner: every employee reads partners,
        while a chat is for its salesperson and their team."""
        self.ensure_one()
        lead = self.lead_id.sudo()
        if not lead or not mail_message:
            return
        header = Markup('<p class="text-muted small mb-1">%s</p>') % _(
            "WhatsApp · %(number)s", number=self.account_id.name
        )
        lead._message_log(
            body=header + (mail_message.body or Markup()),
            author_id=mail_message.author_id.id,
            message_type="comment",
            attachment_ids=self._copy_files_to(lead, mail_message.attachment_ids),
        )

    def _copy_files_to(self, record, attachments):
        """Copies of the chat's files for ``record``'s chatter: its readers may
        open them without reading the chat. The file store keeps one file."""
        if not attachments:
            return []
        return (
            attachments.sudo()
            .copy(
                {
                    "res_model": record._name,
                    "res_id": record.id,
                    # the copy is the lead's file: no link or token of the chat's
                    "res_field": False,
                    "access_token": False,
                    "public": False,
                }
            )
            .ids
        )

    def _mirror_late_file(self, attachment):
        """A customer's file that could only be downloaded after the message
        was shown: the lead gets it too."""
        self.ensure_one()
        lead = self.lead_id.sudo()
        if not lead:
            return
        lead._message_log(
            body=Markup('<p class="text-muted small mb-1">%s</p>')
            % _(
                "WhatsApp · %(number)s: a file from the customer, downloaded late",
                number=self.account_id.name,
            ),
            author_id=self.partner_id.id or False,
            message_type="comment",
            attachment_ids=self._copy_files_to(lead, attachment),
        )

    def _notify_get_recipients(self, message, msg_vals, **kwargs):
        """A chat is followed in Odoo, not by email: colleagues are notified
        in their Odoo inbox, and the customer only ever hears from us on
        WhatsApp."""
        recipients = super()._notify_get_recipients(message, msg_vals, **kwargs)
        Users = self.env["res.users"].sudo()
        internal = [
            r
            for r in recipients
            if r.get("uid")
            and not r.get("share")
            # only those the record rules let see the chat
            and self.with_user(Users.browse(r["uid"])).has_access("read")
        ]
        for recipient in internal:
            recipient["notif"] = "inbox"
        return internal

    def notify_cancel_by_type(self, notification_type):
        result = super().notify_cancel_by_type(notification_type)
        if notification_type == "whatsapp":
            self._notify_cancel_by_type_generic("whatsapp")
        return result

    def _whatsapp_is_sent(self, kwargs):
        if self.env.context.get("whatsapp_inbound"):
            return False
        if kwargs.get("message_type", "notification") != "comment":
            return False
        subtype_id = kwargs.get("subtype_id")
        subtype_xmlid = kwargs.get("subtype_xmlid")
        if subtype_id:
            return subtype_id == self.env.ref("mail.mt_comment").id
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

    # ------------------------------------------------------------
    # Customer identity
    # ------------------------------------------------------------

    @api.model
    def _lock_identity(self, phone_key, user_id):
        """Serialise work on one customer across transactions and workers.

        Taken before looking up or creating the conversation and the partner,
        so that parallel first messages from a new number create each of
        them once. Transaction-scoped: released at commit or rollback.
        """
        keys = sorted(
            key
            for key in (
                phone_key and f"whatsapp-phone:{phone_key}",
                user_id and f"whatsapp-user:{user_id}",
            )
            if key
        )
        for key in keys:
            self.env.cr.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])

    @api.model
    def _get_or_create_for(self, account, identity):
        """Return the conversation of ``identity`` on ``account``.

        ``identity`` is a ``tools.payload.Identity``. A conversation is found
        by phone or by business-scoped user id; a message carrying both ties
        them together (merging a user-id-only conversation into the phone one
        when both exist).
        """
        phone_key = phone_tools.wa_id_key(identity.wa_id) if identity.wa_id else None
        user_id = identity.user_id or None
        if not phone_key and not user_id:
            raise ValueError("a WhatsApp message without a sender identity")
        self._lock_identity(phone_key, user_id)

        Conversation = self.sudo().with_context(active_test=False)
        identity_domains = []
        if phone_key:
            identity_domains.append([("phone_key", "=", phone_key)])
        if user_id:
            identity_domains.append([("wa_user_id", "=", user_id)])
        domain = expression.AND(
            [[("account_id", "=", account.id)], expression.OR(identity_domains)]
        )
        conversations = Conversation.search(domain, order="id")
        if not conversations:
            partner = self._find_or_create_partner(account, identity, phone_key)
            return Conversation.with_context(mail_create_nosubscribe=True).create(
                {
                    "account_id": account.id,
                    "partner_id": partner.id,
                    **self._identity_values(identity, phone_key),
                }
            )
        conversation = conversations[0]
        if len(conversations) > 1:
            conversations[1:]._merge_into(conversation)
        updates = {
            key: value
            for key, value in self._identity_values(identity, phone_key).items()
            if value and conversation[key] != value
        }
        if updates:
            conversation.write(updates)
        if (
            phone_key
            and conversation.partner_id
            and not (conversation.partner_id.phone or conversation.partner_id.mobile)
        ):
            # First time this customer's number is known: keep it on the
            # partner so the next chat finds them by phone too.
            conversation.partner_id.mobile = conversation.phone
        return conversation

    @api.model
    def _get_or_create_for_partner(self, account, partner):
        """The conversation with ``partner`` on ``account``, started if needed.

        Reached by the partner's mobile, else phone. A conversation started
        here has no reply window yet: it opens with a template.
        """
        region = partner.country_id.code or account._default_region()
        number = next(
            (
                n
                for n in (partner.mobile, partner.phone)
                if phone_tools.match_key(n, region)
            ),
            None,
        )
        if not number:
            raise UserError(
                _(
                    "%(partner)s has no mobile or phone number WhatsApp can reach: "
                    "add one first.",
                    partner=partner.display_name,
                )
            )
        e164 = phone_tools.to_e164(number, region) or number
        identity = Identity(wa_id=e164.lstrip("+"), profile_name=partner.name or "")
        conversation = self._get_or_create_for(account, identity)
        if not conversation.partner_id:
            conversation.partner_id = partner
        if not conversation.user_id and not conversation.message_ids_wa:
            # a chat a salesperson starts is theirs
            conversation._set_team()
            starter = self.env.user
            if not starter._is_superuser() and starter.has_group(
                "whatsapp_team.group_whatsapp_user"
            ):
                conversation.user_id = starter
        return conversation

    @api.model
    def _identity_values(self, identity, phone_key):
        values = {
            "wa_user_id": identity.user_id or False,
            "wa_username": identity.username or False,
            "profile_name": identity.profile_name or False,
        }
        if phone_key:
            values.update(
                wa_id=identity.wa_id,
                phone_key=phone_key,
                phone=phone_tools.international("+" + identity.wa_id),
            )
        return values

    @api.model
    def _find_or_create_partner(self, account, identity, phone_key):
        Partner = self.env["res.partner"].sudo()
        partner = Partner._whatsapp_find_by_key(phone_key, account)
        if partner:
            return partner
        e164 = phone_tools.wa_id_to_e164(identity.wa_id) if identity.wa_id else None
        region = phone_tools.region_of(e164) if e164 else None
        if not region and identity.user_id[:2].isalpha():
            # a business-scoped user id starts with the user's country code
            region = identity.user_id[:2].upper()
        country = (
            self.env["res.country"].search([("code", "=", region)], limit=1)
            if region
            else self.env["res.country"]
        )
        return Partner.create(
            {
                "name": identity.profile_name
                or identity.username
                or (e164 and phone_tools.international(e164))
                or identity.wa_id
                or identity.user_id,
                "mobile": phone_tools.international(e164)
                if e164
                else identity.wa_id and "+" + identity.wa_id.lstrip("+"),
                "country_id": country.id,
                "company_id": False,
            }
        )

    def _merge_into(self, target):
        """Move everything of these conversations into ``target``, then delete them."""
        for source in self:
            _logger.info(
                "Merging WhatsApp conversation %s into %s", source.id, target.id
            )
            source.message_ids_wa.write({"conversation_id": target.id})
            self.env["mail.message"].sudo().search(
                [("model", "=", self._name), ("res_id", "=", source.id)]
            ).write({"res_id": target.id})
            self.env["ir.attachment"].sudo().search(
                [("res_model", "=", self._name), ("res_id", "=", source.id)]
            ).write({"res_id": target.id})
            target.last_inbound_at = max(
                filter(None, [target.last_inbound_at, source.last_inbound_at]),
                default=False,
            )
            target.last_message_at = max(
                filter(None, [target.last_message_at, source.last_message_at]),
                default=False,
            )
            if not target.partner_id:
                target.partner_id = source.partner_id
            if source.user_opted_out:
                target.sudo().user_opted_out = True
            # free the unique identity keys before the target takes them
            source.write({"phone_key": False, "wa_user_id": False})
        self.unlink()

    def _change_number(self, new_wa_id):
        """The customer moved to a new number (system message from Meta)."""
        self.ensure_one()
        new_key = phone_tools.wa_id_key(new_wa_id)
        if not new_key or new_key == self.phone_key:
            return
        self._lock_identity(new_key, None)
        clash = self.search(
            [
                ("account_id", "=", self.account_id.id),
                ("phone_key", "=", new_key),
                ("id", "!=", self.id),
            ]
        )
        if clash:
            clash._merge_into(self)
        old_phone = self.phone
        self.write(
            {
                "wa_id": new_wa_id,
                "phone_key": new_key,
                "phone": phone_tools.international("+" + new_wa_id),
            }
        )
        if self.partner_id and not self.partner_id._whatsapp_find_by_key(
            new_key, self.account_id
        ):
            self.partner_id.mobile = self.phone
        self.message_post(
            body=_(
                "The customer changed their WhatsApp number from %(old)s to %(new)s.",
                old=old_phone,
                new=self.phone,
            ),
            message_type="notification",
        )

    def _on_inbound(self, wa_message):
        """After a customer message: the reply window, the order of chats, and
        the team: the chat reopens, is given to someone and waits for a reply."""
        self.ensure_one()
        when = wa_message.wa_timestamp or fields.Datetime.now()
        values = {}
        if not self.last_inbound_at or when > self.last_inbound_at:
            values["last_inbound_at"] = when
        if not self.last_message_at or when > self.last_message_at:
            values["last_message_at"] = when
        if wa_message.message_type in ("reaction", "system"):
            # a thumbs-up or a number change asks for no answer
            if values:
                self.write(values)
            return
        if self._handle_opt_keywords(wa_message):
            # "STOP" or "START" asks for no answer either
            if values:
                self.write(values)
            return
        if not self.team_id:
            self._set_team()
        if self.state != "open":
            values.update(state="open", snoozed_until=False)
        if not self.waiting_since:
            # the customer waits since they wrote, not since we processed it
            values.update(
                waiting_since=when,
                reply_deadline=when + self._response_time(),
                escalated_at=False,
            )
        self.write(values)
        if "reply_deadline" in values:
            self._trigger_upkeep(self.reply_deadline)
        if not self.user_id:
            self._auto_assign()
        elif "waiting_since" in values:
            self._schedule_reply_activity()
        self._link_or_create_lead()
        self._send_automatic_replies(wa_message, when)

    # ------------------------------------------------------------
    # Automatic replies and opt-out
    # ------------------------------------------------------------

    def _placeholder_values(self):
        self.ensure_one()
        customer = self.partner_id.name or self.profile_name or self.name or ""
        return {
            "customer": customer,
            "first_name": customer.split(" ")[0] if customer else "",
            "company": self.account_id.company_id.name,
            "salesperson": self.user_id.name or "",
        }

    def _send_automatic_replies(self, wa_message, when):
        """The greeting on a first contact, the away message outside business
        hours (at most once a day per chat)."""
        self.ensure_one()
        account = self.account_id
        if not (account.away_enabled or account.greeting_enabled):
            return
        if account.token_state != "valid" or self.opted_out:
            return
        if account.away_enabled:
            today = account._local_day(when)
            if self.away_sent_on == today:
                # told today already; and after a first message, no greeting
                return
            if not account._is_open_at(when):
                self.sudo().away_sent_on = today
                self._send_automatic(account.away_message)
                return
        if account.greeting_enabled:
            # a first contact: one customer message, and we never wrote first
            first = (
                self.env["whatsapp.message"]
                .sudo()
                .search([("conversation_id", "=", self.id)], limit=2)
            )
            if len(first) == 1 and first.direction == "in":
                self._send_automatic(account.greeting_message)

    def _send_automatic(self, template_text):
        """Queue an automatic text, shown in the chat as written by the
        system. It answers nobody: the chat keeps waiting for a salesperson."""
        self.ensure_one()
        text = replies.render_placeholders(template_text, self._placeholder_values())
        if not text.strip():
            return
        mail_message = (
            self.sudo()
            .with_context(whatsapp_inbound=True)
            .message_post(
                body=Markup(whatsapp_to_html(text)),
                author_id=self.env.ref("base.partner_root").id,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
        )
        self.env["whatsapp.message"].sudo()._queue_outbound(
            self, mail_message, [{"message_type": "text", "body": text}]
        )

    def _e164(self):
        self.ensure_one()
        return f"+{self.wa_id}" if self.wa_id else False

    def _handle_opt_keywords(self, wa_message):
        """STOP (and its translations) blacklists the number, START lifts it.
        Returns whether the message was one of them."""
        self.ensure_one()
        account = self.account_id
        text = (wa_message.body or "").strip()
        if not (self.wa_id or self.wa_user_id) or wa_message.message_type not in (
            "text",
            "button",
            "interactive",
        ):
            return False
        if replies.matches_keyword(text, account.optout_keywords):
            self._opt_out(text)
            return True
        if replies.matches_keyword(text, account.optin_keywords) and self.opted_out:
            self._opt_in(text)
            return True
        return False

    def _opt_out(self, word):
        number = self._e164()
        if number:
            self.env["phone.blacklist"].sudo()._add(
                [number], message=_("Opted out on WhatsApp (%(word)s).", word=word)
            )
            body = _(
                "The customer wrote “%(word)s”: their number is on the blacklist "
                "and marketing templates are no longer sent to them.",
                word=word,
            )
        else:
            self.sudo().user_opted_out = True
            body = _(
                "The customer wrote “%(word)s”: marketing templates are no longer "
                "sent to them.",
                word=word,
            )
        self.message_post(body=body, message_type="notification")

    def _opt_in(self, word):
        number = self._e164()
        if self.user_opted_out:
            self.sudo().user_opted_out = False
        if number:
            self.env["phone.blacklist"].sudo()._remove(
                [number],
                message=_("Opted in again on WhatsApp (%(word)s).", word=word),
            )
            body = _(
                "The customer wrote “%(word)s”: their number is off the blacklist.",
                word=word,
            )
        else:
            body = _(
                "The customer wrote “%(word)s”: marketing templates may be sent "
                "to them again.",
                word=word,
            )
        self.message_post(body=body, message_type="notification")

    @api.depends("wa_id", "user_opted_out")
    def _compute_opted_out(self):
        """The phone blacklist is the one truth for a number: whoever edits
        it, the chat follows. A customer who opted out while known only by
        their username stays out when their number shows up later."""
        numbers = {c.id: c._e164() for c in self}
        listed = set(
            self.env["phone.blacklist"]
            .sudo()
            .search([("number", "in", [n for n in numbers.values() if n])])
            .mapped("number")
        )
        for conversation in self:
            conversation.opted_out = (
                numbers[conversation.id] in listed or conversation.user_opted_out
            )

    def _search_opted_out(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(_("Search on opted out with = or != only."))
        # the blacklist may be long (SMS marketing): a subquery, not a list
        listed = SQL(
            "(SELECT substr(number, 2) FROM phone_blacklist"
            " WHERE active AND number LIKE %s)",
            "+%",
        )
        if (operator == "=") == value:
            return ["|", ("wa_id", "in", listed), ("user_opted_out", "=", True)]
        return [
            "&",
            "|",
            ("wa_id", "=", False),
            ("wa_id", "not in", listed),
            ("user_opted_out", "=", False),
        ]

    # ------------------------------------------------------------
    # Leads and labels
    # ------------------------------------------------------------

    def _open_leads(self):
        """The customer's open leads, newest first: not lost (archived), not
        won. Routing, the sticky owner and lead linking all read them."""
        self.ensure_one()
        if not self.partner_id:
            return self.env["crm.lead"]
        return (
            self.env["crm.lead"]
            .sudo()
            .search(
                [
                    ("partner_id", "=", self.partner_id.id),
                    ("stage_id.is_won", "=", False),
                    ("company_id", "in", [self.account_id.company_id.id, False]),
                ],
                order="id desc",
            )
        )

    def _lead_setting(self, name):
        """A lead setting for this chat: its team's, else its number's."""
        self.ensure_one()
        return self.team_id.sudo()._whatsapp_lead_setting(self.account_id, name)

    def _link_or_create_lead(self):
        """A customer who writes: link their open lead, or create one when the
        number says so."""
        self.ensure_one()
        if self.lead_id.active and not self.lead_id.stage_id.is_won:
            return self.lead_id
        lead = self._open_leads()[:1]
        if not lead and self._lead_setting("create_leads") and self.partner_id:
            lead = self._create_lead()
        if lead and lead != self.lead_id:
            self.sudo().lead_id = lead
        return lead

    def _create_lead(self):
        self.ensure_one()
        lead = (
            self.env["crm.lead"]
            .sudo()
            # the salesperson is told of the chat already: no "you have been
            # assigned" mail for its lead
            .with_context(
                mail_create_nosubscribe=True, mail_auto_subscribe_no_notify=True
            )
            .create(
                {
                    "name": _("WhatsApp: %(customer)s", customer=self.partner_id.name),
                    "partner_id": self.partner_id.id,
                    "team_id": self.team_id.id,
                    "user_id": self.user_id.id,
                    "source_id": self.env.ref("whatsapp_team.utm_source_whatsapp").id,
                    "medium_id": self.env.ref("whatsapp_team.utm_medium_whatsapp").id,
                    "tag_ids": [(6, 0, self.label_ids.tag_id.ids)],
                }
            )
        )
        lead.message_post(
            body=_(
                "Created from a WhatsApp chat on %(number)s.",
                number=self.account_id.name,
            ),
            message_type="notification",
            subtype_xmlid="mail.mt_note",
        )
        return lead

    def action_create_lead(self):
        """The button: link the customer's open lead or create one, and open it."""
        self.ensure_one()
        self.check_access("write")
        if not self.partner_id:
            raise UserError(_("Set the customer of this chat first."))
        lead = self.lead_id or self._open_leads()[:1] or self._create_lead()
        self.lead_id = lead
        return {
            "type": "ir.actions.act_window",
            "res_model": "crm.lead",
            "res_id": lead.id,
            "view_mode": "form",
            "target": "current",
        }

    def _on_lead_linked(self):
        """Newly linked: the lead takes the chat's labels, the chat the lead's
        labelled tags, and its chatter says where the chat is."""
        self.ensure_one()
        lead = self.lead_id.sudo()
        last = (
            self.env["whatsapp.message"]
            .sudo()
            .search(
                [("conversation_id", "=", self.id), ("direction", "=", "in")],
                order="id desc",
                limit=1,
            )
        )
        lead._message_log(
            body=Markup("<p>%s</p>")
            % _(
                "Linked to the WhatsApp chat with %(customer)s on %(number)s. "
                "Last message from the customer: %(text)s",
                customer=self.partner_id.name or self.name,
                number=self.account_id.name,
                text=last.body or "—",
            ),
            message_type="notification",
            attachment_ids=self._copy_files_to(lead, last.attachment_ids),
        )
        missing_tags = self.label_ids.tag_id - lead.tag_ids
        if missing_tags:
            lead.with_context(whatsapp_sync=True).write(
                {"tag_ids": [(4, tag.id) for tag in missing_tags]}
            )
        labels = (
            self.env["whatsapp.label"]
            .sudo()
            .search([("tag_id", "in", lead.tag_ids.ids)])
        )
        if labels - self.label_ids:
            self.sudo().with_context(whatsapp_sync=True).write(
                {"label_ids": [(4, label.id) for label in labels - self.label_ids]}
            )

    def _push_labels_to_lead(self, added, removed):
        # the link itself is guarded (see write): the chat's labels are the
        # lead's tags, whoever labels the chat
        lead = self.lead_id.sudo()
        if not lead or not (added or removed):
            return
        commands = [(4, tag.id) for tag in added.tag_id]
        commands += [(3, tag.id) for tag in removed.tag_id]
        lead.with_context(whatsapp_sync=True).write({"tag_ids": commands})
        # other chats of the same lead follow too
        others = lead.whatsapp_chat_ids - self
        others._apply_tag_changes(added.tag_id, removed.tag_id)

    def _apply_tag_changes(self, added_tags, removed_tags):
        """Tags added to or removed from the lead, as labels on its chats."""
        Label = self.env["whatsapp.label"].sudo()
        added = Label.search([("tag_id", "in", added_tags.ids)])
        removed = Label.search([("tag_id", "in", removed_tags.ids)])
        if added or removed:
            self.sudo().with_context(whatsapp_sync=True).write(
                {
                    "label_ids": [(4, label.id) for label in added]
                    + [(3, label.id) for label in removed]
                }
            )

    def _push_hands_to_lead(self, vals):
        for conversation in self.filtered(
            lambda c: c.lead_id and c._lead_setting("lead_follows_chat")
        ):
            lead = conversation.lead_id.sudo()
            values = _hands_to_copy(conversation, lead, vals)
            if values:
                # the new salesperson hears of the chat, not of its lead too
                lead.with_context(
                    whatsapp_sync=True, mail_auto_subscribe_no_notify=True
                ).write(values)

    def _follow_lead(self, lead, vals):
        """The lead changed hands: its chats follow, where the number says so."""
        for conversation in self.filtered(
            lambda c: c._lead_setting("lead_follows_chat")
        ):
            values = _hands_to_copy(lead, conversation, vals)
            if values:
                conversation.sudo().with_context(whatsapp_sync=True).write(values)

    # ------------------------------------------------------------
    # Team, assignment and status
    # ------------------------------------------------------------

    def _response_time(self):
        minutes = self.team_id.whatsapp_response_minutes or DEFAULT_RESPONSE_MINUTES
        return timedelta(minutes=minutes)

    def _whatsapp_owner(self):
        """The customer's own salesperson: the partner's, else their open
        lead's."""
        self.ensure_one()
        partner = self.partner_id
        if not partner:
            return self.env["res.users"]
        if partner.user_id:
            return partner.user_id
        return self._open_leads().filtered("user_id")[:1].user_id

    def _set_team(self):
        """The team of the customer's open lead when it answers this number,
        else the number's team."""
        self.ensure_one()
        teams = self.account_id.team_ids
        lead_team = (
            self._open_leads().filtered(lambda lead: lead.team_id in teams)[:1].team_id
        )
        team = lead_team or self.account_id.team_id or teams[:1]
        if team:
            self.sudo().team_id = team

    def _auto_assign(self, exclude_users=None):
        """Give the chat to the team member chosen by the team's method.

        Returns the user given the chat, or an empty recordset when nobody is
        available now (the upkeep cron tries again).
        """
        self.ensure_one()
        if not self.team_id:
            return self.env["res.users"]
        member = self.team_id._whatsapp_pick_member(self, exclude_users=exclude_users)
        if member:
            self.sudo().user_id = member.user_id
        return member.user_id

    def write(self, vals):
        syncing = self.env.context.get("whatsapp_sync")
        if not self.env.su:
            if "user_opted_out" in vals:
                # the customer's own choice: only their STOP and START change it
                raise AccessError(_("Only the customer can opt out or back in."))
            if vals.get("lead_id"):
                # the lead's hands and tags follow the chat: only a lead the
                # user may change can be linked
                self.env["crm.lead"].browse(vals["lead_id"]).check_access("write")
            if "team_id" in vals and not self.env.user.has_group(
                "whatsapp_team.group_whatsapp_manager"
            ):
                raise UserError(
                    _("Only a WhatsApp manager can move a chat to another team.")
                )
        if "user_id" in vals:
            self._check_assignment(vals["user_id"])
            before = {conversation: conversation.user_id for conversation in self}
        labels_before = (
            {conversation: conversation.label_ids for conversation in self}
            if "label_ids" in vals and not syncing
            else None
        )
        leads_before = (
            {conversation: conversation.lead_id for conversation in self}
            if "lead_id" in vals
            else None
        )
        result = super().write(vals)
        if labels_before is not None:
            for conversation in self:
                added = conversation.label_ids - labels_before[conversation]
                removed = labels_before[conversation] - conversation.label_ids
                conversation._push_labels_to_lead(added, removed)
        if leads_before is not None:
            for conversation in self.filtered(
                lambda c: c.lead_id and c.lead_id != leads_before[c]
            ):
                conversation._on_lead_linked()
        if not syncing and {"user_id", "team_id"} & set(vals):
            self._push_hands_to_lead(vals)
        if "user_id" in vals:
            for conversation in self.filtered(lambda c: c.user_id != before[c]):
                previous = before[conversation]
                if previous:
                    # the chat is out of their sight now: so are its messages
                    conversation.sudo().message_unsubscribe(
                        partner_ids=previous.partner_id.ids
                    )
                # the acting user may have just given the chat away
                conversation.sudo()._on_assignee_changed()
        if vals.get("state") == "snoozed":
            for conversation in self.filtered("snoozed_until"):
                conversation._trigger_upkeep(conversation.snoozed_until)
        return result

    def _check_assignment(self, user_id):
        """Salespeople claim unassigned chats and pass on their own; managers
        assign any chat they see."""
        if self.env.su or self.env.user.has_group(
            "whatsapp_team.group_whatsapp_manager"
        ):
            return
        for conversation in self:
            current = conversation.user_id
            claiming = not current and user_id == self.env.uid
            passing_on = current == self.env.user
            if not (claiming or passing_on):
                raise UserError(
                    _(
                        "Only a WhatsApp manager can reassign %(chat)s: it is "
                        "%(user)s's chat.",
                        chat=conversation.display_name,
                        user=current.name or _("nobody"),
                    )
                )

    def _on_assignee_changed(self):
        """The new assignee takes over the waiting reply; their turn is noted."""
        self.ensure_one()
        member = (
            self.env["crm.team.member"]
            .sudo()
            .search(
                [
                    ("crm_team_id", "=", self.team_id.id),
                    ("user_id", "=", self.user_id.id),
                ],
                limit=1,
            )
            if self.team_id and self.user_id
            else self.env["crm.team.member"]
        )
        if member:
            member._whatsapp_took(fields.Datetime.now())
        activities = self._reply_activities()
        if not self.user_id:
            activities.sudo().unlink()
        elif activities:
            activities.sudo().write({"user_id": self.user_id.id})
        elif self.waiting_since:
            self._schedule_reply_activity()

    def _reply_activities(self):
        activity_type = self.env.ref("whatsapp_team.mail_activity_type_whatsapp_reply")
        return self.sudo().activity_ids.filtered(
            lambda a: a.activity_type_id == activity_type
        )

    def _schedule_reply_activity(self):
        self.ensure_one()
        if not self.user_id or self._reply_activities():
            return
        deadline = self.reply_deadline or fields.Datetime.now()
        self.sudo().activity_schedule(
            "whatsapp_team.mail_activity_type_whatsapp_reply",
            date_deadline=fields.Date.context_today(self, deadline),
            user_id=self.user_id.id,
            note=_("The customer is waiting for an answer."),
        )

    def _on_agent_reply(self):
        """A salesperson answered: an unassigned chat becomes theirs, and the
        chat no longer waits."""
        for conversation in self:
            if (
                not conversation.user_id
                and not self.env.su
                and self.env.user.has_group("whatsapp_team.group_whatsapp_user")
            ):
                conversation.user_id = self.env.user
            if conversation.waiting_since:
                conversation.sudo().write(
                    {"waiting_since": False, "reply_deadline": False}
                )
                conversation._reply_activities().action_feedback(
                    feedback=_("Answered on WhatsApp.")
                )

    def action_claim(self):
        for conversation in self:
            if conversation.user_id:
                raise UserError(
                    _(
                        "%(user)s already took this chat.",
                        user=conversation.user_id.name,
                    )
                )
            conversation.user_id = self.env.user

    def action_transfer(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Pass the chat on"),
            "res_model": "whatsapp.transfer",
            "view_mode": "form",
            "target": "new",
            "context": {"default_conversation_id": self.id},
        }

    def action_set_pending(self):
        self.write({"state": "pending", "snoozed_until": False})

    def action_done(self):
        self.write({"state": "done", "snoozed_until": False})
        for conversation in self.filtered("waiting_since"):
            # closing a chat answers nobody: the reminder goes away with it
            conversation.sudo().write({"waiting_since": False, "reply_deadline": False})
            conversation._reply_activities().unlink()

    def action_reopen(self):
        self.write({"state": "open", "snoozed_until": False})

    def action_snooze(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Snooze the chat"),
            "res_model": "whatsapp.snooze",
            "view_mode": "form",
            "target": "new",
            "context": {"default_conversation_id": self.id},
        }

    def _trigger_upkeep(self, when):
        self.env.ref("whatsapp_team.ir_cron_conversation_upkeep").sudo()._trigger(when)

    @api.model
    def _cron_upkeep(self):
        """Wake snoozed chats, escalate late replies, give waiting chats to
        whoever became available."""
        self._wake_snoozed()
        self._escalate_late()
        self._assign_waiting()

    @api.model
    def _wake_snoozed(self):
        due = self.sudo().search(
            [("state", "=", "snoozed"), ("snoozed_until", "<=", fields.Datetime.now())]
        )
        due.write({"state": "open", "snoozed_until": False})
        return due

    @api.model
    def _assign_waiting(self):
        waiting = self.sudo().search(
            [
                ("user_id", "=", False),
                ("state", "=", "open"),
                ("team_id.whatsapp_assignment", "!=", "manual"),
            ],
            order="waiting_since, id",
        )
        given = self.browse()
        now = fields.Datetime.now()
        for team in waiting.team_id:
            # at night nobody is available: one check per team, not per chat
            if not team._whatsapp_members()._whatsapp_available(now):
                continue
            chats = waiting.filtered(lambda c, t=team: c.team_id == t)
            given |= chats.filtered(lambda c: c._auto_assign())
        return given

    @api.model
    def _escalate_late(self):
        late = self.sudo().search(
            [
                ("reply_deadline", "<=", fields.Datetime.now()),
                ("waiting_since", "!=", False),
                ("escalated_at", "=", False),
                ("state", "=", "open"),
            ]
        )
        for conversation in late:
            conversation._escalate()
        return late

    def _escalate(self):
        """The reply is late: per the team, another member takes the chat, or
        the team leader is told."""
        self.ensure_one()
        now = fields.Datetime.now()
        team = self.team_id
        late_user = self.user_id
        if team.whatsapp_escalation == "reassign":
            exclude = late_user
            if self._auto_assign(exclude_users=exclude):
                self.message_post(
                    body=_(
                        "No reply from %(user)s in time: the chat went to %(new)s.",
                        user=late_user.name or _("the team"),
                        new=self.user_id.name,
                    ),
                    message_type="comment",
                    subtype_xmlid="mail.mt_note",
                )
                self.write(
                    {
                        "reply_deadline": now + self._response_time(),
                        "escalated_at": False,
                    }
                )
                self._trigger_upkeep(self.reply_deadline)
                return
        self.escalated_at = now
        leader = team.user_id
        if not leader:
            _logger.info("WhatsApp chat %s is late and its team has no leader", self.id)
            return
        self.message_subscribe(partner_ids=leader.partner_id.ids)
        self.message_post(
            body=_(
                "%(customer)s has been waiting since %(since)s and nobody answered "
                "(%(user)s has the chat).",
                customer=self.partner_id.name or self.name,
                since=format_datetime(self.env, self.waiting_since, tz=leader.tz),
                user=late_user.name or _("nobody"),
            ),
            message_type="comment",
            subtype_xmlid="mail.mt_note",
            partner_ids=leader.partner_id.ids,
        )


def _hands_to_copy(source, target, vals):
    """The salesperson and team of ``source`` that ``target`` lacks, for the
    fields written in ``vals``: a chat and its lead change hands together."""
    values = {}
    if "user_id" in vals and target.user_id != source.user_id:
        values["user_id"] = source.user_id.id
    if "team_id" in vals and source.team_id and target.team_id != source.team_id:
        values["team_id"] = source.team_id.id
    return values
