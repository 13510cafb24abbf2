from odoo import api, models, tools

# what the webhook reads of a number to check a body's signature
SIGNING_FIELDS = ("phone_number_id", "business_account_id", "app_secret", "active")


class WhatsappAccount(models.Model):
    """What the webhook needs of the numbers, kept in memory.

    Every webhook checks its signature against the numbers' app secrets. They
    change seldom: each server process keeps them (Odoo's ``ormcache``) and
    forgets them when a number is added, removed, or changes one of
    :data:`SIGNING_FIELDS`, in every process and server at once (Odoo's cache
    signaling through the database). The webhook then stores a body without
    reading the numbers from the database.
    """

    _inherit = "whatsapp.account"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    @tools.ormcache()
    def _webhook_signers(self):
        """``(id, phone_number_id, business_account_id, app_secret, active)``
        of every number, archived ones included, by id."""
        # a change not yet written must not be kept as the old value
        self.flush_model(SIGNING_FIELDS)
        self.env.cr.execute(
            """
            SELECT id, phone_number_id, business_account_id, app_secret, active
              FROM whatsapp_account
             ORDER BY id
            """
        )
        return tuple(self.env.cr.fetchall())

    @api.model_create_multi
    def create(self, vals_list):
        accounts = super().create(vals_list)
        self.env.registry.clear_cache()
        return accounts

    def write(self, vals):
        result = super().write(vals)
        if any(name in vals for name in SIGNING_FIELDS):
            self.env.registry.clear_cache()
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result
