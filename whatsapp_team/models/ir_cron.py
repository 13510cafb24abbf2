import logging

import psycopg2

from odoo import models

from ..tools.pg_notify import notify_cron_workers

_logger = logging.getLogger(__name__)


class IrCron(models.Model):
    _inherit = "ir.cron"

    def _notifydb(self):
        """Wake the cron workers as Odoo does, on the connection each process
        keeps for its notifications (``tools.pg_notify``) rather than a new
        one each time: the webhook wakes the processors on every call, and
        new chats and leads trigger other jobs."""
        try:
            return notify_cron_workers(self.env.cr.dbname)
        except psycopg2.Error:
            _logger.warning("Cron workers woken on a new connection", exc_info=True)
            return super()._notifydb()
