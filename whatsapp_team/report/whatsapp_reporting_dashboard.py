from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..models.whatsapp_conversation_pricing import in_company_currency

# a message whose cost is known: priced from a rate, free, or included in a
# conversation already billed (not "no rate for its market")
KNOWN_COSTS = ("priced", "free", "included")
# ratings of 1 or 2 out of 5: the customer was unhappy (rating's own scale)
BAD_RATING = 2
MAX_WEEKS = 52
WEEK_KEYS = (
    "received",
    "answered",
    "breaches",
    "within_target",
    "first_median",
    "first_p90",
)


class WhatsappReportingDashboard(models.AbstractModel):
    """The managers' dashboard (WhatsApp > Reporting): response times,
    load and satisfaction of the teams a manager sees.

    Every figure is counted from the report lines and chats the caller's
    record rules let them read (``_search`` as the caller, then SQL over
    those ids): a manager sees their teams, an administrator all. Medians
    and 90th percentiles are computed here because a pivot cannot."""

    _name = "whatsapp.reporting.dashboard"
    _description = "WhatsApp Reporting Dashboard"

    @api.model
    def get_dashboard_data(self, weeks=4, team_id=False):
        """The dashboard's figures over the last ``weeks`` weeks, for one of
        the caller's teams or all of them. WhatsApp managers only."""
        if not self.env.user.has_group("whatsapp_team.group_whatsapp_manager"):
            raise AccessError(_("The WhatsApp reports are for WhatsApp managers."))
        weeks = max(1, min(int(weeks or 4), MAX_WEEKS))
        now = fields.Datetime.now()
        since = now - timedelta(weeks=weeks)
        team_domain = [("team_id", "=", int(team_id))] if team_id else []
        Response = self.env["whatsapp.response.report"]
        Response.check_access("read")
        responses = Response._search([("date", ">=", since), *team_domain])
        Workload = self.env["whatsapp.workload.report"]
        Workload.check_access("read")
        load = Workload._search(team_domain)
        # its own query: it gets a GROUP BY
        figures = self._response_figures(
            Response._search([("date", ">=", since), *team_domain])
        )
        by_user = figures["user_id"]
        loads = self._load_figures(load, "user_id")
        user_ids = (set(by_user) | set(loads)) - {None}
        users_rows = [
            {
                "id": user.id,
                "name": user.name,
                "im_status": user.im_status,
                **by_user.get(user.id, self._empty_figures()),
                **loads.get(user.id, self._empty_load()),
            }
            for user in self.env["res.users"].browse(user_ids).sorted("name")
        ]
        if None in by_user or None in loads:
            users_rows.append(
                {
                    "id": False,
                    "name": _("Nobody"),
                    "im_status": False,
                    **by_user.get(None, self._empty_figures()),
                    **loads.get(None, self._empty_load()),
                }
            )
        self._add_capacity(users_rows, team_id)
        total = figures["total"].get(None, self._empty_figures())
        total.update(self._load_figures(load, None).get(None, self._empty_load()))
        teams = self.env["crm.team"].search(
            [
                (
                    "id",
                    "in",
                    [t for t in figures["team_id"] if t] + self._load_teams(load),
                )
            ]
        )
        return {
            "weeks": weeks,
            "since": fields.Datetime.to_string(since),
            "team_id": int(team_id) if team_id else False,
            "teams": [{"id": t.id, "name": t.name} for t in teams],
            "total": total,
            "users": users_rows,
            "by_week": [
                {
                    "week": fields.Date.to_string(week),
                    **{key: values[key] for key in WEEK_KEYS},
                }
                for week, values in sorted(figures["week"].items())
            ],
            "by_label": self._by_label(responses),
            "satisfaction": self._satisfaction(since, team_domain),
            **self._leads(since, team_id),
        }

    # ------------------------------------------------------------
    # Figures, under the caller's rules
    # ------------------------------------------------------------

    @api.model
    def _empty_figures(self):
        return {
            "received": 0,
            "answered": 0,
            "done": 0,
            "turns": 0,
            "answers": 0,
            "breaches": 0,
            "within_target": None,
            "first_median": None,
            "first_p90": None,
            "first_work_median": None,
            "first_work_p90": None,
            "response_median": None,
            "response_p90": None,
            "response_work_median": None,
            "response_work_p90": None,
            "resolution_median": None,
        }

    @api.model
    def _empty_load(self):
        return {"open": 0, "waiting": 0, "late": 0}

    @api.model
    def _response_figures(self, query):
        """The report lines of ``query``, in one pass: {"user_id": {user id:
        figures}, "team_id": {...}, "week": {monday: ...}, "total": {None:
        ...}}."""

        # one scan of the lines the caller may read, three sets, one sort
        # per column for both quantiles
        def column(name):
            return SQL.identifier(query.table, name)

        week = SQL("date_trunc('week', %s)::date", column("date"))
        query.groupby = SQL("GROUPING SETS ((%s), (%s), ())", column("user_id"), week)

        def quantiles(name, fractions="ARRAY[0.5, 0.9]"):
            return SQL(
                "percentile_cont(%s) WITHIN GROUP (ORDER BY %s)",
                SQL(fractions),
                column(name),
            )

        self.env.cr.execute(
            query.select(
                SQL("GROUPING(%s)", column("user_id")),
                SQL("GROUPING(%s)", week),
                column("user_id"),
                week,
                *(
                    SQL("SUM(%s)", column(name))
                    for name in (
                        "chat_count",
                        "answered_chat_count",
                        "done_chat_count",
                        "response_count",
                        "answered_count",
                        "breach_count",
                    )
                ),
                SQL("AVG(%s)", column("within_target_percent")),
                quantiles("first_response_minutes"),
                quantiles("first_response_work_minutes"),
                quantiles("response_minutes"),
                quantiles("response_work_minutes"),
                quantiles("resolution_hours", "0.5"),
                SQL("ARRAY_AGG(DISTINCT %s)", column("team_id")),
            )
        )
        names = list(self._empty_figures())
        result = {"user_id": {}, "team_id": {}, "week": {}, "total": {}}
        for row in self.env.cr.fetchall():
            no_user, no_week, user_id, week = row[:4]
            quantiles = [
                _round(value) for pair in row[11:15] for value in (pair or [None, None])
            ]
            values = [int(v or 0) for v in row[4:10]] + [_round(row[10])]
            figures = dict(
                zip(names, values + quantiles + [_round(row[15])], strict=True)
            )
            if not no_user:
                result["user_id"][user_id] = figures
            elif not no_week:
                result["week"][week] = figures
            else:
                result["total"][None] = figures
                result["team_id"] = dict.fromkeys(row[16] or [])
        return result

    @api.model
    def _load_figures(self, query, group):
        key = SQL.identifier(group) if group else SQL("NULL::int")
        self.env.cr.execute(
            SQL(
                """
                SELECT %(key)s, SUM(chat_count) FILTER (WHERE state = 'open'),
                       SUM(waiting_count), SUM(late_count)
                  FROM whatsapp_workload_report
                 WHERE id IN %(ids)s
                 GROUP BY 1
                """,
                key=key,
                ids=query.subselect(),
            )
        )
        return {
            row[0]: {
                "open": int(row[1] or 0),
                "waiting": int(row[2] or 0),
                "late": int(row[3] or 0),
            }
            for row in self.env.cr.fetchall()
        }

    @api.model
    def _load_teams(self, load):
        self.env.cr.execute(
            SQL(
                "SELECT DISTINCT team_id FROM whatsapp_workload_report WHERE id IN %s",
                load.subselect(),
            )
        )
        return [row[0] for row in self.env.cr.fetchall() if row[0]]

    @api.model
    def _add_capacity(self, rows, team_id):
        """Capacity used: open and waiting-for-the-customer chats against
        the member's maximum (``crm.team.member.whatsapp_max_open``)."""
        Member = self.env["crm.team.member"]
        if not Member.has_access("read"):
            for row in rows:
                row.update(capacity=False, capacity_used=False)
            return
        domain = [("user_id", "in", [r["id"] for r in rows if r["id"]])]
        if team_id:
            domain.append(("crm_team_id", "=", int(team_id)))
        capacity = {}
        for member in Member.search(domain):
            if member.whatsapp_max_open:
                capacity[member.user_id.id] = (
                    capacity.get(member.user_id.id, 0) + member.whatsapp_max_open
                )
        for row in rows:
            maximum = capacity.get(row["id"])
            row["capacity"] = maximum or False
            row["capacity_used"] = (
                round(100.0 * row["open"] / maximum) if maximum else False
            )

    @api.model
    def _by_label(self, query):
        self.env.cr.execute(
            SQL(
                """
                SELECT rel.label_id, SUM(r.chat_count), SUM(r.breach_count),
                       percentile_cont(0.5) WITHIN GROUP
                           (ORDER BY r.first_response_minutes)
                  FROM whatsapp_response_report r
                  JOIN whatsapp_response_report_label_rel rel
                    ON rel.response_id = r.id
                 WHERE r.id IN %s
                 GROUP BY 1
                """,
                query.subselect(),
            )
        )
        rows = self.env.cr.fetchall()
        labels = self.env["whatsapp.label"].browse([row[0] for row in rows])
        names = {label.id: label.name for label in labels.exists()}
        return sorted(
            (
                {
                    "id": label_id,
                    "name": names.get(label_id, ""),
                    "received": int(received or 0),
                    "breaches": int(breaches or 0),
                    "first_median": _round(median),
                }
                for label_id, received, breaches, median in rows
                if label_id in names
            ),
            key=lambda row: -row["received"],
        )

    @api.model
    def _satisfaction(self, since, team_domain):
        """Ratings customers gave chats the caller may read (a survey
        rates a chat as ``rating.rating`` on ``whatsapp.conversation``)."""
        result = {"available": "rating.rating" in self.env, "count": 0}
        if not result["available"]:
            return result
        chats = self.env["whatsapp.conversation"]._search(team_domain)
        Rating = self.env["rating.rating"]
        domain = [
            ("res_model", "=", "whatsapp.conversation"),
            ("res_id", "in", chats),
            ("consumed", "=", True),
            ("rating", ">", 0),
            ("write_date", ">=", since),
        ]
        ratings = Rating.search(domain, order="write_date desc")
        if not ratings:
            return result
        rated = self.env["whatsapp.conversation"].browse(ratings.mapped("res_id"))
        owner = {chat.id: chat.user_id for chat in rated}
        per_user = {}
        for rating in ratings:
            user = owner.get(rating.res_id)
            entry = per_user.setdefault(
                user.id if user else False,
                {"name": user.name if user else _("Nobody"), "sum": 0.0, "count": 0},
            )
            entry["sum"] += rating.rating
            entry["count"] += 1
        bad = ratings.filtered(lambda r: r.rating <= BAD_RATING)[:10]
        result.update(
            count=len(ratings),
            average=round(sum(ratings.mapped("rating")) / len(ratings), 2),
            unhappy=len(ratings.filtered(lambda r: r.rating <= BAD_RATING)),
            users=[
                {
                    "id": user_id,
                    "name": entry["name"],
                    "count": entry["count"],
                    "average": round(entry["sum"] / entry["count"], 2),
                }
                for user_id, entry in per_user.items()
            ],
            bad=[
                {
                    "chat_id": rating.res_id,
                    "customer": rating.partner_id.name or "",
                    "rating": rating.rating,
                    "feedback": rating.feedback or "",
                    "salesperson": owner[rating.res_id].name or "",
                    "date": fields.Datetime.to_string(rating.write_date),
                }
                for rating in bad
            ],
        )
        return result

    @api.model
    def _leads(self, since, team_id):
        """Leads created from chats in the period and what the WhatsApp
        messages cost, per salesperson: ``{"leads": rows, "leads_total":
        row, "currency_id": the company's}``. A cost is None where none is
        known (no message priced, or no rate for its market)."""
        Lead = self.env["whatsapp.lead.report"]
        Lead.check_access("read")
        team_domain = [("team_id", "=", int(team_id))] if team_id else []
        groups = Lead._read_group(
            [("date", ">=", since), *team_domain],
            ["user_id"],
            [
                "lead_count:sum",
                "won_count:sum",
                "expected_revenue:sum",
                "won_revenue:sum",
            ],
        )
        rows = {
            user.id: {
                "id": user.id,
                "name": user.name or _("Nobody"),
                "leads": leads,
                "won": won,
                "expected_revenue": expected,
                "won_revenue": won_revenue,
                "cost": None,
            }
            for user, leads, won, expected, won_revenue in groups
        }
        costs = self._costs(since, team_id)
        for user, cost in costs.items():
            row = rows.setdefault(
                user.id,
                {
                    "id": user.id,
                    "name": user.name or _("Nobody"),
                    "leads": 0,
                    "won": 0,
                    "expected_revenue": 0.0,
                    "won_revenue": 0.0,
                },
            )
            row["cost"] = round(cost, 4)
        total = {
            key: sum(row[key] for row in rows.values())
            for key in ("leads", "won", "expected_revenue", "won_revenue")
        }
        total["cost"] = round(sum(costs.values()), 4) if costs else None
        return {
            "leads": sorted(rows.values(), key=lambda r: (not r["id"], r["name"])),
            "leads_total": total,
            "currency_id": self.env.company.currency_id.id,
        }

    @api.model
    def _costs(self, since, team_id):
        """``{salesperson: cost}`` of the messages sent in the period whose
        cost is known, in the company's currency, as the Cost report sums
        them. Read as the caller: their rules choose the messages."""
        domain = [("cost_state", "in", KNOWN_COSTS), ("wa_timestamp", ">=", since)]
        if team_id:
            domain.append(("sales_team_id", "=", int(team_id)))
        company = self.env.company
        today = fields.Date.context_today(self)
        costs = {}
        for user, currency, cost in self.env["whatsapp.message"]._read_group(
            domain, ["salesperson_id", "cost_currency_id"], ["cost:sum"]
        ):
            costs[user] = costs.get(user, 0.0) + in_company_currency(
                cost, currency, company, today
            )
        return costs


def _round(value):
    return None if value is None else round(float(value), 1)
