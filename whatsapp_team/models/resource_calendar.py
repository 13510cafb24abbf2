from datetime import timedelta, timezone

from odoo import models


class ResourceCalendar(models.Model):
    _inherit = "resource.calendar"

    def _whatsapp_works_at(self, moment, resource=None):
        """Whether ``moment`` (naive UTC) is working time of this calendar,
        net of leaves and public holidays (and of ``resource``'s own leaves).
        No calendar: always."""
        if not self:
            return True
        self.ensure_one()
        resource = resource or self.env["resource.resource"]
        aware = moment.replace(tzinfo=timezone.utc)
        intervals = self._work_intervals_batch(
            aware - timedelta(minutes=1),
            aware + timedelta(minutes=1),
            resources=resource,
        )[resource.id]
        return any(start <= aware < stop for start, stop, _meta in intervals)
