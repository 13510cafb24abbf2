from odoo import fields, models

ASSIGNMENT_METHODS = [
    ("manual", "Manual"),
    ("round_robin", "Round-robin"),
    ("least_loaded", "Least loaded"),
]


# a team may leave a lead setting to the number its chats come in on
LEAD_SETTING = [
    ("number", "As the number says"),
    ("yes", "Yes"),
    ("no", "No"),
]


class CrmTeam(models.Model):
    """How a sales team shares the WhatsApp chats that reach it."""

    _inherit = "crm.team"

    whatsapp_account_ids = fields.Many2many(
        "whatsapp.account",
        "whatsapp_account_crm_team_rel",
        "team_id",
        "account_id",
        string="WhatsApp Numbers",
        groups="whatsapp_team.group_whatsapp_admin",
        help="Numbers whose chats this team answers.",
    )
    whatsapp_assignment = fields.Selection(
        ASSIGNMENT_METHODS,
        string="Chat Assignment",
        default="round_robin",
        required=True,
        help="Manual: a manager assigns, salespeople claim. Round-robin: each "
        "new chat goes to the available member who got one longest ago. Least "
        "loaded: to the available member with the fewest open chats. "
        "Automatic methods give the chat to the customer's own salesperson "
        "first when they are available.",
    )
    whatsapp_response_minutes = fields.Integer(
        "Reply Within (minutes)",
        default=15,
        help="The team's service target: a waiting customer gets a first "
        "answer within this many minutes of the team's working hours. Due time "
        "of the “Reply on WhatsApp” activity; a later answer counts as a breach "
        "in the reports, and a chat still waiting then is escalated.",
    )
    whatsapp_calendar_id = fields.Many2one(
        "resource.calendar",
        string="Working Hours",
        help="Response times and the target are counted in these hours, "
        "leaves and public holidays excluded. Empty: around the clock.",
    )
    whatsapp_escalation = fields.Selection(
        [
            ("notify", "Tell the team leader"),
            ("reassign", "Give it to another available member"),
        ],
        string="When a Reply Is Late",
        default="notify",
        required=True,
    )

    whatsapp_create_leads = fields.Selection(
        LEAD_SETTING,
        string="Create Leads from Chats",
        default="number",
        required=True,
        help="A customer who writes to this team and has no open lead gets "
        "one, with WhatsApp as its source and medium. “As the number says” "
        "follows the number's own setting.",
    )
    whatsapp_lead_follows_chat = fields.Selection(
        LEAD_SETTING,
        string="Lead Follows the Chat",
        default="number",
        required=True,
        help="The linked lead's salesperson and team follow the chat's, and "
        "the other way round. “As the number says” follows the number's own "
        "setting.",
    )

    def _notify_get_recipients(self, message, msg_vals, **kwargs):
        """A leader's summary of late chats names customers: it is read in
        Odoo, as the chats themselves, never sent by email."""
        recipients = super()._notify_get_recipients(message, msg_vals, **kwargs)
        subtype_id = (
            msg_vals.get("subtype_id") if msg_vals else message.sudo().subtype_id.id
        )
        if subtype_id == self.env.ref("whatsapp_team.mt_late_chats").id:
            recipients = [r for r in recipients if r.get("uid") and not r.get("share")]
            for recipient in recipients:
                recipient["notif"] = "inbox"
        return recipients

    def _whatsapp_lead_setting(self, account, name):
        """The team's answer to the lead setting ``name`` (``create_leads``
        or ``lead_follows_chat``) for chats on ``account``: its own when it
        has one, else the number's."""
        value = self[f"whatsapp_{name}"] if self else "number"
        if value == "number":
            return bool(account[name])
        return value == "yes"

    def _whatsapp_members(self):
        """Active memberships, oldest first: a stable order for ties."""
        self.ensure_one()
        return self.env["crm.team.member"].search(
            [("crm_team_id", "=", self.id)], order="id"
        )

    def _whatsapp_pick_member(self, conversation, exclude_users=None):
        """The membership that gets ``conversation`` now, her turn taken; or
        an empty record.

        The customer's own salesperson first when available; then by the
        team's method among available members. Members who may not use the
        chat's number (not WhatsApp users) are never picked. Who has room
        and whose turn it is are read as every transaction sees them
        (``crm.team.member._whatsapp_take_turn``).
        """
        self.ensure_one()
        if self.whatsapp_assignment == "manual":
            return self.env["crm.team.member"]
        now = fields.Datetime.now()
        # only users of the chat's number may be given it
        allowed = conversation.account_id.sudo().allowed_user_ids - (
            exclude_users or self.env["res.users"]
        )
        members = self._whatsapp_members().filtered(lambda m: m.user_id in allowed)
        return members._whatsapp_present(now)._whatsapp_take_turn(
            self.whatsapp_assignment, conversation._whatsapp_owner()
        )
