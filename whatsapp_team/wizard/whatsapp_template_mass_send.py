from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..models.ir_actions_server import WHATSAPP_MODELS
from ..tools import phone as phone_tools


class WhatsappTemplateMassSend(models.TransientModel):
    """Send one template to many partners or leads (list action)."""

    _name = "whatsapp.template.mass.send"
    _description = "Send a WhatsApp template to many customers"

    res_model = fields.Char(required=True, readonly=True)
    res_ids = fields.Json(required=True, readonly=True)
    record_count = fields.Integer(compute="_compute_record_count")
    account_id = fields.Many2one(
        "whatsapp.account",
        string="WhatsApp Number",
        required=True,
        default=lambda self: self.env["whatsapp.account"].search([], limit=1),
    )
    template_id = fields.Many2one(
        "whatsapp.template",
        required=True,
        domain="[('account_id', '=', account_id), ('status', '=', 'approved')]",
    )
    line_ids = fields.One2many(
        "whatsapp.template.mass.send.line",
        "wizard_id",
        compute="_compute_line_ids",
        store=True,
        readonly=False,
    )
    campaign_id = fields.Many2one(
        "utm.campaign",
        help="The campaign this send belongs to: its messages' cost is summed "
        "per campaign in the WhatsApp cost report. Empty: a campaign is made "
        "for this send.",
    )
    report = fields.Text(readonly=True)
    state = fields.Selection([("draft", "Draft"), ("done", "Done")], default="draft")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        if context.get("active_model") and context.get("active_ids"):
            values.setdefault("res_model", context["active_model"])
            values.setdefault("res_ids", context["active_ids"])
        return values

    @api.depends("res_ids")
    def _compute_record_count(self):
        for wizard in self:
            wizard.record_count = len(wizard.res_ids or [])

    @api.depends("template_id")
    def _compute_line_ids(self):
        # the template's mapping, shown; free texts may be changed for this send
        for wizard in self:
            wizard.line_ids = [(5, 0, 0)] + [
                (
                    0,
                    0,
                    {
                        "variable_id": variable.id,
                        "value": variable.free_text
                        if variable.source == "free_text"
                        else False,
                    },
                )
                for variable in wizard.template_id.variable_ids
            ]

    def _customer_of(self, record):
        return record if record._name == "res.partner" else record.partner_id

    def _skip_reason(self, record, partner):
        if not partner:
            return _("no customer")
        region = partner.country_id.code or self.account_id._default_region()
        numbers = [
            phone_tools.to_e164(number, region)
            for number in (partner.mobile, partner.phone)
            if number
        ]
        numbers = [number for number in numbers if number]
        if not numbers:
            return _("no mobile or phone number WhatsApp can reach")
        blacklisted = (
            self.env["phone.blacklist"].sudo().search_count([("number", "in", numbers)])
        )
        if blacklisted:
            return _("the number is on the blacklist (the customer opted out)")
        # an opt-out the blacklist cannot hold is kept on the customer's chats
        keys = [
            phone_tools.match_key(number, region)
            for number in (partner.mobile, partner.phone)
            if number
        ]
        opted_out = (
            self.env["whatsapp.conversation"]
            .sudo()
            .search_count(
                [("phone_key", "in", [k for k in keys if k]), ("opted_out", "=", True)],
                limit=1,
            )
        )
        if opted_out:
            return _("the customer opted out")
        return None

    def _values_for(self, record):
        """The variables' texts for ``record`` from the template's mapping, with
        this send's free texts; and the variables left empty."""
        values = self.template_id._resolve_values(record)
        for line in self.line_ids.filtered(lambda line: line.source == "free_text"):
            values[(line.location, line.position)] = (line.value or "").strip()
        body = {n: text for (where, n), text in values.items() if where == "body"}
        header = values.get(("header", 1), "")
        empty = [
            line.variable_id.name
            for line in self.line_ids
            if not values.get((line.location, line.position))
        ]
        return body, header, empty

    def action_send(self):
        self.ensure_one()
        if self.res_model not in WHATSAPP_MODELS:
            raise UserError(
                _("WhatsApp templates are sent to contacts and leads only.")
            )
        self.account_id.check_access("read")  # a number this user may use
        self.template_id._check_sendable()
        if any(
            line.source == "free_text" and not (line.value or "").strip()
            for line in self.line_ids
        ):
            raise UserError(_("Fill in the text of every free text variable."))
        records = self.env[self.res_model].browse(self.res_ids).exists()
        Conversation = self.env["whatsapp.conversation"]
        Message = self.env["whatsapp.message"]
        sent, skipped = 0, []
        queued = Message
        for record in records:
            partner = self._customer_of(record)
            reason = self._skip_reason(record, partner)
            if reason:
                skipped.append(f"{record.display_name}: {reason}")
                continue
            body, header, empty = self._values_for(record)
            if empty:
                skipped.append(
                    _(
                        "%(record)s: nothing to put in %(variables)s (the field is "
                        "empty and the template gives no text for that case)",
                        record=record.display_name,
                        variables=", ".join(empty),
                    )
                )
                continue
            too_long = self.template_id._values_too_long(body, header)
            if too_long:
                skipped.append(f"{record.display_name}: {too_long}")
                continue
            conversation = Conversation._get_or_create_for_partner(
                self.account_id, partner
            )
            if not conversation.has_access("write"):
                # a colleague's chat, or another team's: theirs to answer
                skipped.append(
                    _(
                        "%(record)s: the chat with this customer on %(number)s "
                        "is handled by %(user)s; ask them or a manager",
                        record=record.display_name,
                        number=self.account_id.name,
                        user=conversation.sudo().user_id.name
                        or conversation.sudo().team_id.name
                        or _("another team"),
                    )
                )
                continue
            if conversation.opted_out:
                # said STOP while known by their username only
                skipped.append(
                    _("%(record)s: the customer opted out", record=record.display_name)
                )
                continue
            queued |= Message._queue_template(
                conversation, self.template_id, body, header
            )
            sent += 1
        if queued:
            self._tag_campaign(queued)
        lines = [
            _(
                "%(count)s messages queued with %(template)s.",
                count=sent,
                template=self.template_id.display_name,
            )
        ]
        if skipped:
            lines.append(_("%(count)s skipped:", count=len(skipped)))
            lines += [f"- {line}" for line in skipped]
        self.write({"report": "\n".join(lines), "state": "done"})
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    def _tag_campaign(self, messages):
        """The messages of this send belong to its campaign (made for it
        when none was chosen): their cost is summed per campaign."""
        if not self.campaign_id:
            self.campaign_id = self.env["utm.campaign"].create(
                {
                    "title": _(
                        "WhatsApp: %(template)s, %(date)s",
                        template=self.template_id.name,
                        date=fields.Datetime.context_timestamp(
                            self, fields.Datetime.now()
                        ).strftime("%Y-%m-%d %H:%M"),
                    )
                }
            )
        # the messages are written by the addon only; the user queued them
        messages.sudo().write({"campaign_id": self.campaign_id.id})


class WhatsappTemplateMassSendLine(models.TransientModel):
    _name = "whatsapp.template.mass.send.line"
    _description = "Template variable for a mass send"
    _order = "id"

    wizard_id = fields.Many2one(
        "whatsapp.template.mass.send", required=True, ondelete="cascade"
    )
    variable_id = fields.Many2one(
        "whatsapp.template.variable", string="Template Variable", required=True
    )
    name = fields.Char(related="variable_id.name")
    location = fields.Selection(related="variable_id.location")
    position = fields.Integer(related="variable_id.position")
    source = fields.Selection(related="variable_id.source", string="Source")
    description = fields.Char("Value", compute="_compute_description")
    value = fields.Char("Text")

    @api.depends("variable_id")
    def _compute_description(self):
        sources = dict(
            self.env["whatsapp.template.variable"]
            ._fields["source"]
            ._description_selection(self.env)
        )
        for line in self:
            variable = line.variable_id
            description = sources.get(variable.source, "")
            if variable.source != "free_text":
                description = f"{description}: {variable.field_path or ''}"
                if variable.fallback:
                    description += _(" (else “%(text)s”)", text=variable.fallback)
            line.description = description
