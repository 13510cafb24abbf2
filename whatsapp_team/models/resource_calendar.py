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
        resource = resource or self.env["resource.resource"]
        return resource.id in self._whatsapp_working(moment, resource)

    def _whatsapp_working(self, moment, resources):
        """Ids of ``resources`` at work at ``moment`` (naive UTC) on this
        calendar, each with its own leaves; ``False`` stands for the calendar
        itself. One computation for all of them."""
        self.ensure_one()
        aware = moment.replace(tzinfo=timezone.utc)
        intervals = self._work_intervals_batch(
            aware - timedelta(minutes=1),
            aware + timedelta(minutes=1),
            resources=resources,
        )
        return {
            resource_id
            for resource_id, spans in intervals.items()
            if any(start <= aware < stop for start, stop, _meta in spans)
        }
