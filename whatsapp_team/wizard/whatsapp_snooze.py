from datetime import datetime, time, timedelta

import pytz

from odoo import _, fields, models
from odoo.exceptions import UserError


def _tomorrow_morning(env):
    """9:00 tomorrow in the user's time zone, as naive UTC."""
    tz = pytz.timezone(env.user.tz or "UTC")
    today = datetime.now(tz).date()
    morning = tz.localize(datetime.combine(today + timedelta(days=1), time(9)))
    return morning.astimezone(pytz.utc).replace(tzinfo=None)


class WhatsappSnooze(models.TransientModel):
    """Put a chat aside until a date; a customer message wakes it earlier."""

    _name = "whatsapp.snooze"
    _description = "Snooze a WhatsApp chat"

    conversation_id = fields.Many2one("whatsapp.conversation", required=True)
    snoozed_until = fields.Datetime(
        "Until", required=True, default=lambda self: _tomorrow_morning(self.env)
    )

    def action_snooze(self):
        self.ensure_one()
        if self.snoozed_until <= fields.Datetime.now():
            raise UserError(_("Pick a moment in the future."))
        self.conversation_id.write(
            {"state": "snoozed", "snoozed_until": self.snoozed_until}
        )
        return {"type": "ir.actions.act_window_close"}
