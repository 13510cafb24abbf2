import logging
import re
from collections import defaultdict

from odoo import SUPERUSER_ID, _, api, fields, models, tools
from odoo.exceptions import AccessError, UserError
from odoo.osv import expression
from odoo.tools import SQL, create_index, escape_psql, format_amount

from ..tools.batch import processor_batch
from .whatsapp_conversation_team import STATES

_logger = logging.getLogger(__name__)

ROW_NOTIFICATION = "whatsapp_team.inbox/row"
PRESENCE_NOTIFICATION = "whatsapp_team.inbox/presence"
MANAGER_GROUP = "whatsapp_team.group_whatsapp_manager"
ADMIN_GROUP = "whatsapp_team.group_whatsapp_admin"
TABS = ("mine", "unassigned", "team", "all")
# what the inbox shows unless told otherwise: chats not done
ACTIVE_STATES = ("open", "pending", "snoozed")
PRESENCE_ACTIONS = ("viewing", "typing", "left")
INBOX_ORDER = "last_message_at desc nulls last, id desc"
PREVIEW_LENGTH = 120
MAX_LIMIT = 200
# a thumbs-up, a number change or "the customer opened the chat" is nothing
# to read
NOT_UNREAD_TYPES = {"reaction", "system", "request_welcome"}
# fields a row shows: writing one of them changes the row on every screen
ROW_FIELDS = {
    "name",
    "partner_id",
    "phone",
    "wa_username",
    "profile_name",
    "account_id",
    "last_message_at",
    "last_inbound_at",
    "last_wa_message_id",
    "unread_count",
    "state",
    "reply_deadline",
    "label_ids",
    "user_id",
    "team_id",
    "user_opted_out",
}
PENDING_ROWS = "whatsapp_team.inbox_rows"


def _datetime(value):
    return fields.Datetime.to_string(value) if value else False


def _avatar_url(partner):
    return f"/web/image/res.partner/{partner.id}/avatar_128" if partner else False


def _id_name(record):
    return {"id": record.id, "name": record.name} if record else False


def _message_rank(message):
    # a queued message has no WhatsApp time yet: it is as recent as its creation
    return (message.wa_timestamp or message.create_date, message.id)


def _older(message, other):
    """Whether ``message`` was written before ``other`` in the chat."""
    return bool(message.wa_timestamp) and message.wa_timestamp < (
        other.wa_timestamp or other.create_date
    )


