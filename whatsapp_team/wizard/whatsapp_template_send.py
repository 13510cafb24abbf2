from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError

SOURCE_MODELS = ("res.partner", "crm.lead")


class WhatsappTemplateSend(models.TransientModel):
    """Send an approved template to one customer, window open or not.

    Opened from a conversation, or from a partner or lead (``res_model`` and
    ``res_id``): the variables are filled from the template's mapping on that
    record and can still be changed.
    """

    _name = "whatsapp.template.send"
    _description = "Send a WhatsApp template"

    conversation_id = fields.Many2one("whatsapp.conversation")
    res_model = fields.Char("Sent From")
    res_id = fields.Many2oneReference(model_field="res_model")
    partner_id = fields.Many2one(
        "res.partner", string="Customer", compute="_compute_partner_id"
    )
    account_id = fields.Many2one(
        "whatsapp.account",
        string="WhatsApp Number",
        compute="_compute_account_id",
        store=True,
        readonly=False,
        # with the user's rights: never the number of a chat they may not read
        compute_sudo=False,
    )
    template_id = fields.Many2one(
        "whatsapp.template",
        required=True,
        domain="[('account_id', '=', account_id), ('status', '=', 'approved')]",
    )
    line_ids = fields.One2many(
        "whatsapp.template.send.line",
        "wizard_id",
        compute="_compute_line_ids",
        store=True,
        readonly=False,
    )
    preview = fields.Html(compute="_compute_preview", sanitize=True)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        if context.get("active_model") in SOURCE_MODELS and context.get("active_id"):
            values.setdefault("res_model", context["active_model"])
            values.setdefault("res_id", context["active_id"])
        return values

    @api.depends("conversation_id")
    def _compute_account_id(self):
        for wizard in self:
            wizard.account_id = (
                wizard.conversation_id.account_id
                or wizard.account_id
                or self.env["whatsapp.account"].search([], limit=1)
            )

    @api.depends("conversation_id", "res_model", "res_id")
    def _compute_partner_id(self):
        for wizard in self:
            record = wizard._source_record()
            if record._name == "res.partner":
                wizard.partner_id = record
            else:
                wizard.partner_id = record.partner_id

    @api.depends("template_id")
    def _compute_line_ids(self):
        for wizard in self:
            template = wizard.template_id
            record = wizard._source_record()
            values = template._resolve_values(record) if template and record else {}
            wizard.line_ids = [(5, 0, 0)] + [
                (
                    0,
                    0,
                    {
                        "location": line.location,
                        "position": line.position,
                        "value": values.get((line.location, line.position), ""),
                    },
                )
                for line in template.variable_ids
            ]

    @api.depends("template_id", "line_ids.value")
    def _compute_preview(self):
        for wizard in self:
            if not wizard.template_id:
                wizard.preview = Markup()
                continue
            body, header = wizard._values()
            wizard.preview = wizard.template_id._render_preview(body, header)

    def _source_record(self):
        """The record the variables are read from: the partner or lead the
        wizard was opened from, else the conversation."""
        self.ensure_one()
        if self.res_model in SOURCE_MODELS and self.res_id:
            return self.env[self.res_model].browse(self.res_id)
        return self.conversation_id

    def _values(self):
        body = {}
        header = ""
        for line in self.line_ids:
            if line.location == "header":
                header = line.value or ""
            else:
                body[line.position] = line.value or ""
        return body, header

    def action_send(self):
        self.ensure_one()
        missing = [line.name for line in self.line_ids if not line.value]
        if missing:
            raise UserError(
                _(
                    "Fill in every variable of the template: %(missing)s",
                    missing=", ".join(missing),
                )
            )
        self.account_id.check_access("read")  # a number this user may use
        conversation = self.conversation_id
        if not conversation:
            if not self.partner_id:
                raise UserError(_("This lead has no customer to send the template to."))
            conversation = self.env["whatsapp.conversation"]._get_or_create_for_partner(
                self.account_id, self.partner_id
            )
        # the conversation may come back as sudo: check as the sender
        conversation.with_env(self.env).check_access("write")
        body, header = self._values()
        self.env["whatsapp.message"]._queue_template(
            conversation, self.template_id, body, header
        )
        conversation._on_agent_reply()
        return {"type": "ir.actions.act_window_close"}


class WhatsappTemplateSendLine(models.TransientModel):
    _name = "whatsapp.template.send.line"
    _description = "Template variable"
    _order = "location desc, position"

    wizard_id = fields.Many2one(
        "whatsapp.template.send", required=True, ondelete="cascade"
    )
    location = fields.Selection(
        [("header", "Header"), ("body", "Body")], default="body", required=True
    )
    position = fields.Integer()
    name = fields.Char("Variable", compute="_compute_name")
    value = fields.Char()

    @api.depends("location", "position")
    def _compute_name(self):
        for line in self:
            variable = f"{{{{{line.position}}}}}"
            line.name = (
                _("Header %(variable)s", variable=variable)
                if line.location == "header"
                else variable
            )
