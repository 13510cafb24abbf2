from datetime import timedelta

from odoo import _, api, fields, models

from ..tools import outbound


class WhatsappMessage(models.Model):
    """Meta's throughput limits: a throttled message is not failed, it waits
    in the queue for as long as the limit lasts (up to a day) and is sent
    once when it lifts."""

    _inherit = "whatsapp.message"  # pylint: disable=consider-merging-classes-inherited

    throttled_since = fields.Datetime(
        readonly=True,
        help="When Meta first answered that this message had to wait (a "
        "throughput limit); it keeps waiting for up to a day.",
    )
    throttled_attempts = fields.Integer(
        readonly=True,
        help="Send attempts Meta answered with a throughput limit: they do "
        "not count among the tries a message gets for other errors.",
    )
    waiting_reason = fields.Char(compute="_compute_waiting_reason")

    @api.depends("state", "error_code")
    def _compute_waiting_reason(self):
        for message in self:
            scope = (
                outbound.throttle_scope(message.error_code)
                if message.state == "queued"
                else None
            )
            message.waiting_reason = scope and message._waiting_text(scope)

    @api.model
    def _waiting_text(self, scope):
        """What a salesperson reads while a message waits for ``scope``."""
        if scope == "pair":
            return _(
                "Waiting: WhatsApp is limiting how many messages this customer "
                "may get in a short time; it goes out automatically."
            )
        if scope == "number":
            return _(
                "Waiting: WhatsApp is limiting how fast this number may send; "
                "it goes out automatically."
            )
        return _(
            "Waiting: WhatsApp is limiting how much this business account may "
            "send for a while (up to an hour); it goes out automatically."
        )

    def _record_throttle(self, error, scope, values):
        """Keep a message Meta throttled queued, and hold back what the limit
        covers: this customer (pair rate) or the number and its siblings.
        Returns False once the message has waited a whole day: it then fails
        like any other error."""
        self.ensure_one()
        now = fields.Datetime.now()
        since = self.throttled_since or now
        if now - since >= timedelta(seconds=outbound.THROTTLE_GIVE_UP):
            return False
        if scope == "pair":
            until = self.conversation_id._pause_sending(error.retry_after)
        else:
            until = self.account_id._pause_sending(scope, error.retry_after)
        self.write(
            {
                **values,
                "state": "queued",
                "send_attempts": self.send_attempts + 1,
                "throttled_attempts": self.throttled_attempts + 1,
                "throttled_since": since,
                "next_attempt_at": until,
            }
        )
        self.env["ir.cron"]._whatsapp_wake("whatsapp_team.ir_cron_send_messages", until)
        return True

    def _end_throttling(self):
        """A message went out: the limits it met are over."""
        for record in (self.account_id, self.conversation_id):
            if record.throttle_hits:
                record.sudo().throttle_hits = 0
