"""A WhatsApp conversation: one per number and customer.

This file holds the chat itself: who the customer is on the number (phone
and/or business-scoped user id), the 24-hour reply window and what a
customer message does to the chat. The other concerns of the model live
beside it, each with the access decisions that guard it:
``whatsapp_conversation_sending.py`` (replies, read receipts),
``whatsapp_conversation_auto_reply.py`` (greeting and away message),
``whatsapp_conversation_optout.py`` (STOP and START),
``whatsapp_conversation_team.py`` (team, assignment, status, escalation) and
``whatsapp_conversation_crm.py`` (lead, labels, the chat in the lead's
chatter).
"""

import logging
from datetime import timedelta

from odoo import _, api, fields, models, tools
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, Query

from ..tools import phone as phone_tools
from ..tools.payload import Identity

_logger = logging.getLogger(__name__)

# Meta lets a business answer freely for 24 hours after the customer's last
# message; after that only templates go through.
WINDOW = timedelta(hours=24)

# What processing a message reads of a known customer: the numbers (kept
# when first known), the salesperson of the customer (routing), and the
# author the chat and the live notices show (name, address, avatar's date)
MESSAGE_PARTNER_FIELDS = (
    "phone",
    "mobile",
    "name",
    "email",
    "user_id",
    "is_company",
    "write_date",
)

