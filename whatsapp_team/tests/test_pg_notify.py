import json
import select
import time

import psycopg2

from odoo.sql_db import connection_info_for
from odoo.tests import TransactionCase, tagged

from ..tools import pg_notify


@tagged("post_install", "-at_install", "whatsapp_webhook")
class TestNotificationsOnAKeptConnection(TransactionCase):
    """Odoo's notifications to its cron workers and to the live screens go
    out on the connection each process keeps for them, not a new one at
    every commit: PostgreSQL names the backend that sent each one."""

    def setUp(self):
        super().setUp()
        _name, info = connection_info_for("postgres")
        self.listener = psycopg2.connect(**info)
        self.listener.autocommit = True
        self.addCleanup(self.listener.close)
        # the kept connection, opened if this process had none yet
        pg_notify.notify("whatsapp_team_test", ["open"])
        self.kept_pid = pg_notify._kept["connection"].get_backend_pid()

    def listen(self, channel):
        with self.listener.cursor() as cursor:
            cursor.execute(f"LISTEN {channel}")

    def received(self, count):
        notes = []
        deadline = time.monotonic() + 10
        while len(notes) < count and time.monotonic() < deadline:
            select.select([self.listener], [], [], 1)
            self.listener.poll()
            notes += self.listener.notifies
            self.listener.notifies.clear()
        return notes

    def test_bus_news_goes_out_on_the_kept_connection_once_per_commit(self):
        self.listen("imbus")
        postcommit = self.env.cr.postcommit
        hooks = len(postcommit._funcs)
        Bus = self.env["bus.bus"]
        Bus._sendone("whatsapp-test-a", "test/type", {"n": 1})
        Bus._sendone("whatsapp-test-b", "test/type", {"n": 2})
        self.assertEqual(len(postcommit._funcs), hooks + 1, "one hook, not Odoo's too")
        postcommit.run()
        self.env.cr.precommit.clear()
        notes = self.received(1)
        self.assertEqual(len(notes), 1)
        self.assertEqual(notes[0].pid, self.kept_pid, "sent on the kept connection")
        channels = json.loads(notes[0].payload)
        dbname = self.env.cr.dbname
        self.assertIn([dbname, "whatsapp-test-a"], channels)
        self.assertIn([dbname, "whatsapp-test-b"], channels)

    def test_bus_news_still_goes_out_when_the_kept_connection_is_lost(self):
        self.listen("imbus")
        with self.listener.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [self.kept_pid])
        self.env["bus.bus"]._sendone("whatsapp-test-c", "test/type", {})
        self.env.cr.postcommit.run()
        self.env.cr.precommit.clear()
        notes = self.received(1)
        self.assertEqual(len(notes), 1)
        channels = json.loads(notes[0].payload)
        self.assertIn([self.env.cr.dbname, "whatsapp-test-c"], channels)
        self.assertNotEqual(notes[0].pid, self.kept_pid, "a new kept connection")
        self.assertEqual(notes[0].pid, pg_notify._kept["connection"].get_backend_pid())

    def test_cron_triggers_wake_the_workers_on_the_kept_connection(self):
        self.listen("cron_trigger")
        self.env.ref("whatsapp_team.ir_cron_fetch_media")._trigger()
        self.env.cr.postcommit.run()
        notes = self.received(1)
        self.assertEqual([note.payload for note in notes], [self.env.cr.dbname])
        self.assertEqual(notes[0].pid, self.kept_pid)
