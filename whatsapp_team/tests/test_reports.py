"""The reports and the managers' dashboard, checked against a hand count,
as a manager of one team, an administrator and a salesperson.

The week of Monday 23 November 2026, Showroom (target 15 minutes):
- chat A, Ana's: the customer writes at 9:00, Ana answers at 9:10 (10 min,
  on target); writes at 9:30, Ana answers at 10:00 (30 min, missed); done
  at 11:00. Its lead is won, 1,000.
- chat B, Ben's: writes at 9:00, Ben answers at 9:20 (20 min, missed).
- chat C, Ana's: writes on Tuesday at 10:00, nobody answers: late.
Export: chat D, Dan's: writes at 9:00, Dan answers at 9:01; its lead is
open, 500.
"""

from datetime import datetime

from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tests.common import JsonRpcException

from .test_pricing import pricing
from .test_response_figures import MONDAY_9, FiguresCase, at

NOW = at(12, day=24)


class ReportsCase(FiguresCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_team.write({"user_id": cls.dan.id, "whatsapp_assignment": "manual"})
        # the team's manager reads the team's leads in CRM (the leads report
        # follows CRM's rules: see test_access_rpc)
        cls.leader.groups_id += cls.env.ref("sales_team.group_sale_salesman_all_leads")
        cls.admin = new_test_user(
            cls.env,
            login="wa_report_admin",
            groups="whatsapp_team.group_whatsapp_admin,sales_team.group_sale_manager",
        )

    def setUp(self):
        super().setUp()
        numbers = [str(next(self._numbers)) for _i in range(4)]
        a, b, c, d = numbers
        self.chat_a = self.write_in(MONDAY_9, wa_id=a).conversation_id
        self.chat_a.user_id = self.ana
        self.answer(at(9, 10), self.chat_a, self.ana)
        self.write_in(at(9, 30), wa_id=a)
        self.answer(at(10), self.chat_a, self.ana)
        with freeze_time(at(11)):
            self.chat_a.with_user(self.ana).action_done()
        self.chat_b = self.write_in(MONDAY_9, wa_id=b).conversation_id
        self.chat_b.user_id = self.ben
        self.answer(at(9, 20), self.chat_b, self.ben)
        self.chat_c = self.write_in(at(10, day=24), wa_id=c).conversation_id
        self.chat_c.user_id = self.ana
        self.chat_d = self.write_in(MONDAY_9, wa_id=d).conversation_id
        self.chat_d.write({"team_id": self.other_team.id, "user_id": self.dan.id})
        self.answer(at(9, 1), self.chat_d, self.dan)
        won = self.env["crm.stage"].search([("is_won", "=", True)], limit=1)
        for chat, revenue, stage in (
            (self.chat_a, 1000, won),
            (self.chat_d, 500, self.env["crm.stage"]),
        ):
            lead = self.env["crm.lead"].create(
                {
                    "name": f"Lead of {chat.display_name}",
                    "partner_id": chat.partner_id.id,
                    "user_id": chat.user_id.id,
                    "team_id": chat.team_id.id,
                    "expected_revenue": revenue,
                    **({"stage_id": stage.id} if stage else {}),
                }
            )
            chat.sudo().lead_id = lead
        self.env.flush_all()

    def dashboard(self, user, **kwargs):
        with freeze_time(NOW):
            return (
                self.env["whatsapp.reporting.dashboard"]
                .with_user(user)
                .get_dashboard_data(**kwargs)
            )


@tagged("post_install", "-at_install", "whatsapp_team")
class TestReports(ReportsCase):
    def test_response_report_by_salesperson_as_the_team_manager(self):
        Report = self.env["whatsapp.response.report"].with_user(self.leader)
        groups = Report._read_group(
            [],
            ["user_id"],
            [
                "chat_count:sum",
                "answered_chat_count:sum",
                "done_chat_count:sum",
                "response_count:sum",
                "answered_count:sum",
                "breach_count:sum",
                "first_response_minutes:avg",
                "response_minutes:avg",
            ],
        )
        by_user = {user: values for user, *values in groups}
        self.assertEqual(set(by_user), {self.ana, self.ben}, "no Export figure")
        self.assertEqual(by_user[self.ana], [2, 1, 1, 3, 2, 1, 10.0, 20.0])
        self.assertEqual(by_user[self.ben], [1, 1, 0, 1, 1, 1, 20.0, 20.0])
        [[within]] = Report._read_group([], [], ["within_target_percent:avg"])
        self.assertAlmostEqual(within, 100 / 3, places=3)
        # by team and by week: one team, one week
        weeks = Report._read_group([], ["team_id", "date:week"], ["chat_count:sum"])
        self.assertEqual([(t, n) for t, _week, n in weeks], [(self.team, 3)])

    def test_grouped_by_label(self):
        label = self.env["whatsapp.label"].create({"name": "Delivery"})
        (self.chat_a | self.chat_d).sudo().label_ids = label
        self.env.flush_all()
        groups = (
            self.env["whatsapp.response.report"]
            .with_user(self.leader)
            ._read_group([], ["label_ids"], ["chat_count:sum", "response_count:sum"])
        )
        self.assertIn((label, 1, 2), groups, "chat A's two turns, not Export's")

    def test_the_administrator_sees_every_team(self):
        Report = self.env["whatsapp.response.report"].with_user(self.admin)
        [[received]] = Report._read_group([], [], ["chat_count:sum"])
        self.assertEqual(received, 4)
        data = self.dashboard(self.admin)
        self.assertEqual(data["total"]["received"], 4)

    def test_workload_now(self):
        Load = self.env["whatsapp.workload.report"].with_user(self.leader)
        groups = Load._read_group(
            [], ["user_id"], ["chat_count:sum", "waiting_count:sum", "late_count:sum"]
        )
        self.assertEqual(
            sorted((u.name, *v) for u, *v in groups),
            [("Ana", 1, 1, 1), ("Ben", 1, 0, 0)],
        )

    def test_leads_from_chats(self):
        Leads = self.env["whatsapp.lead.report"].with_user(self.leader)
        groups = Leads._read_group(
            [],
            ["user_id"],
            ["lead_count:sum", "won_count:sum", "expected_revenue:sum"]
            + ["won_revenue:sum"],
        )
        self.assertEqual(groups, [(self.ana, 1, 1, 1000.0, 1000.0)])

    def test_dashboard_as_the_team_manager(self):
        data = self.dashboard(self.leader)
        total = data["total"]
        self.assertEqual(
            {k: total[k] for k in ("received", "answered", "done", "turns")},
            {"received": 3, "answered": 2, "done": 1, "turns": 4},
        )
        self.assertEqual((total["answers"], total["breaches"]), (3, 2))
        # first responses 10 and 20 minutes; responses 10, 30 and 20
        self.assertEqual((total["first_median"], total["first_p90"]), (15.0, 19.0))
        self.assertEqual(
            (total["response_median"], total["response_p90"]), (20.0, 28.0)
        )
        self.assertEqual(total["within_target"], 33.3)
        self.assertEqual((total["open"], total["waiting"], total["late"]), (2, 1, 1))
        self.assertEqual([t["name"] for t in data["teams"]], ["Showroom"])
        rows = {row["name"]: row for row in data["users"]}
        self.assertEqual(set(rows), {"Ana", "Ben"})
        ana = rows["Ana"]
        self.assertEqual(
            (ana["received"], ana["answered"], ana["first_median"], ana["breaches"]),
            (2, 1, 10.0, 1),
        )
        self.assertEqual((ana["open"], ana["waiting"], ana["late"]), (1, 1, 1))
        self.assertEqual(ana["im_status"], "online")
        self.assertEqual(
            [(w["week"], w["received"]) for w in data["by_week"]],
            [("2026-11-23", 3)],
        )
        self.assertEqual(
            [(row["name"], row["leads"], row["won_revenue"]) for row in data["leads"]],
            [("Ana", 1, 1000.0)],
        )

    def test_dashboard_cost_of_messages_per_salesperson(self):
        """Meta prices the answers: Ana's two marketing messages at the
        Belgian rate, Ben's utility message has no rate (cost unknown),
        Dan's (Export) is not the manager's."""
        self.env["whatsapp.rate"].create(
            {
                "account_id": self.account.id,
                "category": "marketing",
                "country_id": self.env.ref("base.be").id,
                "price": 0.0592,
                "currency_id": self.env.company.currency_id.id,
            }
        )
        Message = self.env["whatsapp.message"]
        with freeze_time(at(11)):
            Message._cron_send_queue()
        answers = Message.search([("direction", "=", "out")], order="id")
        for chat, category, count in (
            (self.chat_a, "marketing", 2),
            (self.chat_b, "utility", 1),
            (self.chat_d, "marketing", 1),
        ):
            sent = answers.filtered(lambda m, c=chat: m.conversation_id == c)
            self.assertEqual(len(sent), count)
            for message in sent:
                self.assertTrue(message.wa_timestamp, "sent in the period")
                message._apply_pricing(pricing(category=category))
        self.assertEqual(
            set(answers.mapped("cost_state")), {"priced", "no_rate"}, "as counted"
        )
        self.env.flush_all()
        data = self.dashboard(self.leader)
        costs = {row["name"]: row["cost"] for row in data["leads"]}
        self.assertEqual(costs, {"Ana": 0.1184}, "Ben's cost is unknown")
        self.assertEqual(data["leads_total"]["cost"], 0.1184)
        self.assertEqual(data["currency_id"], self.env.company.currency_id.id)
        # the administrator sees Export's too; one team; another period
        self.assertEqual(self.dashboard(self.admin)["leads_total"]["cost"], 0.1776)
        data = self.dashboard(self.admin, team_id=self.other_team.id)
        costs = [(row["name"], row["cost"]) for row in data["leads"]]
        self.assertEqual(costs, [("Dan", 0.0592)])
        with freeze_time(datetime(2026, 12, 9, 12, 0)):
            data = (
                self.env["whatsapp.reporting.dashboard"]
                .with_user(self.leader)
                .get_dashboard_data(weeks=1)
            )
        self.assertEqual((data["leads"], data["leads_total"]["cost"]), ([], None))

    def test_dashboard_capacity_used(self):
        self.members.filtered(lambda m: m.user_id == self.ana).whatsapp_max_open = 4
        rows = {row["name"]: row for row in self.dashboard(self.leader)["users"]}
        self.assertEqual(rows["Ana"]["capacity_used"], 25)
        self.assertFalse(rows["Ben"]["capacity_used"], "no limit")

    def test_dashboard_of_one_team_and_the_period(self):
        data = self.dashboard(self.admin, team_id=self.other_team.id)
        self.assertEqual(data["total"]["received"], 1)
        self.assertEqual([row["name"] for row in data["users"]], ["Dan"])
        with freeze_time(datetime(2026, 12, 2, 12, 0)):
            data = (
                self.env["whatsapp.reporting.dashboard"]
                .with_user(self.leader)
                .get_dashboard_data(weeks=1)
            )
        self.assertEqual(data["total"]["received"], 0, "last week only")
        self.assertEqual(data["total"]["late"], 1, "the load is now")

    def test_a_manager_asking_for_another_team_gets_nothing_of_it(self):
        data = self.dashboard(self.leader, team_id=self.other_team.id)
        self.assertEqual(data["total"]["received"], 0)
        self.assertEqual(data["users"], [])
        self.assertEqual(data["leads"], [])
        self.assertIsNone(data["leads_total"]["cost"])

    def test_salespeople_have_no_reports(self):
        for model in (
            "whatsapp.response.report",
            "whatsapp.workload.report",
            "whatsapp.lead.report",
            "whatsapp.conversation.response",
        ):
            with self.subTest(model=model), self.assertRaises(AccessError):
                self.env[model].with_user(self.ana).search([])
        with self.assertRaises(AccessError):
            self.dashboard(self.ana)
        # nor over RPC, as the web client would call it
        self.authenticate("wa_ana", "wa_ana")
        with self.assertRaises(JsonRpcException) as caught:
            self.make_jsonrpc_request(
                "/web/dataset/call_kw/whatsapp.reporting.dashboard/get_dashboard_data",
                {
                    "model": "whatsapp.reporting.dashboard",
                    "method": "get_dashboard_data",
                    "args": [],
                    "kwargs": {},
                },
            )
        self.assertEqual(str(caught.exception), "odoo.exceptions.AccessError")

    def test_satisfaction_from_ratings_of_chats(self):
        if "rating.rating" not in self.env:
            self.skipTest("customer ratings come with the satisfaction survey")
        Rating = self.env["rating.rating"].sudo()
        model = self.env["ir.model"]._get_id("whatsapp.conversation")
        for chat, value in ((self.chat_a, 1), (self.chat_b, 5), (self.chat_d, 1)):
            Rating.create(
                {
                    "res_model_id": model,
                    "res_id": chat.id,
                    "partner_id": chat.partner_id.id,
                    "rating": value,
                    "consumed": True,
                    "feedback": "Too slow",
                }
            )
        data = self.env["whatsapp.reporting.dashboard"].with_user(self.leader)
        satisfaction = data.get_dashboard_data()["satisfaction"]
        self.assertEqual((satisfaction["count"], satisfaction["average"]), (2, 3.0))
        unhappy = [bad["chat_id"] for bad in satisfaction["bad"]]
        self.assertEqual(unhappy, [self.chat_a.id], "not Export's")


@tagged("post_install", "-at_install", "whatsapp_ui")
class TestReportsUi(ReportsCase):
    """The dashboard in Chromium, as the team's manager."""

    def test_the_manager_opens_the_dashboard_and_his_late_chats(self):
        self.start_tour(
            "/odoo/action-whatsapp_team.whatsapp_reporting_dashboard_action",
            "whatsapp_team_reporting_tour",
            login="wa_leader",
        )
