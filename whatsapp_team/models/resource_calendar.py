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

    def _whatsapp_work_seconds(self, start, stop):
        """Seconds of working time of this calendar between ``start`` and
        ``stop`` (naive UTC), net of leaves and public holidays. No
        calendar: the wall-clock seconds."""
        if not start or not stop or stop <= start:
            return 0
        if not self:
            return int((stop - start).total_seconds())
        self.ensure_one()
        intervals = self._work_intervals_batch(
            start.replace(tzinfo=timezone.utc), stop.replace(tzinfo=timezone.utc)
        )[False]
        return int(sum((end - begin).total_seconds() for begin, end, _m in intervals))

    def _whatsapp_plan(self, start, seconds):
        """The moment (naive UTC) when ``seconds`` of working time of this
        calendar have passed since ``start``. No calendar: wall-clock."""
        if not self:
            return start + timedelta(seconds=seconds)
        self.ensure_one()
        planned = self.plan_hours(seconds / 3600, start, compute_leaves=True)
        return planned or start + timedelta(seconds=seconds)
