import logging

import psycopg2

from odoo import models
from odoo.tools import OrderedSet

from odoo.addons.bus.models.bus import get_notify_payloads

from ..tools import pg_notify

_logger = logging.getLogger(__name__)

# the transaction's channels with news, as Odoo's bus names them
CHANNELS_KEY = "bus.bus.channels"


class BusBus(models.Model):
    _inherit = "bus.bus"

    def _ensure_hooks(self):
        """Tell the live screens of the news once the transaction commits, as
        Odoo's bus does, on the connection each process keeps for its
        notifications (``tools.pg_notify``): Odoo's hook opens a new one at
        every commit with news, and a processor commits every few messages.
        Set before Odoo's, which then leaves the notification to this one."""
        postcommit = self.env.cr.postcommit
        if CHANNELS_KEY not in postcommit.data:
            postcommit.data[CHANNELS_KEY] = OrderedSet()

            @postcommit.add
            def notify():
                channels = list(postcommit.data.pop(CHANNELS_KEY))
                payloads = get_notify_payloads(channels)
                try:
                    pg_notify.notify("imbus", payloads)
                except psycopg2.Error:
                    _logger.warning(
                        "Bus notification sent on a new connection", exc_info=True
                    )
                    pg_notify.notify_on_new_connection("imbus", payloads)

        return super()._ensure_hooks()
