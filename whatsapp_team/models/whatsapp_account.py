import secrets
import threading

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.osv import expression

from ..tools import outbound, replies
from ..tools import phone as phone_tools
from ..tools.fake_graph import FakeGraph, FakeTransport
from ..tools.graph_api import (
    DEFAULT_BASE_URL,
    DEFAULT_VERSION,
    GraphClient,
    GraphError,
)

ADMIN_GROUP = "whatsapp_team.group_whatsapp_admin"
USER_GROUP = "whatsapp_team.group_whatsapp_user"

# Sandbox numbers answer from an in-memory Graph API, one per number and
# database in this process; it holds the media the simulated customer "sent".
_SANDBOX_GRAPHS = {}
_SANDBOX_LOCK = threading.Lock()
# Approved templates a sandbox number offers, as Meta would list them.
_SANDBOX_TEMPLATES = [
    {
        "id": "900000000000001",
        "name": "order_update",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Your order"},
            {
                "type": "BODY",
                "text": "Hello {{1}}, your order {{2}} is on its way. "
                "Reply here if you have any question.",
            },
            {"type": "FOOTER", "text": "Sent from Odoo"},
        ],
    },
    {
        "id": "900000000000002",
        "name": "follow_up",
        "language": "en_US",
        "status": "APPROVED",
        "category": "MARKETING",
        "components": [
            {
                "type": "BODY",
                "text": "Hi {{1}}, we have news about the products you asked "
                "about. Shall we talk?",
            },
        ],
    },
]


