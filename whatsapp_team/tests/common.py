import contextlib
import itertools
import json
import time
from unittest.mock import patch

import psycopg2

from odoo.sql_db import connection_info_for
from odoo.tests import HttpCase, new_test_user

from ..tools import signature
from ..tools.fake_graph import FakeGraph, FakeGraphServer

ACCESS_TOKEN = "test-access-token"
APP_SECRET = "test-app-secret"
PHONE_NUMBER_ID = "106540352242922"
_wamids = itertools.count(1)


class WhatsappCase(HttpCase):
    """A WhatsApp number whose Graph API is a fake served over real HTTP.

    Helpers build webhook bodies shaped like Meta's, post them signed to the
    real controller and run the processing cron.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.graph_server = FakeGraphServer(FakeGraph(access_token=ACCESS_TOKEN)).start()
        cls.addClassCleanup(cls.graph_server.stop)
        cls.graph = cls.graph_server.graph
        cls.env.company.country_id = cls.env.ref("base.be")
        cls.account = cls.env["whatsapp.account"].create(
            {
                "name": "Sales",
                "mode": "cloud",
                "phone_number_id": PHONE_NUMBER_ID,
                "business_account_id": "102290129340398",
                "display_phone_number": "+1 555 010 0100",
                "access_token": ACCESS_TOKEN,
                "app_secret": APP_SECRET,
                "graph_base_url": cls.graph_server.url,
            }
        )
        cls.user_allowed = new_test_user(
            cls.env,
            login="wa_allowed",
            name="Allowed Salesperson",
            groups="whatsapp_team.group_whatsapp_user",
        )
        cls.account.user_ids = cls.user_allowed

    def setUp(self):
        super().setUp()
        self.graph.reset()
        self.graph.access_token = ACCESS_TOKEN

    # ------------------------------------------------------------
    # Building Meta's payloads
    # ------------------------------------------------------------

    @staticmethod
    def new_wamid():
        return f"wamid.TEST{next(_wamids):06d}{int(time.time() * 1000)}"

    def sent_message(self, conversation, body="Our answer"):
        """A text of ours in ``conversation``, sent (Meta took it)."""
        return self.env["whatsapp.message"].create(
            {
                "wa_message_id": self.new_wamid(),
                "conversation_id": conversation.id,
                "direction": "out",
                "message_type": "text",
                "body": body,
                "state": "sent",
            }
        )

    def approved_template(self, name, category="utility", body="Hello"):
        """A plain text template of this number, approved by Meta."""
        return self.env["whatsapp.template"].create(
            {
                "name": name,
                "language": "en_US",
                "account_id": self.account.id,
                "category": category,
                "status": "approved",
                "body": body,
            }
        )

    def message(self, wa_id="32470123456", kind="text", name="Customer", **fields):
        """One inbound message dict plus its contact: ``(message, contact)``."""
        message = {
            "id": fields.pop("wamid", None) or self.new_wamid(),
            "timestamp": str(fields.pop("timestamp", int(time.time()))),
            "type": kind,
        }
        contact = {"profile": {"name": name}}
        user_id = fields.pop("user_id", None)
        username = fields.pop("username", None)
        if wa_id:
            message["from"] = wa_id
            contact["wa_id"] = wa_id
        if user_id:
            message["from_user_id"] = user_id
            contact["user_id"] = user_id
        if username:
            contact["profile"]["username"] = username
        if kind == "text" and "text" not in fields:
            fields["text"] = {"body": fields.pop("body", "Hello")}
        message.update(fields)
        return message, contact

    def payload(self, messages=(), statuses=(), account=None):
        account = account or self.account
        messages = list(messages)
        value = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": "15550100100",
                "phone_number_id": account.phone_number_id,
            },
        }
        if messages:
            value["contacts"] = [c for _m, c in messages if c]
            value["messages"] = [m for m, _c in messages]
        if statuses:
            value["statuses"] = list(statuses)
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": account.business_account_id or "0",
                    "changes": [{"field": "messages", "value": value}],
                }
            ],
        }

    def status(self, wamid, status, wa_id="32470123456", timestamp=None, errors=None):
        item = {
            "id": wamid,
            "status": status,
            "timestamp": str(timestamp or int(time.time())),
            "recipient_id": wa_id,
        }
        if errors:
            item["errors"] = errors
        return item

    # ------------------------------------------------------------
    # Delivering them
    # ------------------------------------------------------------

    def post_webhook(self, body, secret=APP_SECRET, header=None):
        """POST ``body`` (dict or bytes) to the webhook over HTTP, signed."""
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if header is None and secret:
            header = signature.sign(secret, body)
        if header:
            headers["X-Hub-Signature-256"] = header
        return self.url_open("/whatsapp/webhook", data=body, headers=headers)

    def process(self):
        done = self.env["whatsapp.webhook.event"]._cron_process()
        # the files follow the messages, as the media cron does
        self.env["whatsapp.message"]._cron_fetch_media()
        return done

    def deliver(self, *messages, statuses=(), account=None):
        """Post the messages as Meta would, process them, return the records."""
        payload = self.payload(messages, statuses, account)
        response = self.post_webhook(payload)
        self.assertEqual(response.status_code, 200, response.text)
        self.process()
        ids = [m["id"] for m, _c in messages]
        return self.env["whatsapp.message"].search([("wa_message_id", "in", ids)])

    def events(self):
        return self.env["whatsapp.webhook.event"].search([])

    @contextlib.contextmanager
    def other_connection(self):
        """A second connection to the test database, as another processor
        (or server) has: what it locks, this transaction sees held."""
        _name, info = connection_info_for(self.env.cr.dbname)
        other = psycopg2.connect(**info)
        try:
            yield other
        finally:
            other.close()

    @contextlib.contextmanager
    def lead_lookups(self):
        """The looks for a customer's leads made in the block, as a list of
        domains, a chat's look for its open leads as ``[("partner_id", "=",
        id)]`` (filled when the block ends)."""
        Lead = type(self.env["crm.lead"])
        Conversation = type(self.env["whatsapp.conversation"])
        search_fetch = Lead.search_fetch
        find_open_leads = Conversation._find_open_leads_sudo
        domains = []

        def spy(records, domain, *args, **kwargs):
            domains.append(domain)
            return search_fetch(records, domain, *args, **kwargs)

        def spy_chat(chat):
            domains.append([("partner_id", "=", chat.partner_id.id)])
            return find_open_leads(chat)

        with (
            patch.object(Lead, "search_fetch", spy),
            patch.object(Conversation, "_find_open_leads_sudo", spy_chat),
        ):
            yield domains
        domains[:] = [
            domain
            for domain in domains
            if any(
                isinstance(leaf, list | tuple) and leaf[0] == "partner_id"
                for leaf in domain
            )
        ]

    @contextlib.contextmanager
    def contact_reads(self):
        """The reads of contacts from the database in the block, as a list of
        ``(partner ids, names of the columns read)`` (the contact's own
        columns: its users, say, are another table's)."""
        Partner = type(self.env["res.partner"])
        fetch_query = Partner._fetch_query
        reads = []

        def spy(records, query, fields):
            columns = {field.name for field in fields if field.column_type}
            reads.append((set(records._ids), columns))
            return fetch_query(records, query, fields)

        with patch.object(Partner, "_fetch_query", spy):
            yield reads
