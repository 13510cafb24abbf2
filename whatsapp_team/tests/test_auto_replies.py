from datetime import datetime

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import WhatsappCase


@tagged("post_install", "-at_install", "whatsapp_crm")
class TestAutomaticReplies(WhatsappCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.name = "Sofa & Co"
        cls.hours = cls.env["resource.calendar"].create(
            {
                "name": "Shop hours",
                "tz": "UTC",
                "attendance_ids": [
                    (
                        0,
                        0,
                        {
                            "name": f"d{d}",
                            "dayofweek": str(d),
                            "hour_from": 9,
                            "hour_to": 18,
                        },
                    )
                    for d in range(5)
                ],
            }
        )
        cls.account.write(
            {
                "greeting_enabled": True,
                "greeting_message": "Hello {first_name}, welcome to {company}!",
                "away_enabled": True,
                "away_message": "Hi {customer}, {company} is closed. Back at 9.",
                "business_hours_id": cls.hours.id,
            }
        )

    def sent_texts(self):
        self.env["whatsapp.message"]._cron_send_queue()
        return [m["text"]["body"] for m in self.graph.messages if m["type"] == "text"]

    def test_greeting_on_the_first_message_only(self):
        with freeze_time(datetime(2026, 11, 23, 11, 0)):  # a Monday morning
            self.deliver(self.message("32470400001", name="Maria Gomez", body="Hi"))
            self.deliver(self.message("32470400001", name="Maria Gomez", body="Hello?"))
            self.assertEqual(self.sent_texts(), ["Hello Maria, welcome to Sofa & Co!"])
        chat = self.env["whatsapp.conversation"].search([("wa_id", "=", "32470400001")])
        greeting = chat.message_ids.filtered(lambda m: "welcome to" in (m.body or ""))
        self.assertEqual(greeting.author_id, self.env.ref("base.partner_root"))
        self.assertTrue(chat.waiting_since, "a greeting answers nobody")

    def test_no_greeting_when_we_wrote_first(self):
        partner = self.env["res.partner"].create(
            {"name": "Called First", "mobile": "+32 470 40 00 09"}
        )
        chat = self.env["whatsapp.conversation"]._get_or_create_for_partner(
            self.account, partner
        )
        template = self.approved_template("hello")
        self.env["whatsapp.message"]._queue_template(chat, template, {})
        with freeze_time(datetime(2026, 11, 23, 11, 0)):
            self.deliver(self.message("32470400009", body="Yes, tell me"))
            self.assertEqual(self.sent_texts(), [], "no 'thanks for writing'")

    def test_away_message_at_night_once_a_day(self):
        with freeze_time(datetime(2026, 11, 23, 22, 0)):
            self.deliver(self.message("32470400002", name="Night Owl", body="Open?"))
            self.deliver(self.message("32470400002", name="Night Owl", body="Hello?"))
        with freeze_time(datetime(2026, 11, 23, 23, 30)):
            self.deliver(self.message("32470400002", name="Night Owl", body="!!"))
            self.assertEqual(
                self.sent_texts(), ["Hi Night Owl, Sofa & Co is closed. Back at 9."]
            )
        with freeze_time(datetime(2026, 11, 24, 21, 0)):  # the next evening
            self.deliver(self.message("32470400002", name="Night Owl", body="Again"))
            self.assertEqual(len(self.sent_texts()), 2)

    def test_away_day_is_the_business_day(self):
        """ "Once a day" counts days where the business is, not in UTC nor in
        the time zone of whoever processes the message."""
        self.hours.tz = "Asia/Tokyo"
        with freeze_time(datetime(2026, 11, 23, 14, 30)):  # 23:30 in Tokyo
            self.deliver(self.message("32470400004", name="Late Kenji", body="Hi"))
        with freeze_time(datetime(2026, 11, 23, 15, 30)):  # 00:30 the next day
            self.deliver(self.message("32470400004", name="Late Kenji", body="?"))
            self.assertEqual(len(self.sent_texts()), 2, "a new day in Tokyo")
        with freeze_time(datetime(2026, 11, 23, 20, 0)):  # 05:00, same day
            self.deliver(self.message("32470400004", name="Late Kenji", body="!"))
            self.assertEqual(len(self.sent_texts()), 2)

    def test_public_holiday_is_closed(self):
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Christmas",
                "calendar_id": self.hours.id,
                "date_from": datetime(2026, 12, 25, 0, 0),
                "date_to": datetime(2026, 12, 25, 23, 59),
            }
        )
        with freeze_time(datetime(2026, 12, 25, 11, 0)):  # a Friday
            self.deliver(self.message("32470400003", name="Xmas", body="Hi"))
            self.assertEqual(
                self.sent_texts(), ["Hi Xmas, Sofa & Co is closed. Back at 9."]
            )

    def test_disabled_means_silent(self):
        self.account.write({"greeting_enabled": False, "away_enabled": False})
        self.deliver(self.message("32470400004", body="Hi"))
        self.assertEqual(self.sent_texts(), [])

    def test_automatic_replies_over_the_limit_are_refused_when_saved(self):
        """A greeting or away message WhatsApp would refuse is refused when
        the administrator saves it, not when a customer writes."""
        Account = self.env["whatsapp.account"]
        for field in ("greeting_message", "away_message"):
            with self.assertRaisesRegex(ValidationError, r"at most 4096 .* has 4097"):
                Account.create({"name": "Shop", "mode": "sandbox", field: "x" * 4097})
        with self.assertRaisesRegex(ValidationError, r"at most 4096 .* has 5000"):
            self.account.away_message = "x" * 5000
        Account.create({"name": "Shop", "mode": "sandbox", "away_message": "x" * 4096})

    def test_automatic_reply_grown_too_long_is_not_sent(self):
        """Within the limit as written, past it with a customer's long name:
        not sent, never cut; the message is kept and waits for a person."""
        self.account.greeting_message = "Hi {customer}! " + "x" * 4080
        with (
            freeze_time(datetime(2026, 11, 23, 11, 0)),
            self.assertLogs(
                "odoo.addons.whatsapp_team.models.whatsapp_conversation_auto_reply",
                "WARNING",
            ),
        ):
            message = self.deliver(
                self.message("32470400006", name="Maria " + "G" * 30, body="Hi")
            )
            self.assertEqual(self.sent_texts(), [])
        self.assertEqual(set(self.events().mapped("state")), {"done"})
        self.assertTrue(message.conversation_id.waiting_since)

        salesperson = new_test_user(
            self.env, login="wa_quick", groups="whatsapp_team.group_whatsapp_user"
        )
        self.account.user_ids += salesperson
        self.account.write({"greeting_enabled": False, "away_enabled": False})
        chat = self.deliver(
            self.message("32470400005", name="Ana Lima")
        ).conversation_id
        canned = self.env["mail.canned.response"].create(
            {
                "source": "thanks",
                "substitution": "Thanks {first_name}! {company} will call you.",
            }
        )
        chat.with_user(salesperson).message_post(
            body=canned.substitution,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        self.assertEqual(self.sent_texts(), ["Thanks Ana! Sofa & Co will call you."])
        # a plain text body stays text, as with Odoo's message_post
        chat.with_user(salesperson).message_post(
            body="Size <b>M</b> {first_name}?",
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        self.assertEqual(self.sent_texts()[-1], "Size <b>M</b> Ana?")
        shown = chat.message_ids.filtered(lambda m: "Sofa &amp; Co will call" in m.body)
        self.assertIn("Thanks Ana!", shown.body, "the chatter shows what was sent")


@tagged("post_install", "-at_install", "whatsapp_crm")
class TestOptOut(WhatsappCase):
    def blacklisted(self, number):
        return bool(self.env["phone.blacklist"].search([("number", "=", number)]))

    def test_stop_in_several_languages(self):
        for index, word in enumerate(
            ("STOP", "baja", "退订", "Unsubscribe!", " 取消订阅 ")
        ):
            wa_id = f"3247050000{index}"
            chat = self.deliver(self.message(wa_id, body=word)).conversation_id
            self.assertTrue(self.blacklisted(f"+{wa_id}"), word)
            self.assertTrue(chat.opted_out, word)
            self.assertFalse(chat.waiting_since, "nothing to answer")

    def test_ordinary_messages_do_not_lift_it_start_does(self):
        chat = self.deliver(self.message("32470500010", body="stop")).conversation_id
        self.deliver(self.message("32470500010", body="stop sending me offers please"))
        self.assertTrue(self.blacklisted("+32470500010"), "not a whole-message keyword")
        self.deliver(self.message("32470500010", body="Thanks"))
        self.assertTrue(chat.opted_out, "an ordinary message does not lift it")
        self.deliver(self.message("32470500010", body="start"))
        self.assertFalse(self.blacklisted("+32470500010"))
        self.assertFalse(chat.opted_out)

    def test_the_blacklist_is_the_one_truth(self):
        """An administrator who edits the blacklist by hand changes the chat
        too: no flag of our own to drift apart."""
        chat = self.deliver(self.message("32470500013", body="Hi")).conversation_id
        self.assertFalse(chat.opted_out)
        self.env["phone.blacklist"].sudo().add("+32 470 50 00 13")
        self.assertTrue(chat.opted_out)
        self.assertIn(chat, chat.search([("opted_out", "=", True)]))
        entry = self.env["phone.blacklist"].search([("number", "=", "+32470500013")])
        entry.action_archive()
        self.assertFalse(chat.opted_out)
        self.assertIn(chat, chat.search([("opted_out", "=", False)]))
        self.assertNotIn(chat, chat.search([("opted_out", "=", True)]))

    def test_opt_out_read_in_one_query(self):
        """Every customer message shows the chat's opt-out in the inbox: the
        blacklist and the number's other chats are read at once."""
        stopped = self.deliver(self.message("32470500014", body="STOP"))
        chat = self.deliver(self.message("32470500015", body="Hi")).conversation_id
        chats = chat | stopped.conversation_id
        chats.invalidate_recordset(["opted_out"])
        chats.fetch(["phone_sanitized", "phone_key", "user_opted_out"])
        with self.assertQueryCount(1):
            self.assertEqual(chats.mapped("opted_out"), [False, True])

    def test_customer_known_by_username_only(self):
        """No number to blacklist: the chat keeps the customer's choice, and
        marketing templates are refused all the same."""
        user_id = "BR.1502576394655999"
        chat = self.deliver(
            self.message(None, user_id=user_id, username="ana.s", body="Hi")
        ).conversation_id
        self.assertFalse(chat.wa_id)
        self.assertFalse(chat.opted_out)
        self.deliver(self.message(None, user_id=user_id, body="Baja"))
        self.assertTrue(chat.opted_out)
        self.assertIn(chat, chat.search([("opted_out", "=", True)]))
        template = self.approved_template("promo_user", "marketing", "Sale!")
        with self.assertRaisesRegex(UserError, "asked not to receive marketing"):
            self.env["whatsapp.message"]._queue_template(chat, template, {})
        self.deliver(self.message(None, user_id=user_id, body="Thanks"))
        self.assertTrue(chat.opted_out, "an ordinary message does not lift it")
        chat.user_id = self.user_allowed  # their own chat: they may change it
        chat.with_user(self.user_allowed).state = "pending"
        with self.assertRaises(AccessError):
            chat.with_user(self.user_allowed).user_opted_out = False
        self.deliver(self.message(None, user_id=user_id, body="START"))
        self.assertFalse(chat.opted_out)
        self.assertNotIn(chat, chat.search([("opted_out", "=", True)]))
        self.assertIn(chat, chat.search([("opted_out", "=", False)]))

    def test_username_opt_out_survives_the_number(self):
        """Out while known by username, still out once their number shows."""
        user_id = "BR.1502576394655998"
        chat = self.deliver(
            self.message(None, user_id=user_id, body="STOP")
        ).conversation_id
        self.assertTrue(chat.opted_out)
        self.deliver(self.message("5511987650001", user_id=user_id, body="Hi"))
        self.assertEqual(chat.wa_id, "5511987650001")
        self.assertTrue(chat.opted_out, "the number does not lift it")
        self.assertIn(chat, chat.search([("opted_out", "=", True)]))
        self.deliver(self.message("5511987650001", user_id=user_id, body="START"))
        self.assertFalse(chat.opted_out)

    def test_own_keywords(self):
        self.account.optout_keywords = "PARAR, Arrêter"
        chat = self.deliver(self.message("32470500011", body="arrêter")).conversation_id
        self.assertTrue(chat.opted_out)
        chat2 = self.deliver(self.message("32470500012", body="STOP")).conversation_id
        self.assertFalse(chat2.opted_out, "not a keyword of this number any more")

    def test_marketing_templates_refused_utility_allowed(self):
        chat = self.deliver(self.message("32470500013", body="STOP")).conversation_id
        marketing = self.approved_template("promo", "marketing")
        utility = self.approved_template("receipt")
        with self.assertRaisesRegex(UserError, "asked not to receive marketing"):
            self.env["whatsapp.message"]._queue_template(chat, marketing, {})
        self.env["whatsapp.message"]._queue_template(chat, utility, {})
        self.assertEqual(
            chat.message_ids_wa.filtered(lambda m: m.direction == "out").template_id,
            utility,
        )

    def assert_processed(self):
        """Every webhook event went through: nothing rolled back, nothing to retry."""
        self.assertEqual(set(self.events().mapped("state")), {"done"})

    def test_stop_from_a_number_the_blacklist_refuses(self):
        """Meta's test numbers (+1 555 01xx) and ids libphonenumber calls
        invalid: the blacklist refuses them. The message is kept and the chat
        itself records the opt-out, for all of our numbers."""
        wa_id = "15550100123"
        self.assertFalse(self.env.user._phone_format(number=f"+{wa_id}"))
        chat = self.deliver(self.message(wa_id, body="STOP")).conversation_id
        self.assert_processed()
        self.assertEqual(chat.message_ids_wa.mapped("body"), ["STOP"])
        self.assertFalse(self.blacklisted(f"+{wa_id}"))
        self.assertTrue(chat.opted_out)
        self.assertIn(chat, chat.search([("opted_out", "=", True)]))
        self.assertNotIn(chat, chat.search([("opted_out", "=", False)]))
        marketing = self.approved_template("promo_test", "marketing")
        with self.assertRaisesRegex(UserError, "asked not to receive marketing"):
            self.env["whatsapp.message"]._queue_template(chat, marketing, {})
        # the same customer on another of our numbers
        other = self.env["whatsapp.account"].create(
            {"name": "Support", "phone_number_id": "333", "access_token": "x"}
        )
        other_chat = self.env["whatsapp.conversation"]._get_or_create_for_partner(
            other, chat.partner_id
        )
        self.assertNotEqual(other_chat, chat)
        self.assertTrue(other_chat.opted_out)
        self.assertIn(other_chat, chat.search([("opted_out", "=", True)]))
        self.deliver(self.message(wa_id, body="Thanks"))
        self.assertTrue(chat.opted_out, "an ordinary message does not lift it")
        self.deliver(self.message(wa_id, body="START"))
        self.assert_processed()
        self.assertFalse(chat.opted_out)
        self.assertFalse(other_chat.opted_out)
        self.assertNotIn(chat, chat.search([("opted_out", "=", True)]))
        self.assertIn(chat, chat.search([("opted_out", "=", False)]))
        self.env["whatsapp.message"]._queue_template(chat, marketing, {})

    def test_the_blacklist_keeps_its_own_form_of_the_number(self):
        """Brazil's 12-digit WhatsApp ids lack the ninth digit the blacklist
        adds; Mexico's keep the old "1" the blacklist drops. The chat reads
        the blacklist in its form, both ways: STOP, START and an
        administrator's hand."""
        brazil = self.deliver(self.message("551187654321", body="STOP")).conversation_id
        self.assert_processed()
        self.assertTrue(self.blacklisted("+5511987654321"))
        self.assertTrue(brazil.opted_out)
        self.assertIn(brazil, brazil.search([("opted_out", "=", True)]))
        self.assertNotIn(brazil, brazil.search([("opted_out", "=", False)]))
        marketing = self.approved_template("promo_br", "marketing")
        with self.assertRaisesRegex(UserError, "asked not to receive marketing"):
            self.env["whatsapp.message"]._queue_template(brazil, marketing, {})
        self.deliver(self.message("551187654321", body="START"))
        self.assertFalse(
            self.env["phone.blacklist"].search([("number", "=", "+5511987654321")])
        )
        self.assertFalse(brazil.opted_out)
        self.assertIn(brazil, brazil.search([("opted_out", "=", False)]))

        mexico = self.deliver(
            self.message("5215512345678", body="Hola")
        ).conversation_id
        Blacklist = self.env["phone.blacklist"].sudo()
        Blacklist.add("+52 55 1234 5678")
        self.assertTrue(mexico.opted_out)
        self.assertIn(mexico, mexico.search([("opted_out", "=", True)]))
        Blacklist.remove("+52 55 1234 5678")
        self.assertFalse(mexico.opted_out)
        self.assertIn(mexico, mexico.search([("opted_out", "=", False)]))
        Blacklist.add("+55 11 98765-4321")
        self.assertIn(brazil, brazil.search([("opted_out", "=", True)]))
