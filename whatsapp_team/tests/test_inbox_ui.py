import contextlib
import json
import logging
import threading
import time
from unittest.mock import patch

from odoo import SUPERUSER_ID, api
from odoo.tests import new_test_user, tagged

from odoo.addons.bus.models.bus import dispatch
from odoo.addons.bus.websocket import WebsocketConnectionHandler

from ..tools import signature
from .common import APP_SECRET, WhatsappCase

_logger = logging.getLogger(__name__)

SALES = "whatsapp_team.group_whatsapp_user,sales_team.group_sale_salesman"
DAY = 86400


@tagged("post_install", "-at_install", "whatsapp_ui", "whatsapp_inbox")
class TestInboxUi(WhatsappCase):
    """The inbox screen in Chromium, as the salespeople who use it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the screen is live over the bus's websocket, which Odoo's tests
        # keep closed unless asked (as bus's own WebsocketCase does)
        cls.startClassPatcher(
            patch.object(
                WebsocketConnectionHandler, "websocket_allowed", return_value=True
            )
        )
        cls.mia = new_test_user(
            cls.env, login="wa_inbox_mia", name="Mia Inbox", groups=SALES
        )
        cls.leo = new_test_user(
            cls.env, login="wa_inbox_leo", name="Leo Inbox", groups=SALES
        )
        cls.team = cls.env["crm.team"].create(
            {"name": "Inbox Team", "whatsapp_assignment": "manual"}
        )
        cls.env["crm.team.member"].create(
            [{"crm_team_id": cls.team.id, "user_id": u.id} for u in (cls.mia, cls.leo)]
        )
        cls.account.write(
            {
                "user_ids": [(5, 0, 0)],
                "team_ids": [(6, 0, cls.team.ids)],
                "team_id": cls.team.id,
            }
        )
        # the team's quick reply, as the demo has it
        cls.env["mail.canned.response"].create(
            {
                "source": "thanks",
                "substitution": "Thank you {first_name}, {salesperson} here.",
                "group_ids": [(4, cls.env.ref("whatsapp_team.group_whatsapp_user").id)],
            }
        )

    def authenticate(self, user, password, browser=None):
        # logging in reads and writes on the test transaction's own cursor:
        # the tour's crons (see crons_running) wait meanwhile
        with self.registry.test_lock:
            return super().authenticate(user, password, browser=browser)

    def chat(self, wa_id, name, days_ago, user=None):
        chat = self.deliver(
            self.message(
                wa_id,
                name=name,
                body=f"Hello from {name}",
                timestamp=int(time.time() - days_ago * DAY),
            )
        ).conversation_id
        chat.sudo().user_id = user or False
        if user:
            chat.with_user(user).inbox_mark_read()  # she has read it
        return chat

    @contextlib.contextmanager
    def crons_running(self):
        """What the crons and the bus do on a server, every 0.3 s during a
        tour: process webhook events, send the queue, and wake the
        websockets. Each run takes the test cursor as a request does, one at
        a time."""
        stop = threading.Event()
        errors = []

        def run():
            while not stop.is_set():
                try:
                    with self.registry.cursor() as cr:
                        env = api.Environment(cr, SUPERUSER_ID, {})
                        env["whatsapp.webhook.event"]._cron_process()
                        env["whatsapp.message"]._cron_send_queue()
                        # the bus's rows, as a commit would write them
                        cr.precommit.run()
                except Exception as error:  # noqa: BLE001 - reported below
                    _logger.exception("The crons of the tour stopped")
                    errors.append(error)
                    return
                # what PostgreSQL's NOTIFY does after a real commit, which
                # test cursors never make: the websockets look for news
                for websockets in list(dispatch._channels_to_ws.values()):
                    for websocket in list(websockets):
                        websocket.trigger_notification_dispatching()
                stop.wait(0.3)

        thread = threading.Thread(target=run, name="whatsapp-tour-crons")
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
        self.assertFalse(errors, errors)

    def test_a_salespersons_morning_in_the_inbox(self):
        olga = self.chat("32470600001", "Olga Inbox", 2, self.mia)
        pedro = self.chat("32470600002", "Pedro Inbox", 3, self.mia)
        quinn = self.chat("32470600003", "Quinn Inbox", 0)
        self.env["whatsapp.template"].create(
            {
                "name": "inbox_follow_up",
                "language": "en_US",
                "account_id": self.account.id,
                "category": "utility",
                "status": "approved",
                "body": "Hello {{1}}, any news?",
            }
        )
        body = json.dumps(
            self.payload(
                [
                    self.message(
                        "32470600002", name="Pedro Inbox", body="Is it still available?"
                    )
                ]
            )
        )
        webhook = {"body": body, "signature": signature.sign(APP_SECRET, body.encode())}
        tour = "whatsapp_team_inbox_tour"
        with self.crons_running():
            self.start_tour(
                "/odoo/action-whatsapp_team.whatsapp_inbox_action",
                tour,
                login="wa_inbox_mia",
                code=f"window.whatsappTourWebhook = {json.dumps(webhook)};"
                f" odoo.startTour({tour!r}, {{stepDelay: 0, keepWatchBrowser: false}})",
            )
            self.start_tour(
                "/odoo/action-whatsapp_team.whatsapp_inbox_action",
                "whatsapp_team_inbox_second_tour",
                login="wa_inbox_leo",
            )
        sent = [m.get("text", {}).get("body") for m in self.graph.messages]
        self.assertIn("Yes, it is!", sent)
        self.assertIn("Thank you Pedro, Mia Inbox here.", sent)
        self.assertFalse([text for text in sent if text and text.startswith(":")])
        asked = [m for m in self.graph.messages if m.get("type") == "interactive"]
        self.assertEqual(
            [m["interactive"] for m in asked],
            [
                {
                    "type": "button",
                    "body": {"text": "Which colour do you prefer?"},
                    "action": {
                        "buttons": [
                            {"type": "reply", "reply": {"id": "blue", "title": "Blue"}},
                            {
                                "type": "reply",
                                "reply": {"id": "light_green", "title": "Light green"},
                            },
                        ]
                    },
                }
            ],
        )
        self.assertEqual(asked[0]["to"], "32470600002")
        templates = [m for m in self.graph.messages if m.get("type") == "template"]
        self.assertEqual(
            [m["template"]["name"] for m in templates], ["inbox_follow_up"]
        )
        self.assertEqual(pedro.user_id, self.mia)
        self.assertEqual(pedro.unread_count, 0)
        self.assertFalse(quinn.user_id, "opening a chat takes nothing")
        self.assertTrue(olga.message_ids)
