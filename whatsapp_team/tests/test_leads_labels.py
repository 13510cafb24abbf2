from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from .common import WhatsappCase


@tagged("post_install", "-at_install", "whatsapp_crm")
class TestLeads(WhatsappCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesperson = new_test_user(
            cls.env,
            login="wa_lead_sales",
            groups="whatsapp_team.group_whatsapp_user,sales_team.group_sale_salesman",
        )
        cls.account.user_ids += cls.salesperson
        cls.account.create_leads = True

    def test_new_customer_gets_a_lead_from_whatsapp(self):
        chat = self.deliver(self.message("32470300001", name="Nina")).conversation_id
        lead = chat.lead_id
        self.assertTrue(lead)
        self.assertEqual(lead.partner_id, chat.partner_id)
        self.assertEqual(
            lead.source_id, self.env.ref("whatsapp_team.utm_source_whatsapp")
        )
        self.assertEqual(
            lead.medium_id, self.env.ref("whatsapp_team.utm_medium_whatsapp")
        )
        # its chatter says where it comes from, in one note nobody is told
        # of: the link to the chat, with the customer's message
        notes = lead.message_ids.filtered(
            lambda m: m.subtype_id == self.env.ref("mail.mt_note")
        )
        self.assertEqual(len(notes), 1)
        self.assertIn("Linked to the WhatsApp chat with Nina", notes.body)
        self.assertIn(self.account.name, notes.body)
        self.assertEqual(notes.message_type, "notification")
        self.assertFalse(notes.notification_ids)
        first = self.env["whatsapp.message"].search([("conversation_id", "=", chat.id)])
        self.assertEqual(first.lead_message_id, notes, "the message's copy")
        self.deliver(self.message("32470300001", body="and another thing"))
        self.assertEqual(
            self.env["crm.lead"].search_count(
                [("partner_id", "=", chat.partner_id.id)]
            ),
            1,
        )

    def test_one_lead_lookup_per_message(self):
        """A number without teams nor new leads: each customer message looks
        for the customer's open lead once, and links the one created since."""
        self.account.create_leads = False
        with self.lead_lookups() as lookups:
            chat = self.deliver(self.message("32470300009", name="Ida")).conversation_id
        self.assertEqual(len(lookups), 1)
        self.assertFalse(chat.lead_id)
        lead = self.env["crm.lead"].create(
            {"name": "Ida's sofa", "partner_id": chat.partner_id.id}
        )
        with self.lead_lookups() as lookups:
            self.deliver(self.message("32470300009", body="and the table?"))
        self.assertEqual(len(lookups), 1)
        self.assertEqual(chat.lead_id, lead)
        with self.lead_lookups() as lookups:
            self.deliver(self.message("32470300009", body="and the chairs?"))
        self.assertEqual(lookups, [], "its open lead is linked already")

    def test_open_lead_is_linked_won_one_is_not(self):
        partner = self.env["res.partner"].create(
            {"name": "Olaf", "mobile": "+32 470 30 00 02"}
        )
        won_stage = self.env["crm.stage"].search([("is_won", "=", True)], limit=1)
        won = self.env["crm.lead"].create(
            {"name": "Old deal", "partner_id": partner.id, "stage_id": won_stage.id}
        )
        chat = self.deliver(self.message("32470300002")).conversation_id
        self.assertTrue(chat.lead_id)
        self.assertNotEqual(chat.lead_id, won, "a won deal is not an open lead")
        open_lead = chat.lead_id
        other = self.deliver(self.message("32470300002", body="again")).conversation_id
        self.assertEqual(other.lead_id, open_lead)

    def test_open_leads_are_those_crm_calls_open(self):
        """The chat's look for open leads finds what CRM's own search does:
        active, in a stage not won, of the number's company or of none;
        newest first."""
        self.account.create_leads = False
        other_company = self.env["res.company"].create({"name": "Other Co"})
        chat = self.deliver(self.message("32470300006", name="Uma")).conversation_id
        Lead = self.env["crm.lead"]
        won_stage = self.env["crm.stage"].search([("is_won", "=", True)], limit=1)
        values = {"partner_id": chat.partner_id.id}
        open_lead = Lead.create({**values, "name": "Open"})
        shared = Lead.create({**values, "name": "No company", "company_id": False})
        Lead.create({**values, "name": "Won", "stage_id": won_stage.id})
        Lead.create({**values, "name": "Lost", "active": False})
        Lead.create({**values, "name": "Theirs", "company_id": other_company.id})
        crm_says = Lead.search(
            [
                ("partner_id", "=", chat.partner_id.id),
                ("stage_id.is_won", "=", False),
                ("company_id", "in", [chat.account_id.company_id.id, False]),
            ],
            order="id desc",
        )
        self.assertEqual(crm_says, shared | open_lead)
        self.assertEqual(chat._open_leads_sudo().ids, crm_says.ids)

    def test_another_companys_lead_is_not_linked(self):
        """A customer shared by two companies: the chat on this company's
        number never links the other company's lead (its salespeople would
        read the chat there)."""
        other_company = self.env["res.company"].create({"name": "Other Co"})
        partner = self.env["res.partner"].create(
            {"name": "Shared Customer", "mobile": "+32 470 30 00 05"}
        )
        theirs = self.env["crm.lead"].create(
            {
                "name": "Their deal",
                "partner_id": partner.id,
                "company_id": other_company.id,
            }
        )
        chat = self.deliver(self.message("32470300005")).conversation_id
        self.assertEqual(chat.partner_id, partner)
        self.assertTrue(chat.lead_id)
        self.assertNotEqual(chat.lead_id, theirs)
        self.assertNotIn("32470300005", " ".join(theirs.message_ids.mapped("body")))

    def test_no_automatic_lead_then_the_button(self):
        self.account.create_leads = False
        chat = self.deliver(self.message("32470300003", name="Pia")).conversation_id
        self.assertFalse(chat.lead_id)
        action = chat.with_user(self.salesperson).action_create_lead()
        self.assertEqual(action["res_model"], "crm.lead")
        self.assertEqual(chat.lead_id.id, action["res_id"])
        self.assertEqual(chat.lead_id.partner_id, chat.partner_id)
        # linking by hand instead: the field offers the customer's leads
        second = self.env["crm.lead"].create(
            {
                "name": "Second",
                "partner_id": chat.partner_id.id,
                "user_id": self.salesperson.id,
            }
        )
        with Form(chat.with_user(self.salesperson)) as form:
            form.lead_id = second
        self.assertEqual(chat.lead_id, second)

    def test_lead_and_chat_change_hands_together(self):
        team = self.env["crm.team"].create(
            {"name": "Leads team", "whatsapp_assignment": "manual"}
        )
        colleague = new_test_user(
            self.env,
            login="wa_lead_colleague",
            groups="whatsapp_team.group_whatsapp_user,sales_team.group_sale_salesman",
        )
        self.env["crm.team.member"].create(
            [
                {"crm_team_id": team.id, "user_id": user.id}
                for user in (self.salesperson, colleague)
            ]
        )
        self.account.write({"team_ids": [(4, team.id)], "team_id": team.id})
        chat = self.deliver(self.message("32470300004")).conversation_id
        self.assertEqual(chat.team_id, team)
        chat.with_user(self.salesperson).action_claim()
        self.assertEqual(chat.lead_id.user_id, self.salesperson)
        self.assertEqual(chat.lead_id.team_id, team)
        chat.lead_id.user_id = colleague
        self.assertEqual(chat.user_id, colleague, "the chat follows its lead")
        self.account.lead_follows_chat = False
        chat.lead_id.user_id = self.salesperson
        self.assertEqual(chat.user_id, colleague)
        # the team decides for its chats, whatever the number says
        team.whatsapp_lead_follows_chat = "yes"
        chat.lead_id.user_id = self.salesperson
        self.assertEqual(chat.user_id, self.salesperson)
        self.account.lead_follows_chat = True
        team.whatsapp_lead_follows_chat = "no"
        chat.lead_id.user_id = colleague
        self.assertEqual(chat.user_id, self.salesperson)
        chat.user_id = colleague
        chat.user_id = self.salesperson
        self.assertEqual(chat.lead_id.user_id, colleague, "not the other way either")

    def test_one_notice_per_change_of_hands(self):
        """A salesperson given a chat hears of the chat; its lead, created
        for them or following the chat, sends no "you have been assigned"
        of its own."""
        self.account.create_leads = False
        colleague = new_test_user(
            self.env,
            login="wa_lead_notice",
            groups="whatsapp_team.group_whatsapp_user,sales_team.group_sale_salesman",
        )
        self.account.user_ids += colleague
        chat = self.deliver(self.message("32470300040")).conversation_id
        chat.user_id = self.salesperson
        chat.action_create_lead()
        lead = chat.lead_id
        self.assertEqual(lead.user_id, self.salesperson)
        chat.user_id = colleague
        self.assertEqual(lead.user_id, colleague, "the lead followed")
        notices = self.env["mail.message"].search(
            [
                ("model", "=", "crm.lead"),
                ("res_id", "=", lead.id),
                ("message_type", "=", "user_notification"),
            ]
        )
        self.assertFalse(notices)
        # a lead assigned by hand in CRM still tells its salesperson
        lead.user_id = self.salesperson
        self.assertTrue(
            self.env["mail.message"].search_count(
                [
                    ("model", "=", "crm.lead"),
                    ("res_id", "=", lead.id),
                    ("message_type", "=", "user_notification"),
                ]
            )
        )

    def test_sales_team_decides_about_leads(self):
        """Per number or per sales team: a team's own setting wins, “as the
        number says” defers to the number."""
        shop, wholesale = self.env["crm.team"].create(
            [
                {"name": "Shop", "whatsapp_assignment": "manual"},
                {
                    "name": "Wholesale",
                    "whatsapp_assignment": "manual",
                    "whatsapp_create_leads": "no",
                },
            ]
        )
        self.account.write({"team_ids": [(6, 0, (shop | wholesale).ids)]})
        self.account.team_id = wholesale
        chat = self.deliver(self.message("32470300010")).conversation_id
        self.assertEqual(chat.team_id, wholesale)
        self.assertFalse(chat.lead_id, "the team creates no leads")
        self.account.write({"team_id": shop.id, "create_leads": False})
        wholesale.whatsapp_create_leads = "number"
        chat = self.deliver(self.message("32470300011")).conversation_id
        self.assertEqual(chat.team_id, shop)
        self.assertFalse(chat.lead_id, "the number creates no leads")
        shop.whatsapp_create_leads = "yes"
        chat = self.deliver(self.message("32470300012")).conversation_id
        self.assertEqual(chat.lead_id.team_id, shop, "the team creates leads")
        self.assertEqual(
            chat.lead_id.source_id, self.env.ref("whatsapp_team.utm_source_whatsapp")
        )


@tagged("post_install", "-at_install", "whatsapp_crm")
class TestLabels(WhatsappCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account.create_leads = True
        cls.Label = cls.env["whatsapp.label"]
        cls.vip = cls.Label.create({"name": "VIP", "color": 3})
        cls.hot_tag = cls.env["crm.tag"].create({"name": "Hot"})
        cls.hot = cls.Label.create({"name": "hot"})
        cls.manager = new_test_user(
            cls.env,
            login="wa_label_manager",
            groups="whatsapp_team.group_whatsapp_manager",
        )
        cls.account.user_ids += cls.manager

    def test_label_is_a_crm_tag(self):
        self.assertEqual(self.vip.tag_id.name, "VIP")
        self.assertEqual(self.hot.tag_id, self.hot_tag, "an existing tag is reused")

    def test_chat_labels_and_lead_tags_follow_each_other(self):
        chat = self.deliver(self.message("32470300010")).conversation_id
        lead = chat.lead_id
        chat.with_user(self.manager).label_ids = [(4, self.vip.id)]
        self.assertEqual(lead.tag_ids, self.vip.tag_id)
        lead.tag_ids = [(4, self.hot_tag.id)]
        self.assertEqual(chat.label_ids, self.vip | self.hot)
        unmapped = self.env["crm.tag"].create({"name": "Internal only"})
        lead.tag_ids = [(4, unmapped.id)]
        self.assertEqual(chat.label_ids, self.vip | self.hot, "only labelled tags")
        chat.label_ids = [(3, self.vip.id)]
        self.assertEqual(lead.tag_ids, self.hot_tag | unmapped)
        lead.tag_ids = [(3, self.hot_tag.id)]
        self.assertFalse(chat.label_ids)
        self.assertEqual(lead.tag_ids, unmapped)
        # no loop: each change was written once on each side
        tracked = lead.message_ids.filtered(lambda m: m.tracking_value_ids)
        self.assertLessEqual(len(tracked), 5)

    def test_linking_a_lead_merges_labels_and_tags(self):
        self.account.create_leads = False
        chat = self.deliver(self.message("32470300011")).conversation_id
        chat.label_ids = self.vip
        lead = self.env["crm.lead"].create(
            {
                "name": "Tagged",
                "partner_id": chat.partner_id.id,
                "tag_ids": self.hot_tag.ids,
            }
        )
        chat.lead_id = lead
        self.assertEqual(lead.tag_ids, self.vip.tag_id | self.hot_tag)
        self.assertEqual(chat.label_ids, self.vip | self.hot)

    def test_bulk_labels_from_the_list_and_filters(self):
        chats = self.env["whatsapp.conversation"]
        for wa_id in ("32470300012", "32470300013"):
            chats |= self.deliver(self.message(wa_id)).conversation_id
        wizard = (
            self.env["whatsapp.label.assign"]
            .with_user(self.manager)
            .with_context(active_model="whatsapp.conversation", active_ids=chats.ids)
            .create({"label_ids": [(6, 0, self.vip.ids)]})
        )
        wizard.action_apply()
        self.assertEqual(chats.mapped("label_ids"), self.vip)
        self.assertEqual(chats.lead_id.tag_ids, self.vip.tag_id)
        found = self.env["whatsapp.conversation"].search(
            [("label_ids", "in", self.vip.ids)]
        )
        self.assertEqual(found, chats)
        groups = self.env["whatsapp.conversation"]._read_group(
            [("id", "in", chats.ids)], ["label_ids"], ["__count"]
        )
        self.assertEqual(groups, [(self.vip, 2)])
        wizard = (
            self.env["whatsapp.label.assign"]
            .with_context(
                active_model="whatsapp.conversation", active_ids=chats[:1].ids
            )
            .create({"label_ids": [(6, 0, self.vip.ids)], "mode": "remove"})
        )
        wizard.action_apply()
        self.assertFalse(chats[:1].label_ids)
        self.assertFalse(chats[:1].lead_id.tag_ids)

    def test_salesperson_labels_but_does_not_define_labels(self):
        salesperson = new_test_user(
            self.env, login="wa_label_sales", groups="whatsapp_team.group_whatsapp_user"
        )
        self.account.user_ids += salesperson
        chat = self.deliver(self.message("32470300014")).conversation_id
        chat.with_user(salesperson).action_claim()
        chat.with_user(salesperson).label_ids = [(4, self.vip.id)]
        self.assertEqual(chat.lead_id.tag_ids, self.vip.tag_id)
        with self.assertRaises(AccessError):
            self.Label.with_user(salesperson).create({"name": "Mine"})


@tagged("post_install", "-at_install", "whatsapp_crm")
class TestCrmChatters(WhatsappCase):
    def test_partner_and_lead_chatters_show_the_chat(self):
        self.account.create_leads = True
        chat = self.deliver(
            self.message("32470300020", body="First question")
        ).conversation_id
        lead = chat.lead_id
        self.assertIn(
            "Last message from the customer: First question", lead.message_ids[0].body
        )
        self.deliver(self.message("32470300020", body="Is it waterproof?"))
        chat.message_post(
            body="Yes, fully.", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        chat.message_post(
            body="Internal: check stock",
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )
        partner_bodies = " ".join(chat.partner_id.message_ids.mapped("body"))
        self.assertNotIn("waterproof", partner_bodies, "partners are read by everyone")
        for record in (lead,):
            bodies = record.message_ids.mapped("body")
            self.assertTrue(any("Is it waterproof?" in b for b in bodies), record)
            self.assertTrue(any("Yes, fully." in b for b in bodies), record)
            self.assertFalse(
                any("check stock" in b for b in bodies), "notes stay in the chat"
            )
            copies = record.message_ids.filtered(lambda m: "WhatsApp · Sales" in m.body)
            self.assertTrue(all(m.is_internal for m in copies))
            self.assertFalse(copies.notification_ids, "a copy notifies nobody")

    def test_lead_chatter_gets_the_chat_files(self):
        """The customer's photos and the salesperson's files reach the lead,
        as the lead's own attachments: its readers need no access to the
        chat to open them."""
        self.account.create_leads = True
        png = b"\x89PNG\r\n\x1a\n" + b"0" * 64

        def image(caption):
            media_id = self.graph.add_media(png, "image/png")
            media = {"id": media_id, "mime_type": "image/png", "caption": caption}
            return media_id, self.message("32470300030", "image", image=media)

        _media_id, first = image("this sofa")
        inbound = self.deliver(first)
        chat, lead = inbound.conversation_id, inbound.conversation_id.lead_id
        self.assertTrue(lead)
        # the photo is downloaded after the message is in the chat: it
        # follows the message to the lead's note of the link, which quotes it
        first_copy = inbound.lead_message_id
        self.assertEqual((first_copy.model, first_copy.res_id), ("crm.lead", lead.id))
        self.assertIn("Linked to the WhatsApp chat", first_copy.body)
        self.assertIn("this sofa", first_copy.body)
        self.assertEqual(first_copy.attachment_ids.raw, png, "the first photo")
        self.assertEqual(
            first_copy.attachment_ids.mapped("res_model"), ["crm.lead"], "a copy"
        )
        # a photo whose download fails at first, and arrives on retry: the
        # copy said the photo could not be downloaded, then shows it
        media_id, late = image("in blue")
        self.graph.fail_next(131052, path_contains=media_id)
        late_message = self.deliver(late)
        late_copy = late_message.lead_message_id
        self.assertFalse(late_copy.attachment_ids)
        failed_body = late_copy.body
        self.assertIn("could not be downloaded", failed_body)
        self.env["whatsapp.message"]._cron_retry_media()
        self.assertEqual(late_copy.attachment_ids.raw, png)
        self.assertIn("in blue", late_copy.body)
        self.assertNotEqual(late_copy.body, failed_body)
        self.assertFalse(
            lead.message_ids.filtered(lambda m: "downloaded late" in m.body),
            "with the message it came with, not in a note apart",
        )
        # the salesperson answers with a file
        quote = self.env["ir.attachment"].create(
            {
                "name": "quote.pdf",
                "raw": b"%PDF-1.4 quote",
                "mimetype": "application/pdf",
                "res_model": "whatsapp.conversation",
                "res_id": chat.id,
            }
        )
        quote.generate_access_token()
        chat.message_post(
            body="Here is the quote",
            attachment_ids=quote.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        answer = lead.message_ids.filtered(lambda m: "Here is the quote" in m.body)
        self.assertEqual(answer.attachment_ids.name, "quote.pdf")
        self.assertNotEqual(answer.attachment_ids, quote)
        self.assertFalse(answer.attachment_ids.access_token, "not the chat's link")
        # a colleague who reads the lead and not the chat opens the files
        reader = new_test_user(
            self.env,
            login="wa_lead_reader",
            groups="sales_team.group_sale_salesman_all_leads",
        )
        files = lead.message_ids.attachment_ids.with_user(reader)
        self.assertEqual(len(files), 3)
        files.check("read")
        self.assertEqual(files.sorted("id")[-1].raw, b"%PDF-1.4 quote")
        with self.assertRaises(AccessError):
            quote.with_user(reader).check("read")

    def test_a_late_file_of_a_message_the_lead_never_copied(self):
        """A photo that arrives after its chat was linked to a lead, from a
        message the lead has no copy of (sent before the link, and not the
        last one the link quotes): the lead gets it in a note."""
        png = b"\x89PNG\r\n\x1a\n" + b"1" * 64
        media_id = self.graph.add_media(png, "image/png")
        self.graph.fail_next(131052, path_contains=media_id)
        message = self.deliver(
            self.message(
                "32470300031",
                "image",
                image={"id": media_id, "mime_type": "image/png", "caption": "x"},
            )
        )
        self.deliver(self.message("32470300031", body="and this"))
        self.assertFalse(message.lead_message_id)
        lead = self.env["crm.lead"].create(
            {"name": "Later", "partner_id": message.conversation_id.partner_id.id}
        )
        message.conversation_id.sudo().lead_id = lead
        self.assertFalse(message.lead_message_id)
        self.env["whatsapp.message"]._cron_retry_media()
        note = lead.message_ids.filtered(lambda m: "downloaded late" in m.body)
        self.assertEqual(note.attachment_ids.raw, png)
        self.assertEqual(note.attachment_ids.res_model, "crm.lead")
        # the note is the message's copy from then on: a deletion empties it
        self.assertEqual(message.lead_message_id, note)
        revoke = self.message("32470300031", "revoke")
        revoke[0]["revoke"] = {"original_message_id": message.wa_message_id}
        self.deliver(revoke)
        self.assertFalse(note.attachment_ids)
        self.assertIn("deleted this message", note.body)


@tagged("post_install", "-at_install", "whatsapp_crm")
class TestLeadGuards(WhatsappCase):
    def test_salesperson_links_only_leads_they_may_change(self):
        own = new_test_user(
            self.env,
            login="wa_guard_own",
            groups="whatsapp_team.group_whatsapp_user,sales_team.group_sale_salesman",
        )
        other = new_test_user(
            self.env,
            login="wa_guard_other",
            groups="whatsapp_team.group_whatsapp_user,sales_team.group_sale_salesman",
        )
        self.account.user_ids += own
        chat = self.deliver(self.message("32470300030")).conversation_id
        chat.with_user(own).action_claim()
        theirs = self.env["crm.lead"].create(
            {"name": "Not yours", "partner_id": chat.partner_id.id, "user_id": other.id}
        )
        with self.assertRaises(AccessError):
            chat.with_user(own).lead_id = theirs
        self.assertEqual(theirs.user_id, other)
        team = self.env["crm.team"].create({"name": "Elsewhere"})
        with self.assertRaisesRegex(UserError, "Only a WhatsApp manager"):
            chat.with_user(own).team_id = team
