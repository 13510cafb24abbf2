from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools import outbound
from ..tools import phone as phone_tools

# Where each template variable takes its value from, per customer.
SOURCES = [
    ("customer", "Customer name"),
    ("first_name", "Customer first name"),
    ("salesperson", "Salesperson"),
    ("company", "Company"),
    ("record", "Lead / record name"),
    ("text", "Fixed text"),
]


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
        for wizard in self:
            positions = outbound.template_variables(wizard.template_id.body)
            wizard.line_ids = [(5, 0, 0)] + [
                (0, 0, {"position": n, "source": "customer" if n == 1 else "text"})
                for n in positions
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
        return None

    def _values_for(self, record, partner):
        values = {}
        for line in self.line_ids:
            if line.source == "customer":
                value = partner.name
            elif line.source == "first_name":
                value = (partner.name or "").split(" ")[0]
            elif line.source == "salesperson":
                value = (partner.user_id or record["user_id"] or self.env.user).name
            elif line.source == "company":
                value = self.account_id.company_id.name
            elif line.source == "record":
                value = record.display_name
            else:
                value = line.value
            values[line.position] = value or ""
        return values

    def action_send(self):
        self.ensure_one()
        self.account_id.check_access("read")  # a number this user may use
        self.template_id._check_sendable()
        if any(line.source == "text" and not line.value for line in self.line_ids):
            raise UserError(
                _("Fill in the fixed text of every variable that uses one.")
            )
        records = self.env[self.res_model].browse(self.res_ids).exists()
        Conversation = self.env["whatsapp.conversation"]
        Message = self.env["whatsapp.message"]
        sent, skipped = 0, []
        for record in records:
            partner = self._customer_of(record)
            reason = self._skip_reason(record, partner)
            if reason:
                skipped.append(f"{record.display_name}: {reason}")
                continue
            conversation = Conversation._get_or_create_for_partner(
                self.account_id, partner
            )
            Message._queue_template(
                conversation, self.template_id, self._values_for(record, partner)
            )
            sent += 1
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


class WhatsappTemplateMassSendLine(models.TransientModel):
    _name = "whatsapp.template.mass.send.line"
    _description = "Template variable source"
    _order = "position"

    wizard_id = fields.Many2one(
        "whatsapp.template.mass.send", required=True, ondelete="cascade"
    )
    position = fields.Integer()
    source = fields.Selection(SOURCES, required=True, default="text")
    value = fields.Char("Fixed Text")
