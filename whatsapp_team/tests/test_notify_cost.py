import gc
import json
import weakref
from unittest.mock import patch

from odoo.tests import new_test_user, tagged

from odoo.addons.mail.models.models import BaseModel as MailBase
from odoo.addons.sms.models import mail_thread as sms_thread

from ..tools.batch import ProcessorBatch
from .test_team import TeamCase

NOTIFY_LOGGER = "odoo.addons.whatsapp_team.models.whatsapp_conversation_notify"


@tagged("post_install", "-at_install", "whatsapp_notify")
class TestNotifyCost(TeamCase):
    """A customer message's line in the chat and its announce to the team
    cost few queries, and tell the same people the same things."""

    def inbox_of(self, mail_message):
        return mail_message.notification_ids.filtered(
            lambda n: n.notification_type == "inbox"
        ).res_partner_id

    def stored_message(self, chat, body):
        message = (
            self.env["whatsapp.message"]
            .sudo()
            .create(
                {
                    "wa_message_id": f"wamid.cost-{body}",
                    "conversation_id": chat.id,
                    "direction": "in",
                    "message_type": "text",
                    "body": body,
                    "state": "received",
                }
            )
        )
        self.env.flush_all()
        return message

    def test_post_and_announce_cost_few_queries(self):
        chat = self.new_chat(body="Hello")
        self.assertEqual(chat.user_id, self.ana)
        # as in the processor, where a chat's messages follow one another
        warm_up = self.stored_message(chat, "Are you there?")
        warm_up._post_inbound_in_chatter()
        warm_up._announce_to_team()
        self.env.cr.precommit.run()
        self.env["bus.bus"].sudo().search([]).unlink()
        message = self.stored_message(chat, "Still there?")
        # the message, nothing read again for its recipients or reply-to,
        # no first message looked up to thread it under
        with self.assertQueryCount(6):
            message._post_inbound_in_chatter()
        mail_message = message.mail_message_id
        self.assertFalse(self.inbox_of(mail_message), "told once announced")
        # followers and answerers read together; the notice, the bus
        with self.assertQueryCount(22):
            message._announce_to_team()
        self.assertEqual(self.inbox_of(mail_message), self.ana.partner_id)
        inbox = self.inbox_bus(self.ana)
        self.assertEqual(len(inbox), 1)
        self.assertIn("Still there?", json.dumps(inbox[0]["payload"]))
        self.assertFalse(self.inbox_bus(self.ben))

    def test_the_readers_of_a_chat_are_found_in_few_queries(self):
        chat = self.new_chat(body="Hello")
        self.assertEqual(chat.user_id, self.ana)
        admin = new_test_user(
            self.env,
            login="wa_admin_reader",
            groups="whatsapp_team.group_whatsapp_admin",
        )
        chat._inbox_readers()  # the rules' queries are built once a user
        self.env.invalidate_all()
        # the chat, the number's users, the administrators, the rules: no
        # user is read whole to know whether it is active
        with self.assertQueryCount(4):
            readers = chat._inbox_readers()[chat.id]
        self.assertIn(self.ana, readers)
        self.assertIn(self.leader, readers)
        self.assertIn(admin, readers)
        self.assertNotIn(self.ben, readers)
        self.assertNotIn(self.dan, readers)
        admin.active = False
        self.assertNotIn(admin, chat._inbox_readers()[chat.id])

    def test_announce_values_are_the_message(self):
        chat = self.new_chat(body="Hello")
        message = self.deliver(self.message(chat.wa_id, body="Prices?"))
        mail_message = message.mail_message_id
        mail_message.invalidate_recordset()
        values = message._announce_values(chat)
        self.assertEqual(
            values,
            {
                "model": "whatsapp.conversation",
                "res_id": chat.id,
                "message_type": mail_message.message_type,
                "subtype_id": self.env.ref("whatsapp_team.mt_customer_message").id,
                "author_id": chat.partner_id.id,
                "partner_ids": [],
                "body": mail_message.body,
                "record_name": mail_message.record_name,
                "subject": mail_message.subject,
                "scheduled_date": False,
            },
        )
        self.assertFalse(mail_message.partner_ids)

    def test_answerer_who_is_the_current_user_is_told(self):
        """Odoo tells nobody of their own message: an answerer who runs the
        announce (as the current user) still hears of the customer's."""
        chat = self.new_chat(body="Hello")
        message = self.stored_message(chat, "For Ana")
        message._post_inbound_in_chatter()
        chat.message_subscribe(
            partner_ids=self.ana.partner_id.ids,
            subtype_ids=self.env.ref("whatsapp_team.mt_customer_message").ids,
        )
        message.with_user(self.ana)._announce_to_team()
        self.assertEqual(self.inbox_of(message.mail_message_id), self.ana.partner_id)

    def test_unassigned_chat_tells_its_team_and_followers_once(self):
        self.team.whatsapp_assignment = "manual"
        chat = self.new_chat(body="Anyone?")
        self.assertFalse(chat.user_id)
        # a follower of customer messages who also answers, one who does not
        # answer but may read, one who may not read the chat
        subtype = self.env.ref("whatsapp_team.mt_customer_message")
        chat.message_subscribe(
            partner_ids=(self.ben | self.leader | self.dan).partner_id.ids,
            subtype_ids=subtype.ids,
        )
        message = self.stored_message(chat, "Hello team")
        message._post_inbound_in_chatter()
        message._announce_to_team()
        mail_message = message.mail_message_id
        self.assertEqual(
            self.inbox_of(mail_message),
            (self.ana | self.ben | self.cleo | self.leader).partner_id,
        )
        self.assertEqual(len(mail_message.notification_ids), 4)

    def announce_together(self, messages):
        """Announce ``messages`` as a processor does before its commit, from
        a cold cache; returns the queries spent and the processor's batch."""
        work = ProcessorBatch()
        for message in messages:
            work.add_announce(message.id)
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        self.env["whatsapp.conversation"]._announce_together(
            work.take_announce_ids(), work
        )
        self.env.flush_all()
        return self.env.cr.sql_log_count - before, work

    def test_a_processor_announces_its_messages_at_a_cost_that_does_not_grow(self):
        """A processor announces all its messages together: followers,
        answerers and readers read once, notifications and pushes inserted
        once, whatever the number of messages and chats."""
        chats = [self.new_chat(body=f"Hello {number}") for number in range(6)]
        for user in (self.ana, self.ben, self.cleo):
            self.env["mail.push.device"].sudo().create(
                {
                    "partner_id": user.partner_id.id,
                    "endpoint": f"https://push.example.com/{user.login}",
                    "keys": json.dumps({"p256dh": "key", "auth": "auth"}),
                }
            )
        messages = []
        for index, chat in enumerate(chats):
            message = self.stored_message(chat, f"Question {index}")
            message._post_inbound_in_chatter()
            messages.append(message)
        # the first look fills the server's caches (access rules, xmlids)
        self.announce_together(messages[:1])
        few, _work = self.announce_together(messages[1:3])
        many, work = self.announce_together(messages[3:])
        self.assertEqual(few, many)
        self.assertLessEqual(many, 27, "from a cold cache")
        for message, chat in zip(messages, chats, strict=True):
            told = self.inbox_of(message.mail_message_id)
            self.assertEqual(told, chat.user_id.partner_id)
        self.assertEqual(
            {uid: list(ids) for uid, ids in work.inbox_notices.items()},
            {
                chat.user_id.id: [
                    m.mail_message_id.id
                    for m, c in zip(messages[3:], chats[3:], strict=True)
                    if c.user_id == chat.user_id
                ]
                for chat in chats[3:]
            },
        )
        self.assertTrue(work.pushes_queued)
        pushes = self.env["mail.push"].sudo().search([])
        self.assertEqual(len(pushes), 6, "one push a message, to its salesperson")
        self.assertIn("Question 5", pushes.sorted("id")[-1].payload)

    def test_a_processor_tells_the_people_odoo_would(self):
        """A processor's announce (all its messages together) tells the
        same people as Odoo's ``_notify_thread`` one message at a time: the
        team of an unassigned chat and the followers of customer messages
        who may read it, once each; nobody else; a message rolled back
        since is left out."""
        self.team.whatsapp_assignment = "manual"
        chat = self.new_chat(body="Anyone?")
        self.assertFalse(chat.user_id)
        subtype = self.env.ref("whatsapp_team.mt_customer_message")
        chat.message_subscribe(
            partner_ids=(self.ben | self.dan).partner_id.ids,
            subtype_ids=subtype.ids,
        )
        # the leader, who may read the chat, follows its notes only
        self.assertTrue(chat.with_user(self.leader).has_access("read"))
        chat.message_subscribe(
            partner_ids=self.leader.partner_id.ids,
            subtype_ids=self.env.ref("mail.mt_note").ids,
        )
        one_by_one = self.stored_message(chat, "Hello team")
        one_by_one._post_inbound_in_chatter()
        one_by_one._announce_to_team()
        together = self.stored_message(chat, "Hello again")
        together._post_inbound_in_chatter()
        self.env["bus.bus"].sudo().search([]).unlink()
        _queries, work = self.announce_together(together | self.browse_gone())
        told = (self.ana | self.ben | self.cleo).partner_id
        self.assertEqual(self.inbox_of(one_by_one.mail_message_id), told)
        self.assertEqual(self.inbox_of(together.mail_message_id), told)
        self.assertEqual(len(together.mail_message_id.notification_ids), 3)
        self.assertEqual(
            sorted(work.inbox_notices), sorted((self.ana | self.ben | self.cleo).ids)
        )

    def test_whoever_announces_is_not_told_as_a_follower(self):
        """As Odoo: the current user, when active, hears nothing of a post as
        a follower (the chat's salesperson still hears of it), whether one
        message at a time or a processor's together."""
        chat = self.new_chat(body="Hello")
        chat.message_subscribe(
            partner_ids=self.leader.partner_id.ids,
            subtype_ids=self.env.ref("whatsapp_team.mt_customer_message").ids,
        )
        messages = []
        for body in ("One", "Two", "Three"):
            message = self.stored_message(chat, body)
            message._post_inbound_in_chatter()
            messages.append(message)
        Conversation = self.env["whatsapp.conversation"]
        Conversation.with_user(self.leader)._announce_together(
            [messages[0].id], ProcessorBatch()
        )
        messages[1].with_user(self.leader)._announce_now()
        Conversation._announce_together([messages[2].id], ProcessorBatch())
        salesperson = chat.user_id.partner_id
        self.assertEqual(self.inbox_of(messages[0].mail_message_id), salesperson)
        self.assertEqual(self.inbox_of(messages[1].mail_message_id), salesperson)
        self.assertEqual(
            self.inbox_of(messages[2].mail_message_id),
            salesperson | self.leader.partner_id,
        )

    def test_an_announce_that_fails_costs_only_its_message(self):
        """A processor's announce that fails for one message (here its web
        push) is made again one message at a time: the others are told,
        that one is in its chat all the same, and the processor commits."""
        for user in (self.ana, self.ben):
            self.env["mail.push.device"].sudo().create(
                {
                    "partner_id": user.partner_id.id,
                    "endpoint": f"https://push.example.com/{user.login}",
                    "keys": json.dumps({"p256dh": "key", "auth": "auth"}),
                }
            )
        Conversation = type(self.env["whatsapp.conversation"])
        prepare = Conversation._notify_by_web_push_prepare_payload

        def failing(chat, message, msg_vals=False):
            if "boom" in ((msg_vals or {}).get("body") or message.body or ""):
                raise ValueError("no push for this one")
            return prepare(chat, message, msg_vals=msg_vals)

        self.post_webhook(self.payload([self.message("32470997001", body="boom")]))
        self.post_webhook(self.payload([self.message("32470997002", body="fine")]))
        with (
            patch.object(Conversation, "_notify_by_web_push_prepare_payload", failing),
            self.assertLogs(NOTIFY_LOGGER, "ERROR") as logs,
        ):
            self.process()
        self.assertEqual(len(logs.records), 2, "together, then the one message")
        boom, fine = (
            self.env["whatsapp.message"].search([("body", "=", body)])
            for body in ("boom", "fine")
        )
        self.assertTrue(boom.mail_message_id, "in its chat")
        self.assertFalse(boom.mail_message_id.notification_ids, "told to nobody")
        self.assertEqual(
            self.inbox_of(fine.mail_message_id), fine.conversation_id.user_id.partner_id
        )
        self.assertEqual(self.events().mapped("state"), ["done", "done"])
        notices = [
            n["mail.message"][0]["id"]
            for n in self.inbox_notices(fine.conversation_id.user_id)
        ]
        self.assertIn(fine.mail_message_id.id, notices)
        self.assertNotIn(boom.mail_message_id.id, notices)

    def test_live_notices_follow_the_chat(self):
        """A processor's live notices reach each user in the order of the
        chat: a customer message, then the note it caused (an opt-out)."""
        chat = self.new_chat(body="Hi")
        chat.message_subscribe(
            partner_ids=self.leader.partner_id.ids,
            subtype_ids=(
                self.env.ref("whatsapp_team.mt_customer_message")
                | self.env.ref("mail.mt_note")
            ).ids,
        )
        self.env.cr.precommit.run()
        self.env["bus.bus"].sudo().search([]).unlink()
        hello, stop = self.deliver(
            self.message(chat.wa_id, body="Hello"),
            self.message(chat.wa_id, body="STOP"),
        ).sorted("id")
        self.assertTrue(chat.opted_out)
        note = self.env["mail.message"].search(
            [
                ("model", "=", chat._name),
                ("res_id", "=", chat.id),
                ("message_type", "=", "notification"),
                ("id", ">", stop.mail_message_id.id),
            ]
        )
        self.assertEqual(len(note), 1)
        order = [n["mail.message"][0]["id"] for n in self.inbox_notices(self.leader)]
        self.assertEqual(
            order, [hello.mail_message_id.id, stop.mail_message_id.id, note.id]
        )

    def browse_gone(self):
        """A customer message rolled back since it was kept to announce."""
        Message = self.env["whatsapp.message"].sudo()
        self.env.cr.execute("SELECT COALESCE(MAX(id), 0) + 1000 FROM whatsapp_message")
        return Message.browse(self.env.cr.fetchone()[0])

    def test_reply_to_is_odoos(self):
        chat = self.new_chat(body="Hello")
        expected = MailBase._notify_get_reply_to(chat, default="x@example.com")
        self.assertEqual(chat._notify_get_reply_to(default="x@example.com"), expected)
        self.assertEqual(expected, {chat.id: "x@example.com"})
        domain = self.env["mail.alias.domain"].create(
            {"name": "chats.example.com", "catchall_alias": "catchall"}
        )
        chat.company_id.alias_domain_id = domain
        expected = MailBase._notify_get_reply_to(chat, default="x@example.com")
        self.assertIn("catchall@chats.example.com", expected[chat.id])
        self.assertEqual(chat._notify_get_reply_to(default="x@example.com"), expected)
        message = self.deliver(self.message(chat.wa_id, body="Reply-to?"))
        self.assertEqual(message.mail_message_id.reply_to, expected[chat.id])

    def test_no_post_in_a_chat_is_made_plain_text_for_an_sms_never_sent(self):
        """Odoo's SMS addon turns every post's body into plain text, for
        the SMS of recipients told by SMS; a chat's people never are. An
        SMS asked for still goes out."""
        original = sms_thread.html2plaintext
        plain = []

        def counted(html, *args, **kwargs):
            plain.append(html)
            return original(html, *args, **kwargs)

        chat = self.new_chat(body="Hello")
        with patch.object(sms_thread, "html2plaintext", counted):
            self.deliver(self.message(chat.wa_id, body="Any news?"))
            chat.with_user(self.ana).message_post(
                body="<p>Call them back</p>", message_type="comment"
            )
            self.assertEqual(plain, [], "no SMS, no plain text")
            sent = chat.sudo()._message_sms("We called", sms_numbers=["+32470999111"])
        sms = self.env["sms.sms"].sudo().search([("mail_message_id", "=", sent.id)])
        self.assertEqual((sms.number, sms.body), ("+32470999111", "We called"))

    def test_a_processor_gives_its_posts_odoos_alias_domain(self):
        """A processor's posts carry the alias domain Odoo gives them (the
        chat's company's, else the first one); the first one is searched
        once a commit."""
        chat = self.new_chat(body="Hello")
        AliasDomain = self.env["mail.alias.domain"]
        AliasDomain.create({"name": "b.example.com", "sequence": 2})
        AliasDomain.create({"name": "a.example.com", "sequence": 1})
        # companies without an alias domain of their own (the first one made
        # is given to them)
        (chat.company_id | self.env.company).alias_domain_id = False
        first = AliasDomain.search([], limit=1)
        self.assertEqual(first.name, "a.example.com")
        expected = MailBase._mail_get_alias_domains(chat)
        self.assertEqual(expected, {chat.id: first})

        work = ProcessorBatch()
        in_processor = chat.with_context(whatsapp_processor_batch=work)
        searched = []
        original = type(AliasDomain).search

        def search(model, domain, *args, **kwargs):
            searched.append(domain)
            return original(model, domain, *args, **kwargs)

        with patch.object(type(AliasDomain), "search", search):
            self.assertEqual(in_processor._mail_get_alias_domains(), expected)
            self.assertEqual(in_processor._mail_get_alias_domains(), expected)
            self.assertEqual(len(searched), 1, "once a commit")
            work.committed()
            self.assertEqual(in_processor._mail_get_alias_domains(), expected)
            self.assertEqual(len(searched), 2, "again after the commit")
            # outside a processor, as Odoo
            self.assertEqual(chat._mail_get_alias_domains(), expected)
            self.assertEqual(len(searched), 3)

        message = self.deliver(self.message(chat.wa_id, body="Which domain?"))
        self.assertEqual(message.mail_message_id.record_alias_domain_id, first)
        own = AliasDomain.create({"name": "own.example.com", "sequence": 3})
        chat.company_id.alias_domain_id = own
        self.assertEqual(in_processor._mail_get_alias_domains(), {chat.id: own})
        message = self.deliver(self.message(chat.wa_id, body="And now?"))
        self.assertEqual(message.mail_message_id.record_alias_domain_id, own)

    def test_a_processor_lets_the_environments_of_its_work_go(self):
        """An environment that gave its user lives on in a reference cycle
        until Python's full garbage collection, and Odoo looks through all
        the live ones at each new one: after its commit, a processor lets
        those of its work go at once."""
        collecting = gc.isenabled()
        gc.disable()
        try:
            made = [self.env(context={"wa_work": n}) for n in range(5)]
            self.assertEqual({env.user for env in made}, {self.env.user})
            gone = [weakref.ref(env) for env in made]
            del made
            self.assertTrue(all(ref() for ref in gone), "kept by their cycles")
            self.env["whatsapp.webhook.event"]._forget_environments()
            self.assertFalse([ref for ref in gone if ref()])
            # the environments in use work on, computing again what they forgot
            self.assertIn(self.env, self.env.transaction.envs)
            self.assertEqual(self.env.user.id, self.env.uid)
        finally:
            if collecting:
                gc.enable()
