import logging

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

_logger = logging.getLogger(__name__)

# the records a WhatsApp template can be sent from: they lead to a customer
WHATSAPP_MODELS = ("res.partner", "crm.lead")


class IrActionsServer(models.Model):
    """ "Send WhatsApp template" server actions, for automation rules
    (reminders, birthdays, follow-ups)."""

    _inherit = "ir.actions.server"

    state = fields.Selection(
        selection_add=[("whatsapp", "Send WhatsApp template")],
        ondelete={"whatsapp": "cascade"},
    )
    whatsapp_account_id = fields.Many2one(
        "whatsapp.account", string="WhatsApp Number", ondelete="set null"
    )
    whatsapp_template_id = fields.Many2one(
        "whatsapp.template",
        string="WhatsApp Template",
        ondelete="set null",
        domain="[('account_id', '=', whatsapp_account_id),"
        " ('status', '=', 'approved')]",
    )

    @api.depends("state")
    def _compute_available_model_ids(self):
        whatsapp = self.filtered(lambda action: action.state == "whatsapp")
        if whatsapp:
            allowed = self.env["ir.model"].search([("model", "in", WHATSAPP_MODELS)])
            for action in whatsapp:
                action.available_model_ids = allowed.ids
        return super(IrActionsServer, self - whatsapp)._compute_available_model_ids()

    @api.constrains("state", "model_id")
    def _check_whatsapp_model(self):
        for action in self:
            if (
                action.state == "whatsapp"
                and action.model_id.model not in WHATSAPP_MODELS
            ):
                raise ValidationError(
                    _("WhatsApp templates can be sent from contacts and leads only.")
                )

    def _run_action_whatsapp_multi(self, eval_context=None):
        records = eval_context.get("records") or eval_context.get("record")
        if not records or not self.whatsapp_template_id or self._is_recompute():
            return False
        # An automation rule runs its actions as superuser (base_automation):
        # set up by an administrator, it sends as the system, whoever
        # triggers it. Run by hand (the action menu, the external API), the
        # action sends as that user, with every check of theirs: the number
        # they may use, each chat they may answer. Either way the variables
        # read the records with the rights of the user (see
        # whatsapp.template._resolve_values).
        as_system = records.env.su
        Wizard = self.env["whatsapp.template.mass.send"].with_env(records.env)
        wizard = Wizard.with_context(
            active_model=records._name, active_ids=records.ids
        ).create(
            {
                "account_id": self.whatsapp_account_id.id,
                "template_id": self.whatsapp_template_id.id,
            }
        )
        wizard.action_send()
        _logger.info(
            "Server action %s (%s): %s",
            self.name,
            "automation" if as_system else f"run by user {records.env.uid}",
            wizard.report,
        )
        return False
