import random
from datetime import timedelta, timezone

from odoo import api, fields, models

# (first name, last name) of the demo's past customers
DEMO_NAMES = [
    "Amara Okafor",
    "Bruno Costa",
    "Chloé Martin",
    "Dmitri Ivanov",
    "Elif Yılmaz",
    "Farah Haddad",
    "Giulia Rossi",
    "Hiro Tanaka",
    "Ines García",
    "Jonas Berg",
    "Kofi Mensah",
    "Lena Schmidt",
    "Mateo López",
    "Nadia Benali",
    "Oskar Nowak",
    "Priya Nair",
    "Quentin Dubois",
    "Rosa Ferreira",
    "Sven Larsen",
    "Tariq Aziz",
    "Uma Patel",
    "Viktor Horváth",
    "Wen Li",
    "Ximena Ruiz",
    "Yara Silva",
    "Zoe Clarke",
    "Aiko Sato",
    "Bilal Khan",
    "Carla Mendes",
    "Diego Alves",
    "Emma Jansen",
    "Felix Wagner",
]
QUESTIONS = [
    "Do you deliver on Saturdays?",
    "Is the oak table still available?",
    "Can I get a quote for 12 chairs?",
    "What are your opening hours this week?",
    "My order has not arrived yet",
    "Do you have this sofa in green?",
]
ANSWERS = [
    "Yes, we do! Which address?",
    "It is, shall I keep one for you?",
    "Of course, the quote is on its way.",
    "We are open 9 to 18, Monday to Saturday.",
    "Sorry about that, I am checking with the carrier.",
    "We have it in sage green, here is a photo.",
]


class WhatsappReportingDashboard(models.AbstractModel):
    _inherit = "whatsapp.reporting.dashboard"

    @api.model
    def _load_demo_history(self, account_id, team_xmlid, user_xmlids):
        """The last weeks of a demo team: customers who wrote, answers at
        various delays (some past the target), chats done, two customers
        waiting too long today, leads won. Their figures are counted as
        messages are: Marc's dashboard has something to show."""
        account = self.env["whatsapp.account"].browse(account_id).sudo()
        team = self.env.ref(team_xmlid)
        users = [self.env.ref(xmlid) for xmlid in user_xmlids]
        Sandbox = self.env["whatsapp.sandbox.message"]
        Message_sudo = self.env["whatsapp.message"].sudo()
        rng = random.Random(20261127)
        now = fields.Datetime.now().replace(second=0, microsecond=0)
        greeting, away = account.greeting_enabled, account.away_enabled
        # the past asked for no greeting now
        account.write({"greeting_enabled": False, "away_enabled": False})
        won = self.env["crm.stage"].search([("is_won", "=", True)], limit=1)
        # the past hands out no turn: the round-robin goes on where it was
        members_sudo = team.sudo().crm_team_member_ids
        turns = [
            (m, m.whatsapp_last_assigned_at, m.whatsapp_turn) for m in members_sudo
        ]
        for index, name in enumerate(DEMO_NAMES):
            late_today = index >= len(DEMO_NAMES) - 2
            if late_today:
                asked = now - timedelta(minutes=40 + 25 * (index % 2))
            else:
                asked = now - timedelta(
                    days=rng.randint(1, 27), hours=rng.randint(0, 8)
                )
                asked = asked.replace(hour=rng.randint(8, 16))
            user = users[index % len(users)]
            message = Sandbox._simulate(
                account,
                {
                    "name": name,
                    "phone": f"+44 7700 900{index:03d}",
                    "type": "text",
                    "body": QUESTIONS[index % len(QUESTIONS)],
                    "timestamp": int(asked.replace(tzinfo=timezone.utc).timestamp()),
                },
            )
            chat = message.conversation_id.sudo()
            if chat.team_id != team:
                chat.team_id = team
            chat.user_id = user
            if late_today:
                continue
            # most answers come in minutes, some take far longer
            delay = rng.choice([2, 3, 4, 5, 6, 8, 9, 11, 12, 14, 18, 25, 45, 90])
            answered = asked + timedelta(minutes=delay)
            answer = Message_sudo.create(
                {
                    "conversation_id": chat.id,
                    "direction": "out",
                    "message_type": "text",
                    "state": "read",
                    "body": ANSWERS[index % len(ANSWERS)],
                    "author_user_id": user.id,
                    "wa_message_id": f"wamid.DEMO-HISTORY-{account.id}-{index}",
                    "wa_timestamp": answered,
                    "written_at": answered,
                }
            )
            answer.mail_message_id = chat._message_post_whatsapp(
                body=answer.body,
                author_id=user.partner_id.id,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
                date=answered,
            )
            chat._figures_on_message(answer)
            chat.with_user(user)._on_agent_reply()
            if index % 3:
                done_at = answered + timedelta(hours=rng.randint(1, 30))
                if done_at < now:
                    chat._figures_close(done_at)
                    chat.with_context(mail_notrack=True).state = "done"
                    # a chat done weeks ago is not asked how it went today
                    chat.rating_request_at = False
            lead = chat.lead_id
            if lead:
                lead.write(
                    {
                        "user_id": user.id,
                        "expected_revenue": rng.choice([300, 800, 1200, 2500, 4000]),
                        **({"stage_id": won.id} if won and index % 4 == 0 else {}),
                    }
                )
        for member, last_assigned_at, turn in turns:
            member.write(
                {"whatsapp_last_assigned_at": last_assigned_at, "whatsapp_turn": turn}
            )
        account.write({"greeting_enabled": greeting, "away_enabled": away})
