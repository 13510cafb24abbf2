from contextlib import closing
from unittest.mock import patch

from odoo import sql_db
from odoo.tests import tagged
from odoo.tools import SQL

from ..models.whatsapp_conversation import MESSAGE_PARTNER_FIELDS
from ..tools.batch import PROCESSOR_BATCH, ProcessorBatch
from ..tools.payload import Identity
from .common import WhatsappCase


@tagged("post_install", "-at_install", "whatsapp_partner")
class TestPartnerMatching(WhatsappCase):
    def conversation_of(self, wa_id=None, **fields):
        return self.deliver(self.message(wa_id, **fields)).conversation_id

    def chat_with_lead(self, wa_id, name):
        """The chat (as superuser) of a customer who wrote once, linked to
        an open lead of theirs, and that lead."""
        chat = self.conversation_of(wa_id, name=name).sudo()
        lead = self.env["crm.lead"].create(
            {"name": f"{name}'s deal", "partner_id": chat.partner_id.id}
        )
        chat.lead_id = lead
        return chat, lead

    def test_partner_found_from_a_national_number_in_its_country(self):
        brazil = self.env.ref("base.br")
        partner = self.env["res.partner"].create(
            {"name": "Ana", "phone": "(11) 98765-4321", "country_id": brazil.id}
        )
        self.assertEqual(partner.whatsapp_phone_key, "551187654321")
        self.assertEqual(self.conversation_of("5511987654321").partner_id, partner)

    def test_numbers_typed_without_prefix_are_read_in_the_companys_country(self):
        """A number's default region: its company's country, as the company
        shows it; without one, the country of the number itself."""
        company = self.account.company_id
        self.assertEqual(self.account._default_region(), "BE")
        company.country_id = self.env.ref("base.br")
        self.assertEqual(self.account._default_region(), "BR")
        self.env.invalidate_all()  # as after a commit
        self.assertEqual(self.account._default_region(), "BR")
        company.country_id = False
        self.account.display_phone_number = "+33 1 42 68 53 00"
        self.assertEqual(self.account._default_region(), "FR")
        # a company whose address is another contact's: Odoo's country
        address = self.env["res.partner"].create(
            {
                "name": "Head office",
                "type": "contact",
                "parent_id": company.partner_id.id,
                "country_id": self.env.ref("base.mx").id,
            }
        )
        company.partner_id.type = "invoice"
        self.env.invalidate_all()
        self.assertEqual(company.country_id, address.country_id)
        self.assertEqual(self.account._default_region(), "MX")

    def test_brazil_ninth_digit_either_way(self):
        partner = self.env["res.partner"].create(
            {"name": "Bruno", "mobile": "+55 21 99876-5432"}
        )
        # WhatsApp id of an old account, without the ninth digit
        self.assertEqual(self.conversation_of("552198765432").partner_id, partner)

    def test_mexico_mobile_one(self):
        partner = self.env["res.partner"].create(
            {
                "name": "Jorge",
                "mobile": "55 1234 5678",
                "country_id": self.env.ref("base.mx").id,
            }
        )
        self.assertEqual(self.conversation_of("5215512345678").partner_id, partner)

    def test_china(self):
        partner = self.env["res.partner"].create(
            {
                "name": "Li",
                "mobile": "138 0013 8000",
                "country_id": self.env.ref("base.cn").id,
            }
        )
        self.assertEqual(self.conversation_of("8613800138000").partner_id, partner)

    def test_new_customer_gets_one_new_partner(self):
        conversation = self.conversation_of("5511912345678", name="Carla Lima")
        partner = conversation.partner_id
        self.assertEqual(partner.name, "Carla Lima")
        self.assertEqual(partner.mobile, "+55 11 91234-5678")
        self.assertEqual(partner.country_id, self.env.ref("base.br"))
        self.assertEqual(partner.whatsapp_mobile_key, "551112345678")
        again = self.conversation_of("5511912345678", name="Carla L.")
        self.assertEqual(again, conversation)
        self.assertEqual(
            self.env["res.partner"].search_count(
                [("whatsapp_mobile_key", "=", "551112345678")]
            ),
            1,
        )

    def test_a_known_customer_is_not_read_whole_at_each_message(self):
        """A message of a customer the chat knows reads what it shows and
        needs of them (MESSAGE_PARTNER_FIELDS), not the dozens of columns of
        their contact; the line in the chat still shows them as its author."""
        conversation = self.conversation_of("32470300201", name="Nora")
        partner = conversation.partner_id
        self.env.invalidate_all()
        with self.contact_reads() as reads:
            message = self.deliver(self.message("32470300201", body="Again"))
        read = {name for ids, names in reads if partner.id in ids for name in names}
        # read with the chat (test_a_returning_customers_chat_is_read_at_once),
        # and not read again whole afterwards
        self.assertLessEqual(read, set(MESSAGE_PARTNER_FIELDS))
        line = message.mail_message_id
        self.assertEqual(line.author_id, partner)
        self.assertEqual(line.email_from, partner.email_formatted or "Nora")
        self.assertEqual(message.conversation_id, conversation)

    def test_a_returning_customers_chat_is_read_at_once(self):
        """A message of a customer who has a chat reads the chat, what it
        reads next of its customer, its lead and the message it shows last,
        and whether the message is stored already, in one query once the
        customer's identity is locked, by the same statement."""
        chat, lead = self.chat_with_lead("32470300203", "Pia")
        last = chat.last_wa_message_id
        self.assertTrue(last)
        Chat = self.env["whatsapp.conversation"].sudo()
        identity = Identity(wa_id="32470300203", profile_name="Pia")
        self.env.flush_all()
        self.env.invalidate_all()  # as after a commit
        # the identity's lock, then the chat and all around it
        with self.assertQueryCount(1):
            found, stored = Chat._get_or_create_for_message(
                self.account, identity, "wamid.pia-new"
            )
        self.assertEqual(found, chat)
        self.assertFalse(stored)
        with self.assertQueryCount(0):
            found.partner_id.fetch(MESSAGE_PARTNER_FIELDS)
            found.lead_id.fetch(["active", "stage_id"])
            found.last_wa_message_id.fetch(["wa_timestamp", "create_date"])
        self.assertEqual(found.partner_id.name, "Pia")
        self.assertEqual(found.lead_id, lead)
        self.assertEqual(found.last_wa_message_id, last)
        self.assertTrue(found._lead_is_open())
        # delivered again: the message is found in the same query
        wamid = last.wa_message_id
        self.env.invalidate_all()
        with self.assertQueryCount(1):
            found, stored = Chat._get_or_create_for_message(
                self.account, identity, wamid
            )
        self.assertEqual(stored, last)

    def test_a_customers_identity_is_locked_with_or_without_a_chat(self):
        """Whether the customer has a chat or not, looking for it locks their
        identity until the transaction ends: a request or a processor that
        looks for the same customer waits, and two first messages never make
        two chats."""
        self.conversation_of("32470300207", name="Ida")
        Chat = self.env["whatsapp.conversation"].sudo()
        # a chat already, then a new customer
        for wa_id in ("32470300207", "32470300208"):
            identity = Identity(wa_id=wa_id, profile_name="Ida")
            Chat._get_or_create_for_message(self.account, identity, f"wamid.{wa_id}")
            phone_key = Chat.search([("wa_id", "=", wa_id)]).phone_key
            self.assertTrue(phone_key)
            self.assertFalse(self.lock_free(f"whatsapp-phone:{phone_key}"), wa_id)
        # a customer known by a user id alone
        identity = Identity(user_id="BE.ida-scoped", profile_name="Ida")
        Chat._get_or_create_for_message(self.account, identity, "wamid.ida-scoped")
        self.assertFalse(self.lock_free("whatsapp-user:BE.ida-scoped"))
        self.assertTrue(self.lock_free("whatsapp-user:BE.someone-else"))

    def lock_free(self, key):
        """Whether another transaction could take the advisory lock ``key``."""
        # a connection of its own (the registry's cursors share the test's)
        with closing(sql_db.db_connect(self.env.cr.dbname).cursor()) as other:
            other.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", [key])
            return other.fetchone()[0]

    def test_a_chat_found_for_a_user_reads_nothing_around_it(self):
        """Found for anything but a webhook's message (a call, the customer's
        WhatsApp button), the chat is read alone: its customer's lead and
        messages do not reach the cache of the user who asked for it, and
        what is found comes back in that user's environment."""
        chat, lead = self.chat_with_lead("32470300206", "Tea")
        last = chat.last_wa_message_id
        identity = Identity(wa_id="32470300206", profile_name="Tea")
        Chat = self.env["whatsapp.conversation"].with_user(self.user_allowed)
        self.env.flush_all()
        self.env.invalidate_all()
        found = Chat._get_or_create_for(self.account, identity, from_whatsapp=False)
        self.assertEqual(found, chat)
        self.assertEqual(found.env.uid, self.user_allowed.id)
        cache = self.env.cache
        self.assertFalse(cache.contains(lead, lead._fields["active"]))
        self.assertFalse(cache.contains(last, last._fields["wa_timestamp"]))
        found, stored = Chat._get_or_create_for_message(
            self.account, identity, last.wa_message_id
        )
        self.assertEqual(stored, last)
        self.assertEqual(stored.env.uid, self.user_allowed.id)
        self.assertFalse(stored.env.su)

    def test_a_customers_messages_taken_together_write_their_chat_once(self):
        """Messages of a customer taken together by a processor each read
        the chat; what the first ones changed of it waits in cache, and the
        chat is written once for all of them."""
        chat = self.conversation_of("32470300205", name="Sol")
        for body in ("One", "Two", "Three"):
            self.post_webhook(
                self.payload([self.message("32470300205", name="Sol", body=body)])
            )
        Event = self.env["whatsapp.webhook.event"].with_context(
            **{PROCESSOR_BATCH: ProcessorBatch()}
        )
        taken, _waiting = Event._take(25, processors=1)
        self.assertEqual(len(taken), 3)
        self.env.flush_all()
        self.env.invalidate_all()
        chat_updates = []
        execute = sql_db.Cursor.execute

        def spy(cr, query, params=None, log_exceptions=True):
            text = query.code if isinstance(query, SQL) else str(query)
            if text.lstrip().startswith('UPDATE "whatsapp_conversation"'):
                chat_updates.append(text)
            return execute(cr, query, params, log_exceptions)

        with patch.object(sql_db.Cursor, "execute", spy):
            Event.browse(taken)._process_together()
            self.env.flush_all()
        self.assertEqual(len(chat_updates), 1, chat_updates)
        self.assertEqual(Event.browse(taken).mapped("state"), ["done"] * 3)
        self.assertEqual(chat.unread_count, 4)
        self.assertEqual(chat.last_wa_message_id.body, "Three")

    def test_a_message_stored_in_another_chat_is_found_for_a_new_chat(self):
        """Delivered again under an identity no chat has yet (its sender's
        user id alone), a message is still found stored, in the chat it was
        stored in."""
        message = self.deliver(self.message("32470300204", name="Rui"))
        self.assertTrue(message)
        identity = Identity(user_id="BE.rui-scoped", profile_name="Rui")
        found, stored = (
            self.env["whatsapp.conversation"]
            .sudo()
            ._get_or_create_for_message(self.account, identity, message.wa_message_id)
        )
        self.assertNotEqual(found, message.conversation_id)
        self.assertEqual(stored, message)

    def test_a_message_reads_few_columns_of_the_company_and_the_readers(self):
        """The number's country (of the company's contact), the language of
        those whose inbox lists the chat (an administrator, here) and what
        a live notice shows of the user it goes to are read alone at each
        processor commit, not with the dozens of other columns of each
        contact."""
        self.conversation_of("32470300202", name="Olga")
        self.env.invalidate_all()
        with self.contact_reads() as reads:
            message = self.deliver(self.message("32470300202", body="Again"))
        read_whole = {pid for ids, names in reads if len(names) > 10 for pid in ids}
        self.assertTrue(message.mail_message_id)
        company_contact = self.account.company_id.partner_id
        self.assertNotIn(company_contact.id, read_whole)
        admin = self.env.ref("base.user_admin")
        self.assertTrue(admin.has_group("whatsapp_team.group_whatsapp_admin"))
        self.assertNotIn(admin.partner_id.id, read_whole)
        # told of the message in their inbox: a live notice went to them
        self.assertIn(
            self.user_allowed.partner_id,
            message.mail_message_id.notification_ids.res_partner_id,
        )
        self.assertNotIn(self.user_allowed.partner_id.id, read_whole)

    def test_same_customer_on_two_numbers_is_one_partner(self):
        other = self.env["whatsapp.account"].create(
            {
                "name": "Support",
                "phone_number_id": "222",
                "app_secret": self.account.app_secret,
                "access_token": "x",
                "graph_base_url": self.graph_server.url,
            }
        )
        first = self.conversation_of("32478111111", name="Eva")
        second = self.deliver(
            self.message("32478111111", name="Eva"), account=other
        ).conversation_id
        self.assertNotEqual(first, second)
        self.assertEqual(first.partner_id, second.partner_id)

    def test_several_matches_choice_is_deterministic(self):
        Partner = self.env["res.partner"]
        company = Partner.create(
            {"name": "Acme", "is_company": True, "phone": "+32 2 555 01 01"}
        )
        person_old = Partner.create({"name": "Old Person", "phone": "+32 2 555 01 01"})
        Partner.create({"name": "New Person", "mobile": "+32 2 555 01 01"})
        self.assertLess(company.id, person_old.id)
        # a person over a company, then the oldest
        self.assertEqual(self.conversation_of("3225550101").partner_id, person_old)

    def test_partner_already_chatting_on_this_number_wins(self):
        Partner = self.env["res.partner"]
        oldest = Partner.create({"name": "Oldest", "mobile": "+32 478 22 22 22"})
        chatting = Partner.create({"name": "Chatting", "mobile": "+32 478 22 22 22"})
        # "Chatting" already has a conversation on this number (under a username)
        self.env["whatsapp.conversation"].create(
            {
                "account_id": self.account.id,
                "partner_id": chatting.id,
                "wa_user_id": "BE.42",
            }
        )
        self.assertLess(oldest.id, chatting.id)
        self.assertEqual(self.conversation_of("32478222222").partner_id, chatting)

    def test_archived_and_other_company_partners_are_not_matched(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        self.env["res.partner"].create(
            {"name": "Archived", "mobile": "+32 478 33 33 33", "active": False}
        )
        self.env["res.partner"].create(
            {
                "name": "Elsewhere",
                "mobile": "+32 478 33 33 33",
                "company_id": other_company.id,
            }
        )
        partner = self.conversation_of("32478333333", name="Fresh").partner_id
        self.assertEqual(partner.name, "Fresh")

    def test_keys_follow_number_changes(self):
        partner = self.env["res.partner"].create(
            {"name": "Moving", "mobile": "+32 478 44 44 44"}
        )
        partner.mobile = "+32 478 55 55 55"
        self.assertEqual(partner.whatsapp_mobile_key, "32478555555")
        self.assertEqual(self.conversation_of("32478555555").partner_id, partner)
        partner.mobile = False
        self.assertFalse(partner.whatsapp_mobile_key)

    def test_matching_uses_the_index_not_a_scan(self):
        self.env.flush_all()
        self.env.cr.execute(
            "EXPLAIN SELECT id FROM res_partner"
            " WHERE whatsapp_phone_key = %s OR whatsapp_mobile_key = %s",
            ["32470123456", "32470123456"],
        )
        plan = "\n".join(row[0] for row in self.env.cr.fetchall())
        self.env.cr.execute(
            "SELECT indexname FROM pg_indexes"
            " WHERE tablename = 'res_partner' AND indexname LIKE %s",
            ["%whatsapp%key%"],
        )
        self.assertEqual(len(self.env.cr.fetchall()), 2, plan)

    # ---- business-scoped user ids (2026 usernames) ----

    def test_user_id_only_then_both_land_in_the_same_conversation(self):
        first = self.deliver(
            self.message(
                None, user_id="BR.1502576394655843", username="ana.s", name="Ana"
            )
        )
        conversation = first.conversation_id
        self.assertFalse(conversation.wa_id)
        self.assertEqual(conversation.wa_username, "ana.s")
        self.assertEqual(conversation.partner_id.country_id, self.env.ref("base.br"))
        both = self.deliver(
            self.message("5511955554444", user_id="BR.1502576394655843", name="Ana")
        )
        self.assertEqual(both.conversation_id, conversation)
        self.assertEqual(conversation.wa_id, "5511955554444")
        self.assertEqual(conversation.partner_id.mobile, "+55 11 95555-4444")
        phone_only = self.deliver(self.message("5511955554444", name="Ana"))
        self.assertEqual(phone_only.conversation_id, conversation)
        self.assertEqual(self.env["whatsapp.conversation"].search_count([]), 1)

    def test_phone_conversation_and_user_id_conversation_are_merged(self):
        by_phone = self.conversation_of("32479000001", name="Tom")
        by_user = self.deliver(
            self.message(None, user_id="BE.777", name="Tom")
        ).conversation_id
        self.assertNotEqual(by_phone, by_user)
        merged = self.deliver(
            self.message("32479000001", user_id="BE.777", name="Tom")
        ).conversation_id
        self.assertEqual(merged, by_phone)
        self.assertFalse(by_user.exists())
        self.assertEqual(merged.wa_user_id, "BE.777")
        self.assertEqual(len(merged.message_ids_wa), 3)
        self.assertEqual(
            len(merged.message_ids.filtered(lambda m: m.message_type == "comment")), 3
        )

    def test_number_unknown_to_phonenumbers_is_still_one_customer(self):
        # Meta vouches for the id even when phonenumbers' metadata does not
        conversation = self.conversation_of("16505554059136", name="New Range")
        self.assertEqual(conversation.phone_key, "16505554059136")
        self.assertEqual(conversation.partner_id.mobile, "+16505554059136")
        self.assertEqual(conversation.partner_id.whatsapp_mobile_key, "16505554059136")
        again = self.conversation_of("16505554059136", name="New Range")
        self.assertEqual(again, conversation)
        self.assertEqual(len(conversation.message_ids_wa), 2)