# What processing a message reads next of the records around its chat, read
# with the chat itself (``_search_fetch_for_message``): the customer; whether
# their lead is still open (``_lead_is_open``); which message the chat shows
# last, and when it was written (``_inbox_on_messages``).
CHAT_AROUND_FIELDS = (
    ("partner_id", MESSAGE_PARTNER_FIELDS),
    ("lead_id", ("active", "stage_id")),
    ("last_wa_message_id", ("wa_timestamp", "create_date")),
)


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
        readonly=True,
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
    # what the customer was known by before WhatsApp told us of a change
    # (system messages): oldest first, one per line
    previous_numbers = fields.Text(
        readonly=True,
        copy=False,
        help="The numbers this customer wrote from before they changed their "
        "WhatsApp number, oldest first.",
    )
    previous_user_ids = fields.Text(
        "Previous User IDs",
        readonly=True,
        copy=False,
        help="The business-scoped user ids WhatsApp gave this customer before "
        "the current one, oldest first.",
    )
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
    # who may be given this chat: the users of its number
    account_user_ids = fields.Many2many(related="account_id.allowed_user_ids")

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

    def action_view_messages(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "whatsapp_team.whatsapp_message_action"
        )
        action["domain"] = [("conversation_id", "=", self.id)]
        return action

    # ------------------------------------------------------------
    # Fields only WhatsApp writes
    # ------------------------------------------------------------

    def _whatsapp_system_fields(self):
        """Fields written by the addon only (with superuser rights), never by
        a user, whatever the path (form, RPC, import): who the customer is
        and what WhatsApp told us. Written by hand, a reply would go to
        another customer, another customer's messages would land in this
        chat, or a closed 24-hour window would reopen. Each concern of the
        model adds its own."""
        return {
            "account_id",
            "company_id",
            "name",
            "wa_id",
            "phone_key",
            "phone",
            "wa_user_id",
            "wa_username",
            "profile_name",
            "previous_numbers",
            "previous_user_ids",
            "last_inbound_at",
            "last_message_at",
            "window_expires_at",
        }

    def _check_system_fields(self, vals):
        if self.env.su:
            return
        written = sorted(self._whatsapp_system_fields() & set(vals))
        if written:
            names = ", ".join(self._fields[name].string for name in written)
            raise AccessError(
                _(
                    "%(fields)s of a WhatsApp chat are kept by WhatsApp itself "
                    "and cannot be changed by hand.",
                    fields=names,
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        # chats are started by a customer's message or from the customer's
        # WhatsApp button, never typed in
        for vals in vals_list:
            self._check_system_fields(vals)
        # the chat shows the conversation itself, as Discuss's channels do:
        # no "chat created" line above the customer's first words
        conversations = super(
            WhatsappConversation, self.with_context(mail_create_nolog=True)
        ).create(vals_list)
        return conversations.with_env(self.env)

    def write(self, vals):
        self._check_system_fields(vals)
        if vals.get("partner_id") and not self.env.su:
            # the chat shows its customer's name, computed as superuser: only
            # a contact the user may read becomes a chat's customer
            self.env["res.partner"].browse(vals["partner_id"]).check_access("read")
        return super().write(vals)

    def _write_bookkeeping(self, vals):
        """Write what the addon keeps up to date on the chat itself (its
        preview, counters, clocks, figures): Odoo's write without its
        chatter tracking and follower subscription, which a message's
        bookkeeping never calls for. Values with a tracked field, the
        salesperson or a field that subscribes followers go through the
        whole write."""
        if self._chatter_field_names() & vals.keys():
            return self.write(vals)
        return self.with_context(tracking_disable=True).write(vals)

    @tools.ormcache("self.env.uid", "self.env.su")
    def _chatter_field_names(self):
        """The chat's fields whose change the chatter follows: the tracked
        ones, the salesperson, those that subscribe followers. One cached
        look-up for the several bookkeeping writes of every message, where
        Odoo's two behind it (cleared with it) were two each."""
        Subtype = self.env["mail.message.subtype"]
        relations = Subtype._get_auto_subscription_subtypes(self._name)[4]
        return frozenset(
            set(self._track_get_fields())
            | {"user_id"}
            | {name for names in relations.values() for name in names}
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
        for key in self._identity_lock_keys(phone_key, user_id):
            self.env.cr.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])

    @api.model
    def _identity_lock_keys(self, phone_key, user_id):
        """The advisory locks of an identity (see ``_lock_identity``), in the
        order they are taken."""
        return sorted(
            key
            for key in (
                phone_key and f"whatsapp-phone:{phone_key}",
                user_id and f"whatsapp-user:{user_id}",
            )
            if key
        )

    @api.model
    def _get_or_create_for(self, account, identity, from_whatsapp=True):
        """Return the conversation of ``identity`` on ``account``.

        ``identity`` is a ``tools.payload.Identity``. A conversation is found
        by phone or by business-scoped user id; a message carrying both ties
        them together (merging a user-id-only conversation into the phone one
        when both exist). Only an identity ``from_whatsapp`` (a webhook) updates
        an existing conversation: one built from a partner's number in Odoo
        finds it as it is.
        """
        return self._get_or_create_with(account, identity, from_whatsapp)[0]

    @api.model
    def _get_or_create_for_message(self, account, identity, wa_message_id):
        """``(chat, message)``: the chat of a customer message's sender, as
        ``_get_or_create_for`` gives it for a webhook, and the
        ``whatsapp.message`` of ``wa_message_id`` if it is stored already
        (Meta delivers a message more than once; empty otherwise), looked up
        once the sender's identity is locked. Both in the caller's
        environment."""
        if not wa_message_id:
            raise ValueError("a WhatsApp message without its message id")
        conversation, stored_sudo = self._get_or_create_with(
            account, identity, True, wa_message_id
        )
        return conversation, stored_sudo.with_env(self.env)

    @api.model
    def _get_or_create_with(self, account, identity, from_whatsapp, wa_message_id=None):
        """The work of ``_get_or_create_for``: ``(chat, stored message)``,
        the message ``wa_message_id`` (as superuser) if it is given and
        stored already, read with an existing chat, looked up after a new
        one is made (it may be stored in another chat)."""
        phone_key = phone_tools.wa_id_key(identity.wa_id) if identity.wa_id else None
        user_id = identity.user_id or None
        if not phone_key and not user_id:
            raise ValueError("a WhatsApp message without a sender identity")
        # the customer's chat exists once, whoever may see it: the caller
        # gets it back in their own environment; the identity is locked by
        # the statement that reads it (_lock_identity)
        Conversation_sudo = self.sudo().with_context(active_test=False)
        Message_sudo = self.env["whatsapp.message"].sudo()
        conversations_sudo, stored_id = Conversation_sudo._search_fetch_for_message(
            account.id, phone_key, user_id, wa_message_id
        )
        if not conversations_sudo:
            partner = self._find_or_create_partner(account, identity, phone_key)
            conversation_sudo = Conversation_sudo.with_context(
                mail_create_nosubscribe=True
            ).create(
                {
                    "account_id": account.id,
                    "partner_id": partner.id,
                    **self._identity_values(identity, phone_key),
                }
            )
            # its message may be stored in another chat: looked up all the same
            return conversation_sudo.with_env(self.env), Message_sudo.browse(
                stored_id or ()
            )
        stored_sudo = Message_sudo.browse(stored_id or ())
        conversation_sudo = conversations_sudo[0]
        if not from_whatsapp:
            return conversation_sudo.with_env(self.env), stored_sudo
        if len(conversations_sudo) > 1:
            conversations_sudo[1:]._merge_into(conversation_sudo)
        updates = {
            key: value
            for key, value in self._identity_values(identity, phone_key).items()
            if value and conversation_sudo[key] != value
        }
        if updates:
            conversation_sudo.write(updates)
        partner_sudo = conversation_sudo.partner_id
        # what a message reads of its customer, not their whole record
        # (res.partner has dozens of columns; any other field is read as
        # usual); read with the chat already for a customer's message
        partner_sudo.fetch(MESSAGE_PARTNER_FIELDS)
        if (
            phone_key
            and partner_sudo
            and not (partner_sudo.phone or partner_sudo.mobile)
        ):
            # First time this customer's number is known: keep it on the
            # partner so the next chat finds them by phone too.
            partner_sudo.mobile = conversation_sudo.phone
        return conversation_sudo.with_env(self.env), stored_sudo

    @api.model
    def _search_fetch_for_message(self, account_id, phone_key, user_id, wa_message_id):
        """``(chats, id of the message wa_message_id or 0)``: the chats of
        ``phone_key`` or ``user_id`` on the number ``account_id`` (oldest
        first) read in one query, their own columns (those ``search_fetch``
        reads) and, for a customer's message (``wa_message_id`` given),
        what its work reads next (``CHAT_AROUND_FIELDS``) and the id of
        that message if it is stored already, in any chat (0: none, or not
        asked). The same statement first takes the identity's locks
        (``_lock_identity``): without a chat yet, the caller makes it. Each
        value goes into the cache as Odoo's own fetch puts it there: never
        over a value in cache, and nothing waiting to be written is written
        first (the processor writes each chat once for the messages it
        handles together), but what the search compares.

        Superuser's: only the chat's own code calls this, to find the chat
        of a customer whoever may see it. What is read around the chat is
        read for a webhook's message only, whose processing runs as
        superuser: never into the cache of a user who may not read it."""
        columns, joins, reads = self._message_read_plan(bool(wa_message_id))
        Message = self.env["whatsapp.message"]
        chat_fields = self._fields
        identities = [
            SQL(
                "%s = %s",
                SQL.identifier(self._table, name, to_flush=chat_fields[name]),
                value,
            )
            for name, value in (("phone_key", phone_key), ("wa_user_id", user_id))
            if value
        ]
        stored = (
            SQL(
                "(SELECT stored.id FROM %s AS stored WHERE %s = %s)",
                SQL.identifier(Message._table),
                SQL.identifier(
                    "stored", "wa_message_id", to_flush=Message._fields["wa_message_id"]
                ),
                wa_message_id,
            )
            if wa_message_id
            else SQL("0")
        )
        locks = SQL(", ").join(
            SQL("pg_advisory_xact_lock(hashtext(%s))", key)
            for key in self._identity_lock_keys(phone_key, user_id)
        )
        # the locks' one row, then the chats beside it, or none (NULLs): the
        # locks are taken whether a chat is found or not, before any row of
        # the chats is looked at
        rows = self.env.execute_query(
            SQL(
                "SELECT %s, %s FROM (SELECT %s) AS locked LEFT JOIN %s ON %s = %s"
                " AND (%s) %s ORDER BY %s",
                stored,
                columns,
                locks,
                SQL.identifier(self._table),
                SQL.identifier(
                    self._table, "account_id", to_flush=chat_fields["account_id"]
                ),
                account_id,
                SQL(" OR ").join(identities),
                joins,
                SQL.identifier(self._table, "id"),
            )
        )
        Chat_sudo = self.sudo()
        stored_id = rows[0][0] or 0
        rows = [row for row in rows if row[1]]
        if not rows:
            return Chat_sudo.browse(), stored_id
        cache = self.env.cache
        values = list(zip(*rows, strict=True))
        chats_sudo = Chat_sudo.browse(values[1])
        # each record's id, then its columns (a record missing from a left
        # join has none)
        position = 1
        for model_name, read_fields in reads:
            ids = values[position]
            present = [index for index, record_id in enumerate(ids) if record_id]
            records_sudo = (
                self.env[model_name].sudo().browse([ids[index] for index in present])
            )
            for offset, field in enumerate(read_fields, start=1):
                column = values[position + offset]
                cache.insert_missing(
                    records_sudo, field, [column[index] for index in present]
                )
            position += 1 + len(read_fields)
        return chats_sudo, stored_id

    @api.model
    @tools.ormcache("around")
    def _message_read_plan(self, around):
        """``(columns, joins, reads)``: what ``_search_fetch_for_message``
        reads, built once a registry. ``columns``: the ids and columns of the
        chat and, if ``around``, of the records around it; ``joins``: the
        joins of those records to the chat; ``reads``: for the chat then
        each link of
        ``CHAT_AROUND_FIELDS`` (if ``around``), the model and its fields in
        the order of their columns (each after its id).
        Translated and company-dependent columns are left to Odoo's own
        reads (their value depends on the reader)."""
        Chat_sudo = self.sudo()

        def plain(candidates):
            return tuple(
                field
                for field in candidates
                if field.column_type
                and not (field.translate or field.company_dependent)
            )

        table = self._table
        chat_fields = plain(
            Chat_sudo._determine_fields_to_fetch(
                [name for name, field in self._fields.items() if field.prefetch is True]
            )
        )
        parts = [(table, self._name, chat_fields)]
        joins = []
        for link, names in CHAT_AROUND_FIELDS if around else ():
            comodel = self.env[self._fields[link].comodel_name]
            alias = Query.make_alias(table, link)
            joins.append(
                SQL(
                    "LEFT JOIN %s AS %s ON %s = %s",
                    SQL.identifier(comodel._table),
                    SQL.identifier(alias),
                    SQL.identifier(alias, "id"),
                    SQL.identifier(table, link),
                )
            )
            parts.append(
                (alias, comodel._name, plain(comodel._fields[name] for name in names))
            )
        columns = [
            SQL.identifier(alias, name)
            for alias, _model, read_fields in parts
            for name in ("id", *(field.name for field in read_fields))
        ]
        return (
            SQL(", ").join(columns),
            SQL(" ").join(joins),
            tuple((model, read) for _alias, model, read in parts),
        )

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
        conversation = self._get_or_create_for(account, identity, from_whatsapp=False)
        conversation_sudo = conversation.sudo()
        if not conversation_sudo.partner_id:
            conversation_sudo.partner_id = partner
        if not conversation_sudo.user_id and not conversation_sudo.message_ids_wa:
            # a chat a salesperson starts is theirs, when they may use the number
            conversation_sudo._set_team()
            starter = self.env.user
            if not self.env.su and starter in account.sudo().allowed_user_ids:
                conversation_sudo.user_id = starter
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
        Partner_sudo = self.env["res.partner"].sudo()
        partner = Partner_sudo._whatsapp_find_by_key(phone_key, account)
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
        return Partner_sudo.create(
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

    def _apply_identity_change(self, inbound):
        """A system message (``tools.payload.InboundMessage``) telling that
        the customer changed their number or their business-scoped user id:
        the chat (and its partner) carry the new one, the old one is kept.
        Returns the line the chat shows, or None for another system message."""
        self.ensure_one()
        if inbound.system_type == "user_changed_number":
            lines = [
                self._change_number(inbound.new_wa_id),
                self._change_user_id(inbound.new_user_id),
            ]
        elif inbound.system_type == "user_changed_user_id":
            lines = [self._change_user_id(inbound.new_user_id)]
        else:
            return None
        return " ".join(line for line in lines if line) or _(
            "WhatsApp told us the customer's number or user id changed; this "
            "chat already had the new one."
        )

    def _change_number(self, new_wa_id):
        """The customer moved to a new number (system message from Meta).

        A chat already opened by the new number (its messages may arrive
        before Meta's notice) is merged into this one. Returns the line the
        chat shows, or None when the number does not change."""
        self.ensure_one()
        new_key = phone_tools.wa_id_key(new_wa_id) if new_wa_id else None
        if not new_key or new_key == self.phone_key:
            return None
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
        old_phone, old_key = self.phone, self.phone_key
        self.write(
            {
                "wa_id": new_wa_id,
                "phone_key": new_key,
                "phone": phone_tools.international("+" + new_wa_id),
                "previous_numbers": _append_line(self.previous_numbers, old_phone),
            }
        )
        partner = self.partner_id
        if partner and new_key not in (
            partner.whatsapp_phone_key,
            partner.whatsapp_mobile_key,
        ):
            # the partner's field that held the old number takes the new one
            if (
                old_key
                and partner.whatsapp_phone_key == old_key
                and partner.whatsapp_mobile_key != old_key
            ):
                partner.phone = self.phone
            else:
                partner.mobile = self.phone
        if not old_phone:
            return _("The customer's WhatsApp number is now %(new)s.", new=self.phone)
        return _(
            "The customer changed their WhatsApp number from %(old)s to %(new)s.",
            old=old_phone,
            new=self.phone,
        )

    def _change_user_id(self, new_user_id):
        """WhatsApp gave the customer a new business-scoped user id (a number
        change does too). A chat the new id opened already is merged into
        this one. Returns the line the chat shows, or None."""
        self.ensure_one()
        if not new_user_id or new_user_id == self.wa_user_id:
            return None
        self._lock_identity(None, new_user_id)
        clash = self.search(
            [
                ("account_id", "=", self.account_id.id),
                ("wa_user_id", "=", new_user_id),
                ("id", "!=", self.id),
            ]
        )
        if clash:
            clash._merge_into(self)
        old_user_id = self.wa_user_id
        self.write(
            {
                "wa_user_id": new_user_id,
                "previous_user_ids": _append_line(self.previous_user_ids, old_user_id),
            }
        )
        if not old_user_id:
            return _("WhatsApp gave the customer the user id %(new)s.", new=new_user_id)
        return _(
            "WhatsApp changed the customer's user id from %(old)s to %(new)s.",
            old=old_user_id,
            new=new_user_id,
        )

    def _e164(self):
        self.ensure_one()
        return f"+{self.wa_id}" if self.wa_id else False

    # ------------------------------------------------------------
    # A customer message
    # ------------------------------------------------------------

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
                self._write_bookkeeping(values)
            return
        if self._handle_without_answer(wa_message):
            # "STOP" or "START", a survey's answer: no answer asked either
            if values:
                self._write_bookkeeping(values)
            return
        # the customer's open leads, looked up at most once for the team,
        # the salesperson and the lead below
        chat = self._with_open_leads()
        if not self.team_id:
            chat._set_team()
        if self.state != "open":
            values.update(state="open", snoozed_until=False)
        if not self.waiting_since:
            # the customer waits since they wrote, not since we processed it
            values.update(
                waiting_since=when,
                reply_deadline=self._reply_due(when),
                escalated_at=False,
            )
        self._write_bookkeeping(values)
        if "reply_deadline" in values:
            self._trigger_upkeep(self.reply_deadline)
        if not self.user_id:
            chat._auto_assign()
        elif "waiting_since" in values:
            self._schedule_reply_activity()
        chat._link_or_create_lead()
        self._send_automatic_replies(wa_message, when)

    def _handle_without_answer(self, wa_message):
        """Act on a customer message that asks nobody for an answer (an
        opt-out keyword; other concerns add theirs) and return True, or
        return False for a message the team answers."""
        return self._handle_opt_keywords(wa_message)


def _append_line(lines, value):
    """``lines`` (text, one value a line) with ``value`` added once at the end."""
    kept = [line for line in (lines or "").splitlines() if line and line != value]
    if value:
        kept.append(value)
    return "\n".join(kept) or False
