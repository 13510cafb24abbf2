import contextlib
import time
from collections import defaultdict

from odoo import api, fields, models
from odoo.modules import module as odoo_module

from ..tools import turns

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
    # what the chats of the member are, as the team form shows them to
    # WhatsApp managers: every employee reads sales team members
    whatsapp_last_assigned_at = fields.Datetime(
        "Last WhatsApp Chat Given",
        readonly=True,
        copy=False,
        groups="whatsapp_team.group_whatsapp_manager",
    )
    # when the last chat was given, to the microsecond: orders the turns of
    # chats given within the same second
    whatsapp_turn = fields.Float(
        readonly=True,
        copy=False,
        digits=(16, 6),
        groups="whatsapp_team.group_whatsapp_manager",
    )
    whatsapp_open_count = fields.Integer(
        "Open WhatsApp Chats",
        compute="_compute_whatsapp_open_count",
        groups="whatsapp_team.group_whatsapp_manager",
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

    def _whatsapp_available(self, now, loads=None):
        """Members who may be given a chat at ``now``: present (see
        :meth:`_whatsapp_present`) and under capacity."""
        candidates = self._whatsapp_present(now)
        if loads is None:
            loads = candidates._whatsapp_open_counts()
        return candidates._whatsapp_under_capacity(loads)

    def _whatsapp_present(self, now):
        """Members who may be given a chat at ``now`` if they have room: not
        opted out, online, within their working hours (leaves included)."""
        online = self.filtered(
            lambda m: not m.whatsapp_optout
            and m.user_id.active
            and m.user_id._is_user_available()
        )
        return online._whatsapp_at_work(now)

    def _whatsapp_under_capacity(self, loads):
        """Members with room for one more chat, by ``loads`` ({member id:
        open chats})."""
        return self.filtered(
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

    # ------------------------------------------------------------
    # Turns, the same for every transaction (tools/turns.py)
    # ------------------------------------------------------------

    def init(self):
        result = super().init()
        turns.create_table(self.env.cr)
        return result

    def _whatsapp_take_turn(self, method, owner):
        """Of these members (present, of one team), the one who gets a chat
        now, her turn taken at once for every other transaction to see; or
        an empty record when none has room.

        The open chats and turns are read as committed now, with the chats
        given by transactions still running (``tools.turns``): two
        processors giving chats of one team at once see each other's.
        ``owner``, the customer's own salesperson, gets it when she has
        room; then by ``method``.
        """
        if not self:
            return self
        team = self.crm_team_id.ensure_one()
        # as this transaction sees them: its own changes (a chat reopened,
        # a snoozed one woken) are in nobody else's count
        self.env["whatsapp.conversation"].flush_model(["user_id", "team_id", "state"])
        own = self._whatsapp_open_counts()
        xact = turns.current_xact(self.env.cr)
        with self._whatsapp_turns_cursor() as cr:
            turns.lock_team(cr, team.id)
            standings = turns.standings(cr, self.ids, OPEN_STATES)
            # a member created by this transaction, or deleted since, is
            # not everyone's yet, or any more
            members = self.filtered(lambda m: m.id in standings)
            loads = {m.id: max(standings[m.id][0], own[m.id]) for m in members}
            turn = {m.id: standings[m.id][1] for m in members}
            room = members._whatsapp_under_capacity(loads)
            if not room:
                return room
            sticky = room.filtered(lambda m: m.user_id == owner)[:1]
            if sticky:
                chosen = sticky
            elif method == "least_loaded":
                # the fewest open chats; then the longest ago given one
                chosen = min(room, key=lambda m: (loads[m.id], turn[m.id], m.id))
            else:
                # never given a chat first, then the longest ago
                chosen = min(room, key=lambda m: (turn[m.id], m.id))
            chosen._whatsapp_record_turn(cr, xact, fields.Datetime.now())
        return chosen

    def _whatsapp_took(self, now):
        """Record that this member was just given a chat other than by the
        automatic assignment (by hand, passed on, answered from the phone):
        her turn, and the chat in her count until its transaction commits."""
        self.ensure_one()
        xact = turns.current_xact(self.env.cr)
        with self._whatsapp_turns_cursor() as cr:
            turns.lock_team(cr, self.crm_team_id.id)
            # a team given chats by hand only never reads its standings:
            # its claims go here
            turns.settle(cr, self.ids)
            self._whatsapp_record_turn(cr, xact, now)

    def _whatsapp_record_turn(self, cr, xact, now):
        """Give this member her turn on the turns cursor ``cr`` for the
        transaction ``xact`` (:func:`turns.take`); then forget the turn read
        before (under test it is read again; otherwise this transaction's
        view keeps the old one, which no turn is taken by), or write it in
        this transaction, which holds (or created) the member's row."""
        turn = time.time()
        if turns.take(cr, self.id, xact, turn, now):
            self.invalidate_recordset(["whatsapp_turn", "whatsapp_last_assigned_at"])
        else:
            # sudo: crm.team.member - the turn of a chat given, as
            # turns.take() writes it for every other member
            self.sudo().write({"whatsapp_last_assigned_at": now, "whatsapp_turn": turn})

    @api.model
    def _whatsapp_settle_claims(self):
        """Drop every claim of an ended transaction, those of members gone
        or never given a chat again included (the upkeep's)."""
        with self._whatsapp_turns_cursor() as cr:
            turns.settle(cr)

    @contextlib.contextmanager
    def _whatsapp_turns_cursor(self):
        """A cursor to take turns with: a transaction of its own, committed
        when the block ends. Under test nothing commits, and while modules
        are installed or updated everything is in one transaction (the
        tables too): then that transaction's own, in a savepoint, which
        sees what it wrote once flushed."""
        if odoo_module.current_test or not self.env.registry.ready:
            # the chats are flushed by _whatsapp_take_turn, which reads them
            self.flush_model()
            with self.env.cr.savepoint(flush=False):
                yield self.env.cr
            return
        with self.env.registry.cursor() as cr:
            turns.begin(cr)
            yield cr