class WhatsappAccount(models.Model):
    _name = "whatsapp.account"
    _description = "WhatsApp Number"
    _inherit = ["mail.thread"]
    _order = "sequence, id"

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True)
    sequence = fields.Integer(default=10)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    mode = fields.Selection(
        [("cloud", "WhatsApp Cloud API"), ("sandbox", "Sandbox (no Meta account)")],
        default="cloud",
        required=True,
        tracking=True,
        help="A sandbox number speaks to a built-in stand-in for Meta's API: "
        "everything works the same, nothing leaves Odoo.",
    )
    phone_number_id = fields.Char(
        "Phone Number ID",
        copy=False,
        index=True,
        tracking=True,
        help="Meta's id of this number (WhatsApp Manager > API Setup).",
    )
    business_account_id = fields.Char(
        "WhatsApp Business Account ID",
        tracking=True,
        help="Several numbers may belong to the same business account.",
    )
    app_id = fields.Char(
        "App ID",
        tracking=True,
        help="Your Meta app's id (App settings > Basic): templates with an "
        "image, video or document header upload their sample through it.",
    )
    display_phone_number = fields.Char("Phone Number", tracking=True)
    api_version = fields.Char(
        "Graph API Version", default=DEFAULT_VERSION, required=True
    )
    graph_base_url = fields.Char(
        "Graph API URL", default=DEFAULT_BASE_URL, required=True
    )
    access_token = fields.Char(copy=False, groups=ADMIN_GROUP)
    app_secret = fields.Char(
        copy=False,
        groups=ADMIN_GROUP,
        help="Meta signs every webhook with it; unsigned calls are refused.",
    )
    verify_token = fields.Char(
        copy=False,
        groups=ADMIN_GROUP,
        readonly=True,
        default=lambda self: secrets.token_urlsafe(24),
        help="Paste it in Meta's webhook configuration with the callback URL.",
    )
    callback_url = fields.Char("Callback URL", compute="_compute_callback_url")
    user_ids = fields.Many2many(
        "res.users",
        "whatsapp_account_res_users_rel",
        "account_id",
        "user_id",
        string="Allowed Users",
        domain=lambda self: [
            ("groups_id", "in", self.env.ref("whatsapp_team.group_whatsapp_user").id)
        ],
        help="WhatsApp users who see and answer the chats of this number.",
    )
    team_ids = fields.Many2many(
        "crm.team",
        "whatsapp_account_crm_team_rel",
        "account_id",
        "team_id",
        string="Sales Teams",
        help="Members of these teams see and answer the chats of this number, "
        "shared by each team's assignment method.",
    )
    # The one definition of who may use a number: the record rules, the
    # hand-over of a chat and automatic assignment all read it.
    allowed_user_ids = fields.Many2many(
        "res.users",
        string="Users of This Number",
        compute="_compute_allowed_user_ids",
        search="_search_allowed_user_ids",
        help="WhatsApp users named in Allowed Users, and the members and "
        "leaders of its sales teams who are WhatsApp users.",
    )
    team_id = fields.Many2one(
        "crm.team",
        string="Routing Team",
        help="The team new chats go to, unless the customer has an open lead "
        "in another team of this number. Defaults to the first team.",
    )
    greeting_enabled = fields.Boolean(
        "Greet New Customers",
        help="Answer a customer's first message on this number at once.",
    )
    greeting_message = fields.Text(
        translate=True,
        default=lambda self: _(
            "Hello {customer}, thank you for writing to {company}! A salesperson "
            "will answer you shortly."
        ),
        help="Placeholders: {customer}, {first_name}, {company}, {salesperson}.",
    )
    away_enabled = fields.Boolean(
        "Answer When Closed",
        help="Outside the business hours, answer at once that the team will "
        "reply later: at most once a day per chat.",
    )
    away_message = fields.Text(
        translate=True,
        default=lambda self: _(
            "Hello {customer}, {company} is closed right now. We will answer you "
            "as soon as we are back."
        ),
        help="Placeholders: {customer}, {first_name}, {company}, {salesperson}.",
    )
    business_hours_id = fields.Many2one(
        "resource.calendar",
        help="Its working hours, public holidays and closing days decide when "
        "the away message is sent.",
    )
    optout_keywords = fields.Char(
        "Opt-out Keywords",
        default=replies.DEFAULT_OPTOUT_KEYWORDS,
        help="A message that is exactly one of these words (any case) puts the "
        "customer's number on the blacklist. Separate with commas.",
    )
    optin_keywords = fields.Char(
        "Opt-in Keywords",
        default=replies.DEFAULT_OPTIN_KEYWORDS,
        help="A message that is exactly one of these words takes the number "
        "off the blacklist again. Separate with commas.",
    )
    create_leads = fields.Boolean(
        help="A customer who writes and has no open lead gets one, with "
        "WhatsApp as its source and medium. An open lead is linked instead. "
        "A sales team may decide otherwise for its chats.",
    )
    lead_follows_chat = fields.Boolean(
        "Lead Follows the Chat",
        default=True,
        help="The linked lead's sales team and salesperson follow the chat's, "
        "and the other way round. A sales team may decide otherwise for its "
        "chats.",
    )
    rate_limit = fields.Integer(
        "Messages per Second",
        default=80,
        help="Meta's throughput for this number (80 by default, up to 1,000; "
        "20 for numbers shared with the WhatsApp Business app).",
    )
    mark_read_on_open = fields.Boolean(
        "Mark Read When Opened",
        default=True,
        help="When a salesperson opens a chat, the customer sees their "
        "messages as read (blue ticks).",
    )
    send_typing_indicator = fields.Boolean(
        "Show Typing",
        help="While a salesperson writes a reply, the customer sees "
        "\u201ctyping\u2026\u201d. Meta marks their messages read at the same time.",
    )
    token_state = fields.Selection(
        [("valid", "Valid"), ("expired", "Needs a new token")],
        default="valid",
        required=True,
        readonly=True,
        tracking=True,
        help="Sending stops when Meta says the access token expired or was "
        "revoked, and resumes when an administrator pastes a new one.",
    )
    conversation_ids = fields.One2many("whatsapp.conversation", "account_id")
    template_ids = fields.One2many("whatsapp.template", "account_id")
    template_count = fields.Integer(compute="_compute_template_count")
    conversation_count = fields.Integer(compute="_compute_conversation_count")

    _sql_constraints = [
        (
            "phone_number_id_uniq",
            "unique(phone_number_id)",
            "This WhatsApp phone number id is already configured.",
        ),
    ]

    def _compute_callback_url(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
        for account in self:
            account.callback_url = f"{base_url}/whatsapp/webhook"

    @api.depends(
        "user_ids.active",
        "user_ids.groups_id",
        "team_ids.active",
        "team_ids.crm_team_member_ids.active",
        "team_ids.crm_team_member_ids.user_id.active",
        "team_ids.crm_team_member_ids.user_id.groups_id",
        "team_ids.user_id.active",
        "team_ids.user_id.groups_id",
    )
    def _compute_allowed_user_ids(self):
        group = self._user_group()
        # who may use a number is no secret to those who read it
        stored = self.filtered(lambda account: isinstance(account.id, int))
        users_of = stored._allowed_user_ids_stored(group.id) if stored else {}
        Users = self.env["res.users"]
        for account in stored:
            account.allowed_user_ids = Users.browse(users_of.get(account.id, ()))
        for account in self - stored:
            # a number being edited in its form: what the form holds
            account_sudo = account.sudo()
            users = (
                account_sudo.user_ids
                | account_sudo.team_ids.crm_team_member_ids.user_id
                | account_sudo.team_ids.user_id
            )._origin  # the users themselves, with their groups
            users = users.filtered(lambda user: user.active and group in user.groups_id)
            # in the users' order, as for a saved number
            account.allowed_user_ids = users.search([("id", "in", users.ids)])

    def _allowed_user_ids_stored(self, group_id):
        """``{number id: user ids}``: the users of these numbers as stored,
        in one query. The processors ask at every commit, for the inbox's
        readers and the salespeople to choose from: through the fields it
        was some eight reads (numbers, teams, members, users, groups).

        The same users as the fields give: the number's allowed users, the
        active members and the leaders of its active teams, when active and
        in ``group_id``; in the users' order (name, login)."""
        self.env["res.users"].flush_model(["active", "groups_id", "share", "login"])
        self.env["res.partner"].flush_model(["name"])
        self.env["crm.team"].flush_model(["active", "user_id"])
        self.env["crm.team.member"].flush_model(["active", "crm_team_id", "user_id"])
        self.flush_recordset(["user_ids", "team_ids"])
        self.env.cr.execute(
            """
            SELECT named.account_id, users.id, users.share
              FROM (
                    SELECT account_id, user_id
                      FROM whatsapp_account_res_users_rel
                     WHERE account_id = ANY(%(ids)s)
                     UNION
                    SELECT rel.account_id, member.user_id
                      FROM whatsapp_account_crm_team_rel rel
                      JOIN crm_team team ON team.id = rel.team_id AND team.active
                      JOIN crm_team_member member
                        ON member.crm_team_id = team.id AND member.active
                     WHERE rel.account_id = ANY(%(ids)s)
                     UNION
                    SELECT rel.account_id, team.user_id
                      FROM whatsapp_account_crm_team_rel rel
                      JOIN crm_team team ON team.id = rel.team_id AND team.active
                     WHERE rel.account_id = ANY(%(ids)s)
                   ) AS named
              JOIN res_users users ON users.id = named.user_id AND users.active
              JOIN res_groups_users_rel grouped
                ON grouped.uid = users.id AND grouped.gid = %(group)s
              JOIN res_partner partner ON partner.id = users.partner_id
             ORDER BY named.account_id, partner.name, users.login
            """,
            {"ids": self.ids, "group": group_id},
        )
        rows = self.env.cr.fetchall()
        users_of = {}
        for account_id, user_id, _share in rows:
            users_of.setdefault(account_id, []).append(user_id)
        self.env["res.users"]._known_from_query([row[1:] for row in rows])
        return users_of

    def _user_group(self):
        # the record rules search this on every read of a chat: the group is
        # found through the cached external id, without a query
        group_id = self.env["ir.model.data"]._xmlid_to_res_id(USER_GROUP)
        return self.env["res.groups"].browse(group_id)

    def _search_allowed_user_ids(self, operator, value):
        if operator not in ("in", "=") or value is False:
            raise UserError(_("Search the users of a number with = or in only."))
        ids = [value] if isinstance(value, int) else list(value)
        group = self._user_group()
        users = (
            self.env["res.users"]
            .sudo()
            .browse(ids)
            .filtered(lambda user: user.active and group in user.groups_id)
        )
        return expression.OR(
            [
                [("user_ids", "in", users.ids)],
                [("team_ids.crm_team_member_ids.user_id", "in", users.ids)],
                [("team_ids.user_id", "in", users.ids)],
            ]
        )

    def _compute_conversation_count(self):
        counts = dict(
            self.env["whatsapp.conversation"]._read_group(
                [("account_id", "in", self.ids)], ["account_id"], ["__count"]
            )
        )
        for account in self:
            account.conversation_count = counts.get(account, 0)

    def _compute_template_count(self):
        counts = dict(
            self.env["whatsapp.template"]._read_group(
                [("account_id", "in", self.ids)], ["account_id"], ["__count"]
            )
        )
        for account in self:
            account.template_count = counts.get(account, 0)

    @api.constrains("mode", "phone_number_id")
    def _check_phone_number_id(self):
        for account in self:
            if account.mode == "cloud" and not account.phone_number_id:
                raise ValidationError(
                    _("A WhatsApp Cloud API number needs its phone number id.")
                )

    @api.constrains("greeting_message", "away_message")
    def _check_automatic_reply_length(self):
        """Refused when saved, in every language it is written in, rather than
        failing when a customer writes."""
        languages = [code for code, _name in self.env["res.lang"].get_installed()]
        for account in self:
            for language in languages:
                translated = account.with_context(lang=language)
                for name in ("greeting_message", "away_message"):
                    too_long = outbound.length_problem(
                        translated[name], outbound.MAX_TEXT_LENGTH
                    )
                    if too_long:
                        raise ValidationError(
                            _(
                                "%(field)s: WhatsApp takes at most %(limit)s "
                                "characters in a message, this one has %(length)s.",
                                field=self._fields[name]._description_string(self.env),
                                **too_long,
                            )
                        )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("mode") == "sandbox":
                vals.setdefault("phone_number_id", f"sandbox-{secrets.token_hex(6)}")
                vals.setdefault("app_secret", secrets.token_hex(16))
                vals.setdefault("access_token", secrets.token_hex(16))
                vals.setdefault("business_account_id", "sandbox")
                vals.setdefault("app_id", "sandbox")
        return super().create(vals_list)

    def write(self, vals):
        result = super().write(vals)
        if vals.get("access_token"):
            expired = self.filtered(lambda a: a.token_state == "expired")
            if expired:
                expired.token_state = "valid"
                # messages waiting for the new token go out now
                self.env["ir.cron"]._whatsapp_wake(
                    "whatsapp_team.ir_cron_send_messages"
                )
        return result

    def action_view_conversations(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "whatsapp_team.whatsapp_conversation_action"
        )
        action["domain"] = [("account_id", "=", self.id)]
        action["context"] = {"default_account_id": self.id}
        return action

    def action_sync_templates(self):
        """Bring this number's templates from Meta now (administrators)."""
        self.check_access("write")
        total = 0
        for account in self:
            try:
                total += self.env["whatsapp.template"]._sync_account(account)
            except GraphError as error:
                raise UserError(
                    _(
                        "Meta did not give the templates of %(number)s: %(error)s",
                        number=account.name,
                        error=error,
                    )
                ) from error
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": _("%(count)s templates synced from Meta.", count=total),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def action_view_templates(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "whatsapp_team.whatsapp_template_action"
        )
        action["domain"] = [("account_id", "=", self.id)]
        return action

    def action_regenerate_verify_token(self):
        """A new token for Meta's webhook handshake (administrators)."""
        self.check_access("write")
        for account in self:
            account.verify_token = secrets.token_urlsafe(24)

    def action_simulate_message(self):
        self.ensure_one()
        self.check_access("write")
        return {
            "type": "ir.actions.act_window",
            "name": _("Simulate an incoming message"),
            "res_model": "whatsapp.sandbox.message",
            "view_mode": "form",
            "target": "new",
            "context": {"default_account_id": self.id},
        }

    # ------------------------------------------------------------
    # Graph API
    # ------------------------------------------------------------

    @api.constrains("team_id", "team_ids")
    def _check_routing_team(self):
        for account in self:
            if account.team_id and account.team_id not in account.team_ids:
                raise ValidationError(
                    _(
                        "The routing team of %(number)s must be one of its sales "
                        "teams.",
                        number=account.name,
                    )
                )

    def _is_open_at(self, moment):
        """Inside the business hours at ``moment`` (naive UTC), holidays and
        closing days included. Without business hours: always open."""
        self.ensure_one()
        return self.business_hours_id._whatsapp_works_at(moment)

    def _local_day(self, moment):
        """The date at ``moment`` (naive UTC) where the business is: in the
        time zone of its business hours, else the company's."""
        self.ensure_one()
        tz_name = (
            self.business_hours_id.tz
            or self.company_id.resource_calendar_id.tz
            or self.env.user.tz
            or "UTC"
        )
        return pytz.utc.localize(moment).astimezone(pytz.timezone(tz_name)).date()

    def _get_graph_client(self):
        """Return the Graph API client of this number.

        Sandbox numbers get the same client over an in-process transport that
        answers like Meta, so every code path is the one real numbers take.
        """
        self.ensure_one()
        account_sudo = self.sudo()
        transport = None
        if account_sudo.mode == "sandbox":
            transport = FakeTransport(account_sudo._get_sandbox_graph())
        return GraphClient(
            access_token=account_sudo.access_token or "",
            phone_number_id=account_sudo.phone_number_id,
            business_account_id=account_sudo.business_account_id or "",
            version=account_sudo.api_version,
            base_url=account_sudo.graph_base_url,
            transport=transport,
        )

    def _get_sandbox_graph(self):
        self.ensure_one()
        key = (self.env.cr.dbname, self.id)
        with _SANDBOX_LOCK:
            if key not in _SANDBOX_GRAPHS:
                # no reviewer in the sandbox: templates are approved at once
                graph = FakeGraph(
                    access_token=self.sudo().access_token or None,
                    approve_templates=True,
                )
                # fixed ids: every process of a sandbox number has the same ones
                graph.templates.extend(_SANDBOX_TEMPLATES)
                _SANDBOX_GRAPHS[key] = graph
            return _SANDBOX_GRAPHS[key]

    def _default_region(self):
        """Country used to read numbers typed without their prefix."""
        self.ensure_one()
        # a company's country is the address of its partner, computed again
        # after every commit: read where it is kept
        partner = self.company_id.partner_id
        # these two, not the company's whole contact
        partner.fetch(["country_id", "type"])
        country = (
            partner.country_id
            if partner.type == "contact"
            else self.company_id.country_id
        )
        if not country and self.display_phone_number:
            return phone_tools.region_of(self.display_phone_number)
        return country.code or None

    def _set_token_expired(self, error):
        """Stop sending on this number and tell its administrators, once."""
        for account in self.filtered(lambda a: a.token_state == "valid"):
            account.token_state = "expired"
            admins = (
                self.env.ref(ADMIN_GROUP)
                .sudo()
                .users.filtered_domain([("company_ids", "in", account.company_id.ids)])
            )
            account.sudo().message_post(
                body=_(
                    "Meta refused this number's access token (%(error)s). Messages "
                    "to customers wait until an administrator pastes a new access "
                    "token on this number.",
                    error=error,
                ),
                partner_ids=admins.partner_id.ids,
                subtype_xmlid="mail.mt_comment",
                message_type="notification",
            )
