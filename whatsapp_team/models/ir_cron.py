import logging

import psycopg2

from odoo import api, fields, models

from ..tools.batch import processor_batch
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

    @api.model
    def _whatsapp_wake(self, xmlid, when=None):
        """Wake the scheduled action ``xmlid`` at ``when`` (at once when
        ``None``), for the work of the current transaction: how the addon
        wakes its scheduled actions and Odoo's push cron. Under a webhook
        processor, once before its commit for each moment, whatever number
        of messages asked for it (``tools.batch.ProcessorBatch``:
        ``_whatsapp_wake_kept`` wakes them)."""
        work = processor_batch(self.env.context)
        if work is not None:
            work.wake_cron(xmlid, when)
            return
        # sudo: ir.cron - waking a job is no right of the user whose change
        # makes it due, as in Odoo's own _trigger calls; only its trigger is
        # made, nothing of the job goes back
        self.env.ref(xmlid).sudo()._trigger(when)

    @api.model
    def _whatsapp_wake_kept(self, work):
        """Wake the scheduled actions a processor's work asked for
        (``work``, its ``tools.batch.ProcessorBatch``), before its commit."""
        now = fields.Datetime.now()
        for xmlid, moments in work.take_cron_wakes().items():
            # sudo: ir.cron - as in _whatsapp_wake
            self.env.ref(xmlid).sudo()._trigger(
                sorted(now if moment is None else moment for moment in moments)
            )
