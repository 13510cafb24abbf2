import math
from datetime import timedelta

from odoo import fields, models

from ..tools import outbound


class WhatsappAccount(models.Model):
    """Meta's throughput limits on a number: while one lasts, the number's
    messages wait in the queue instead of being sent into a refusal."""

    _inherit = "whatsapp.account"  # pylint: disable=consider-merging-classes-inherited

    throttled_until = fields.Datetime(
        "Sending Paused Until",
        readonly=True,
        copy=False,
        help="Meta said this number (or its business account, or the app) "
        "sends too fast: its messages wait until then and go out "
        "automatically.",
    )
    throttle_hits = fields.Integer(
        readonly=True,
        copy=False,
        help="Throttling answers in a row since the last message sent: each "
        "one doubles the pause, up to 15 minutes.",
    )

    def _throttled_numbers(self, scope):
        """The numbers a throttling answer of ``scope`` holds back: this one
        for its throughput (130429), every number of its business account
        (80007) or of its app (4)."""
        self.ensure_one()
        if scope == "app" and self.app_id:
            domain = [("app_id", "=", self.app_id)]
        elif scope in ("app", "account") and self.business_account_id:
            domain = [("business_account_id", "=", self.business_account_id)]
        else:
            return self
        return self.with_context(active_test=False).search(domain) | self

    def _pause_sending(self, scope, retry_after=None):
        """Pause the numbers held back by a throttling answer of ``scope``
        on this number; return until when."""
        numbers_sudo = self.sudo()._throttled_numbers(scope)
        hits = max(numbers_sudo.mapped("throttle_hits")) + 1
        now = fields.Datetime.now()
        # whole seconds, as the queue's clock (Odoo's now) counts them
        until = now + timedelta(
            seconds=math.ceil(outbound.throttle_delay(scope, hits, retry_after))
        )
        for number_sudo in numbers_sudo:
            number_sudo.write(
                {
                    "throttle_hits": max(number_sudo.throttle_hits, hits),
                    "throttled_until": max(until, number_sudo.throttled_until or now),
                }
            )
        return self.sudo().throttled_until
