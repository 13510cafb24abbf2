import time
from collections import defaultdict

from odoo import api, fields, models

from ..tools.batch import processor_batch

# conversations that count against a member's capacity
OPEN_STATES = ("open", "pending")


class CrmTeamMember(models.Model):
    """A salesperson's share of their team's WhatsApp chats."""

    _inherit = "crm.team.member"

    whatsapp_max_open = fields.Integer(
        "Max Open WhatsApp Chats",
        help="No new chat is given automatically to this member while they "
        "have this many open or pending chats in the team. 0: no limit.",
    )
    whatsapp_optout = fields.Boolean(
        "Skip WhatsApp Chats",
        help="Never give this member chats automatically; they can still "
        "claim and be assigned chats by hand.",
    )
    whatsapp_last_assigned_at = fields.Datetime(
        "Last WhatsApp Chat Given", readonly=True, copy=False
    )
    # when the last chat was given, to the microsecond: orders the turns of
    # chats given within the same second
    whatsapp_turn = fields.Float(readonly=True, copy=False, digits=(16, 6))
    whatsapp_open_count = fields.Integer(
        "Open WhatsApp Chats", compute="_compute_whatsapp_open_count"
    )

    @api.depends("user_id", "crm_team_id")
    def _compute_whatsapp_open_count(self):
        counts = self._whatsapp_open_counts()
        for member in self:
            member.whatsapp_open_count = counts.get(member.id, 0)

    def _whatsapp_open_counts(self):
        """Open or pending chats of each member in their team: {member id: n}."""
        groups = (
            self.env["whatsapp.conversation"]
            .sudo()
            ._read_group(
                [
                    ("user_id", "in", self.user_id.ids),
                    ("team_id", "in", self.crm_team_id.ids),
                    ("state", "in", OPEN_STATES),
                ],
                ["user_id", "team_id"],
                ["__count"],
            )
        )
        counts = {(user.id, team.id): count for user, team, count in groups}
        return {
            member.id: counts.get((member.user_id.id, member.crm_team_id.id), 0)
            for member in self
        }

    def _whatsapp_turn(self):
        """Round-robin order: never given a chat first, then longest ago."""
        return (self.whatsapp_turn, self.id)

    def _whatsapp_available(self, now, loads=None):
        """Members who may be given a chat at ``now``: not opted out, online,
        within their working hours (leaves included) and under capacity."""
        online = self.filtered(
            lambda m: not m.whatsapp_optout
            and m.user_id.active
            and m.user_id._is_user_available()
        )
        candidates = online._whatsapp_at_work(now)
        if loads is None:
            loads = candidates._whatsapp_open_counts()
        return candidates.filtered(
            lambda m: not m.whatsapp_max_open or loads[m.id] < m.whatsapp_max_open
        )

    def _whatsapp_in_working_hours(self, now):
        """Inside the user's resource calendar, net of leaves and public
        holidays. A user without working hours is always in."""
        self.ensure_one()
        return bool(self._whatsapp_at_work(now))

    def _whatsapp_at_work(self, now):
        """The members within their working hours at ``now``: one calendar
        computation per calendar, not per member."""
        # one read of every member's resource and calendar
        found = (
            self.env["resource.resource"]
            .sudo()
            .search([("user_id", "in", self.user_id.ids)], order="id")
        )
        by_user = defaultdict(lambda: self.env["resource.resource"])
        for resource in found:
            by_user[resource.user_id.id] |= resource

        def resource_of(member):
            # a user of several companies: their resource in the team's
            own = by_user[member.user_id.id]
            company = member.crm_team_id.company_id
            return (own.filtered(lambda r: r.company_id == company) or own)[:1]

        resources = {m: resource_of(m) for m in self}
        by_calendar = defaultdict(lambda: self.env["resource.resource"])
        for resource in resources.values():
            if resource.calendar_id:
                by_calendar[resource.calendar_id] |= resource
        working = set()
        for calendar, members_resources in by_calendar.items():
            working |= calendar._whatsapp_working(now, members_resources)
        return self.filtered(
            lambda m: not resources[m].calendar_id or resources[m].id in working
        )

    def _whatsapp_took(self, now):
        """Record that this member was just given a chat.

        Writing the membership row also serialises concurrent assignments
        to one member: PostgreSQL refuses the second of two transactions
        that update it, and Odoo runs that one again on fresh data, so
        capacities and turns are never counted twice.
        """
        self.sudo().write(
            {"whatsapp_last_assigned_at": now, "whatsapp_turn": time.time()}
        )
        # a processor commits this at once: other processors see the turn
        # taken instead of colliding on this row (_cron_process)
        batch = processor_batch(self.env.context)
        if batch is not None:
            batch.turn_taken = True