# one concern of the model per file, as Odoo's mail spreads res.partner
class WhatsappConversation(models.Model):
    """The team inbox screen: its list of chats, a chat opened in it, who
    else has it open, and the live updates of both over Odoo's bus."""

    _inherit = "whatsapp.conversation"  # pylint: disable=consider-merging-classes-inherited

    # the inbox's search looks for a part of them (and of the messages' body)
    name = fields.Char(index="trigram")
    phone = fields.Char(index="trigram")
    wa_id = fields.Char(index="trigram")
    wa_username = fields.Char(index="trigram")
    last_wa_message_id = fields.Many2one(
        "whatsapp.message",
        string="Last WhatsApp Message",
        readonly=True,
        index=True,
        copy=False,
        ondelete="set null",
        help="The chat's latest message either way, automatic replies and "
        "templates included: the inbox's preview.",
    )
    unread_count = fields.Integer(
        "Unread Messages",
        readonly=True,
        copy=False,
        default=0,
        help="Customer messages since the chat was last read by its "
        "salesperson (or, unassigned, by anyone who may answer it).",
    )

    def init(self):
        result = super().init()
        # the inbox's list: newest chats first, a page at a time
        create_index(
            self.env.cr,
            "whatsapp_conversation_inbox_order_index",
            self._table,
            ["last_message_at DESC NULLS LAST", "id DESC"],
        )
        return result

    def _whatsapp_system_fields(self):
        return super()._whatsapp_system_fields() | {
            "last_wa_message_id",
            "unread_count",
        }

    def write(self, vals):
        result = super().write(vals)
        if ROW_FIELDS & set(vals):
            self._inbox_notify()
        return result

    # ------------------------------------------------------------
    # Kept by the addon
    # ------------------------------------------------------------

    def _inbox_on_messages(self, messages):
        """``messages`` of this chat were received or queued: the latest
        becomes the preview, and customer messages are unread."""
        self.ensure_one()
        chat_sudo = self.sudo()
        current = latest = chat_sudo.last_wa_message_id
        # what tells which is older, not the whole message
        current.fetch(["wa_timestamp", "create_date"])
        for message in messages.sudo().sorted("id"):
            # what we queue is new; a customer message Meta delivers late
            # stays behind the one shown
            if not latest or message.direction == "out" or not _older(message, latest):
                latest = message
        values = {}
        if latest != current:
            values["last_wa_message_id"] = latest.id
        unread = len(messages.filtered(self._is_unread))
        if unread:
            values["unread_count"] = chat_sudo.unread_count + unread
        if values:
            chat_sudo._write_bookkeeping(values)

    def _is_unread(self, message):
        """Whether ``message`` of this chat is something for the team to
        read, counted unread until someone opens the chat."""
        return (
            message.direction == "in" and message.message_type not in NOT_UNREAD_TYPES
        )

    def _inbox_refresh_last_message(self):
        for chat_sudo in self.sudo():
            latest = (
                self.env["whatsapp.message"]
                .sudo()
                .search([("conversation_id", "=", chat_sudo.id)])
                .sorted(_message_rank, reverse=True)[:1]
            )
            if latest != chat_sudo.last_wa_message_id:
                chat_sudo.last_wa_message_id = latest

    def _merge_into(self, target):
        unread = sum(self.mapped("unread_count"))
        result = super()._merge_into(target)
        target._inbox_refresh_last_message()
        if unread:
            target.sudo().unread_count += unread
        return result

    def _on_agent_reply(self):
        result = super()._on_agent_reply()
        # a person answered: they read what the customer wrote
        if not self.env.user._is_superuser():
            self.sudo().filtered("unread_count").write({"unread_count": 0})
        return result

    def _inbox_may_mark_read(self):
        """Reading a chat empties its unread count for its salesperson, and,
        unassigned, for whoever may answer it: not for a manager looking in."""
        self.ensure_one()
        if self.user_id:
            return self.user_id == self.env.user
        return self.has_access("write")

    def _inbox_mark_read(self):
        """Read by the one who answers: the unread count empties and the
        customer sees their messages read (when the number says so)."""
        self.ensure_one()
        if not self._inbox_may_mark_read():
            return
        if self.unread_count:
            self.sudo().unread_count = 0
        self.action_mark_read()

    # ------------------------------------------------------------
    # Live updates
    # ------------------------------------------------------------

    def _inbox_notify(self):
        """Send these chats' rows to their readers when the transaction
        commits: once per chat, however often it changed. Under a webhook
        processor, once per commit of the processor (``tools.batch``)."""
        if not self.ids:
            return
        batch = processor_batch(self.env.context)
        if batch is not None:
            batch.chat_ids.update(dict.fromkeys(self.ids))
            return
        cr = self.env.cr
        pending = cr.precommit.data.get(PENDING_ROWS)
        if pending is None:
            pending = cr.precommit.data[PENDING_ROWS] = {}

            @cr.precommit.add
            def send_rows():
                ids = list(cr.precommit.data.pop(PENDING_ROWS, {}))
                env = api.Environment(cr, SUPERUSER_ID, {})
                try:
                    # not a flushing savepoint: it would run (or, failing,
                    # clear) the other hooks of this commit from inside this one
                    with cr.savepoint(flush=False):
                        env["whatsapp.conversation"].browse(ids)._inbox_send_rows()
                except Exception:
                    # a screen left behind is refreshed by its next update;
                    # a customer message lost with its transaction is not
                    _logger.exception("WhatsApp inbox: rows of chats %s not sent", ids)

        pending.update(dict.fromkeys(self.ids))

    def _inbox_send_rows(self):
        chats = self.exists()
        readers = chats._inbox_readers()
        by_lang = defaultdict(lambda: self.env["res.users"])
        # their language, not their whole contacts (read as the readers
        # themselves are, as superuser: nothing of them leaves here)
        everyone_sudo = self.env["res.users"].sudo().union(*readers.values())
        everyone_sudo.fetch(["partner_id"])
        everyone_sudo.partner_id.fetch(["lang"])
        for users in readers.values():
            for user in users:
                by_lang[user.lang or "en_US"] |= user
        for lang, lang_users in by_lang.items():
            rows = chats.with_context(lang=lang)._inbox_rows()
            for chat in chats:
                payload = {"row": rows[chat.id]}
                for user in readers.get(chat.id, lang_users.browse()) & lang_users:
                    user._bus_send(ROW_NOTIFICATION, payload)

    def _inbox_readers(self, users=None):
        """``{chat id: users}``: the users the record rules let read each of
        these chats, by the rules themselves (one query for all). Of
        ``users`` (active internal users) when given.

        Every rule but the administrators' asks for a user of the chat's
        number: the number's users and the administrators are the ones to
        ask the rules about."""
        if not self:
            return {}
        if users is None:
            users = self.sudo().account_id.allowed_user_ids | self._inbox_admins()
        candidates = users.filtered(lambda user: user.active and not user.share)
        if not candidates:
            return {}
        readable = {user: self._inbox_readable_sql(user.id) for user in candidates}
        selects = [
            SQL(
                "(SELECT %s, readable.id FROM (%s) AS readable"
                " WHERE readable.id = ANY(%s))",
                user.id,
                query,
                self.ids,
            )
            for user, query in readable.items()
            if query is not None
        ]
        if not selects:
            return {}
        self.env.cr.execute(SQL(" UNION ALL ").join(selects))
        readers = defaultdict(lambda: self.env["res.users"].sudo())
        Users = self.env["res.users"].sudo()
        for user_id, chat_id in self.env.cr.fetchall():
            readers[chat_id] |= Users.browse(user_id)
        return readers

    @api.model
    def _inbox_admins(self):
        """The active WhatsApp administrators, in one query."""
        self.env["res.users"].flush_model(["active", "groups_id", "share"])
        self.env.cr.execute(
            """
            SELECT users.id, users.share
              FROM res_users users
              JOIN res_groups_users_rel grouped ON grouped.uid = users.id
             WHERE grouped.gid = %s AND users.active
             ORDER BY users.id
            """,
            [self.env["ir.model.data"]._xmlid_to_res_id(ADMIN_GROUP)],
        )
        rows = self.env.cr.fetchall()
        Users_sudo = self.env["res.users"].sudo()
        Users_sudo._known_from_query(rows)
        return Users_sudo.browse([row[0] for row in rows])

    @api.model
    @tools.ormcache("uid")
    def _inbox_readable_sql(self, uid):
        """The ids of the chats user ``uid`` may read, by the record rules,
        as an SQL query; ``None`` when the user may read none at all.

        Kept in memory: the query follows from the rules' domains, which
        Odoo keeps the same way (``ir.rule._compute_domain``) and forgets
        with them when a rule or a user's groups change; what a rule
        compares (a chat's number, salesperson, team) is read by the query
        itself, each time it runs."""
        env = api.Environment(self.env.cr, uid, {}, su=False)
        if not env["ir.model.access"].check(self._name, "read", raise_exception=False):
            return None  # left among a number's users without WhatsApp
        query = env[self._name]._search([])
        return query.select(SQL.identifier(query.table, "id"))

    # ------------------------------------------------------------
    # Rows
    # ------------------------------------------------------------

    def _inbox_rows(self):
        """``{chat id: row}``: what the inbox's list shows of each chat, the
        same for every reader (in the language of the environment)."""
        return {chat.id: chat._inbox_row() for chat in self}

    def _inbox_row(self):
        self.ensure_one()
        partner = self.partner_id
        return {
            "id": self.id,
            "name": self.name or "",
            "partner_id": partner.id or False,
            "avatar_url": _avatar_url(partner),
            "phone": self.phone or False,
            "wa_username": self.wa_username or False,
            "account": {"id": self.account_id.id, "name": self.account_id.name},
            "last_message_at": _datetime(self.last_message_at),
            "preview": self._inbox_preview(),
            "unread": self.unread_count,
            "state": self.state,
            "reply_deadline": _datetime(self.reply_deadline),
            "is_late": self.is_late,
            "labels": [
                {"id": label.id, "name": label.name, "color": label.color}
                for label in self.label_ids
            ],
            "user": _id_name(self.user_id),
            "team": _id_name(self.team_id),
            "window_expires_at": _datetime(self.window_expires_at),
            "opted_out": self.opted_out,
        }

    def _inbox_preview(self):
        message = self.last_wa_message_id
        if not message:
            return False
        if message.direction == "in":
            author = "system" if message.message_type == "system" else "customer"
        else:
            # automatic replies, automation rules and crons send as the system
            user = message.author_user_id
            author = "agent" if user and not user._is_superuser() else "system"
        return {
            "body": self._inbox_preview_text(message),
            "direction": message.direction,
            "state": message.state,
            "author": author,
        }

    def _inbox_preview_text(self, message):
        """The message in one line of plain text, for the list."""
        kind = message.message_type
        text = " ".join((message.body or "").split())
        if kind == "reaction":
            text = (
                _("Reacted %(emoji)s", emoji=message.reaction_emoji)
                if message.reaction_emoji
                else _("Removed a reaction")
            )
        elif kind in ("image", "video", "audio", "sticker", "document"):
            icon, label = {
                "image": ("📷", _("Photo")),
                "video": ("🎥", _("Video")),
                "audio": ("🎤", _("Voice message"))
                if message.is_voice
                else ("🎵", _("Audio")),
                "sticker": ("🖼️", _("Sticker")),
                "document": ("📄", message.media_filename or _("Document")),
            }[kind]
            text = f"{icon} {text or label}"
        elif kind == "location":
            text = f"📍 {text or _('Location')}"
        elif kind == "contacts":
            text = f"👤 {_('Contact')}"
        elif kind == "order":
            text = f"🛒 {text or _('Order')}"
        elif kind == "unsupported":
            text = _("Unsupported message")
        elif kind == "request_welcome":
            text = _("Opened the chat")
        elif not text:
            text = dict(message._fields["message_type"].selection).get(kind, kind)
        if len(text) > PREVIEW_LENGTH:
            text = text[: PREVIEW_LENGTH - 1] + "…"
        return text

    # ------------------------------------------------------------
    # The list
    # ------------------------------------------------------------

    @api.model
    def inbox_fetch(
        self,
        tab="mine",
        label_ids=(),
        states=(),
        account_ids=(),
        search="",
        offset=0,
        limit=50,
    ):
        """A page of the team inbox's list, with the count of each tab.

        ``tab``: ``mine`` (assigned to the caller), ``unassigned``, ``team``
        (the chats of the teams the caller leads or belongs to; WhatsApp
        managers only) or ``all`` (every chat the caller may read). Filters:
        labels (any of them), states (default: open, waiting and snoozed:
        every chat not done), numbers, and a text found in the customer's
        name, number or username or in a message. Rows come newest first.

        Returns ``{"rows": [...], "total": n, "counts": {tab: {"total": n,
        "unread": chats with unread messages}}}``; counts take the same
        filters, ``team`` is None for those who are not managers."""
        self.check_access("read")
        if tab not in TABS:
            raise UserError(_("Unknown inbox tab: %(tab)s.", tab=tab))
        is_manager = self.env.user.has_group(MANAGER_GROUP)
        if tab == "team" and not is_manager:
            raise AccessError(_("Only WhatsApp managers see their teams' chats."))
        base = self._inbox_filter_domain(label_ids, states, account_ids, search)
        tabs = self._inbox_tab_domains(is_manager)
        offset = max(int(offset or 0), 0)
        limit = min(max(int(limit or 50), 1), MAX_LIMIT)
        chats = self.search(
            expression.AND([base, tabs[tab]]),
            offset=offset,
            limit=limit,
            order=INBOX_ORDER,
        )
        rows = chats.sudo()._inbox_rows()
        counts = self._inbox_counts(base, tabs)
        counts.setdefault("team", None)
        return {
            "rows": [rows[chat.id] for chat in chats],
            "total": counts[tab]["total"],
            "counts": counts,
        }

    @api.model
    def _inbox_tab_domains(self, is_manager):
        uid = self.env.uid
        tabs = {
            "mine": [("user_id", "=", uid)],
            "unassigned": [("user_id", "=", False)],
            "all": [],
        }
        if is_manager:
            teams = (
                self.env["crm.team"]
                .sudo()
                .search(
                    [
                        "|",
                        ("user_id", "=", uid),
                        ("crm_team_member_ids.user_id", "=", uid),
                    ]
                )
            )
            tabs["team"] = [("team_id", "in", teams.ids)]
        return tabs

    @api.model
    def _inbox_filter_domain(self, label_ids, states, account_ids, search):
        states = list(states or ACTIVE_STATES)
        known = dict(STATES)
        unknown = [state for state in states if state not in known]
        if unknown:
            raise UserError(
                _(
                    "Unknown chat status: %(states)s.",
                    states=", ".join(map(str, unknown)),
                )
            )
        domain = [("state", "in", states)]
        if label_ids:
            domain.append(("label_ids", "in", [int(i) for i in label_ids]))
        if account_ids:
            domain.append(("account_id", "in", [int(i) for i in account_ids]))
        search = (search or "").strip()
        if search:
            domain = expression.AND([domain, self._inbox_search_domain(search)])
        return domain

    @api.model
    def _inbox_search_domain(self, text):
        """Chats whose customer's name (the chat's name: its partner's, kept
        in step), number, username or any message holds ``text``, any case.

        One set of ids, each part found through its trigram index; the
        caller's record rules apply to the chats found, as to any search."""
        self.flush_model(["name", "phone", "wa_username", "wa_id"])
        self.env["whatsapp.message"].flush_model(["body", "conversation_id"])
        pattern = f"%{escape_psql(text)}%"
        conditions = [
            SQL("name ILIKE %s", pattern),
            SQL("phone ILIKE %s", pattern),
            SQL("wa_username ILIKE %s", pattern),
        ]
        digits = re.sub(r"\D", "", text)
        if len(digits) >= 3:
            # a number typed with other spaces, dashes or prefix than ours
            conditions.append(SQL("wa_id LIKE %s", f"%{digits}%"))
        found = SQL(
            "(SELECT id FROM whatsapp_conversation WHERE %s"
            " UNION SELECT conversation_id FROM whatsapp_message WHERE body ILIKE %s)",
            SQL(" OR ").join(conditions),
            pattern,
        )
        return [("id", "in", found)]

    @api.model
    def _inbox_counts(self, base, tabs):
        """Every tab's chats and unread chats, in one query (the record
        rules are applied once)."""
        query = self._search(base)
        alias = query.table
        unread = SQL("%s > 0", self._field_to_sql(alias, "unread_count", query))
        columns = []
        for leaves in tabs.values():
            condition = SQL(" AND ").join(
                [SQL("TRUE")]
                + [
                    self._condition_to_sql(alias, fname, operator, value, query)
                    for fname, operator, value in leaves
                ]
            )
            columns.append(SQL("count(*) FILTER (WHERE %s)", condition))
            columns.append(SQL("count(*) FILTER (WHERE %s AND %s)", condition, unread))
        self.env.cr.execute(query.select(*columns))
        figures = iter(self.env.cr.fetchone())
        return {tab: {"total": next(figures), "unread": next(figures)} for tab in tabs}

    # ------------------------------------------------------------
    # A chat opened
    # ------------------------------------------------------------

    def inbox_open(self):
        """Open this chat in the inbox: what the screen shows beside the
        messages (the row, the customer, the lead, what the caller may do,
        the reply window, the number's templates, who else has it open).

        The caller must be allowed to read the chat. Opened by its
        salesperson (unassigned: by whoever may answer it), its unread count
        empties and WhatsApp is told the customer's messages were read (when
        the number says so); a manager looking in reads for nobody. The
        caller shows as viewing it."""
        self.ensure_one()
        self.check_access("read")
        self._inbox_mark_read()
        self._inbox_presence("viewing")
        row = self.sudo()._inbox_row()
        return {
            "row": row,
            "customer": self._inbox_customer(),
            "lead": self._inbox_lead(),
            "permissions": self._inbox_permissions(),
            "window": {
                "open": self._is_window_open(),
                "expires_at": _datetime(self.window_expires_at),
            },
            "templates": self._inbox_templates(),
            "viewers": self._inbox_viewers(),
        }

    def inbox_mark_read(self):
        """The caller read the chat (a message came in while it was open):
        its unread count empties as when opened, and WhatsApp is told."""
        self.ensure_one()
        self.check_access("read")
        self._inbox_mark_read()
        return True

    def _inbox_customer(self):
        self.ensure_one()
        partner = self.partner_id
        readable = bool(partner) and partner.has_access("read")
        others = (
            self.search(
                [("partner_id", "=", partner.id), ("id", "!=", self.id)],
                order=INBOX_ORDER,
                limit=20,
            )
            if partner
            else self.browse()
        )
        return {
            "partner_id": partner.id or False,
            "name": (readable and partner.name) or self.name or "",
            "phone": (readable and partner.phone) or self.phone or False,
            "mobile": (readable and partner.mobile) or False,
            "email": (readable and partner.email) or False,
            "avatar_url": _avatar_url(partner),
            "other_chats": [
                {
                    "id": chat.id,
                    "account_name": chat.account_id.name,
                    "last_message_at": _datetime(chat.last_message_at),
                    "user_name": chat.user_id.name or False,
                }
                for chat in others.sudo()
            ],
        }

    def _inbox_lead(self):
        self.ensure_one()
        lead = self.lead_id
        if not lead or not lead.has_access("read"):
            return False
        return {
            "id": lead.id,
            "name": lead.name,
            "stage": lead.stage_id.name or False,
            "expected_revenue_display": format_amount(
                self.env, lead.expected_revenue, lead.company_currency
            )
            if lead.company_currency
            else str(lead.expected_revenue),
            "probability": lead.probability,
            "tags": [
                {"id": tag.id, "name": tag.name, "color": tag.color}
                for tag in lead.tag_ids
            ],
            "user_name": lead.user_id.name or False,
        }

    def _inbox_permissions(self):
        """What the caller may do with the chat, as the server will decide it."""
        self.ensure_one()
        user = self.env.user
        can_write = self.has_access("write")
        is_manager = user.has_group(MANAGER_GROUP)
        of_number = user in self.account_id.sudo().allowed_user_ids
        return {
            "can_write": can_write,
            "can_claim": can_write and not self.user_id and of_number,
            "can_transfer": can_write and (self.user_id == user or is_manager),
            "can_assign": can_write and is_manager,
            "can_create_lead": can_write
            and bool(self.partner_id)
            and not self.lead_id
            and self.env["crm.lead"].has_access("write"),
        }

    def _inbox_templates(self):
        self.ensure_one()
        templates = self.env["whatsapp.template"].search(
            [("account_id", "=", self.account_id.id), ("status", "=", "approved")]
        )
        return [
            {
                "id": template.id,
                "name": template.name,
                "language": template.language,
                "category": template.category,
                "body_preview": self._inbox_shorten(template.body),
            }
            for template in templates
        ]

    @staticmethod
    def _inbox_shorten(text):
        text = " ".join((text or "").split())
        if len(text) > PREVIEW_LENGTH:
            text = text[: PREVIEW_LENGTH - 1] + "…"
        return text

    def _inbox_viewers(self):
        self.ensure_one()
        user_ids = self.env["whatsapp.inbox.viewer"].sudo()._current_user_ids(self)
        users = self.env["res.users"].sudo().browse(user_ids) - self.env.user
        return [{"id": user.id, "name": user.name} for user in users]

    # ------------------------------------------------------------
    # Who else is on the chat
    # ------------------------------------------------------------

    def inbox_presence(self, action):
        """The caller is ``viewing`` this chat (renewed every 30 seconds
        while it is open), ``typing`` in it, or ``left`` it. Its other
        readers are told over the bus; a viewer not renewed for a minute is
        gone. The caller must be allowed to read the chat."""
        self.ensure_one()
        self.check_access("read")
        if action not in PRESENCE_ACTIONS:
            raise UserError(_("Unknown presence: %(action)s.", action=action))
        self._inbox_presence(action)

    def _inbox_presence(self, action):
        self.ensure_one()
        user = self.env.user
        Viewer_sudo = self.env["whatsapp.inbox.viewer"].sudo()
        if action == "left":
            Viewer_sudo._leave(self, user)
        else:
            Viewer_sudo._renew(self, user, typing=action == "typing")
        payload = {
            "conversation_id": self.id,
            "user": {"id": user.id, "name": user.name},
            "action": action,
        }
        others = self._inbox_readers().get(self.id, self.env["res.users"]) - user
        for other in others:
            other._bus_send(PRESENCE_NOTIFICATION, payload)
