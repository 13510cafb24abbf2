import hashlib
import json
import logging
import time
import traceback
from datetime import timedelta

from psycopg2 import IntegrityError

from odoo import _, api, fields, models, tools
from odoo.modules import module as odoo_module
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL, lazy_property, mute_logger

from ..tools import signature
from ..tools.batch import PROCESSOR_BATCH, ProcessorBatch, processor_batch
from ..tools.payload import (
    TEMPLATE_FIELDS,
    PayloadError,
    business_account_ids,
    check_depth,
    customer_keys,
    is_own_number,
    parse_template_update,
    parse_user_preferences,
    parse_webhook,
    phone_number_ids,
    split_items,
)
from ..tools.priority import yield_cpu

_logger = logging.getLogger(__name__)

# Meta's webhook bodies stay under about 3 MB; anything bigger is not Meta.
MAX_BODY_SIZE = 3 * 1024 * 1024
MAX_ATTEMPTS = 10
BATCH_SIZE = 200
# a unique key taken by a concurrent transaction: retried at once this often
QUICK_RETRIES = 3
# the processors: crons taking pending events of different customers at once;
# the webhook wakes the first, which wakes the others when work piles up.
# Every active cron running PROCESSOR_CODE on this model is a processor: an
# administrator adds one by duplicating any of them.
FIRST_PROCESSOR = "whatsapp_team.ir_cron_process_webhook_events"
PROCESSOR_CODE = "model._cron_process()"
# the processors' crons, as the FROM and WHERE of a query
PROCESSORS_SQL = """
      FROM ir_cron cron
      JOIN ir_act_server action ON action.id = cron.ir_actions_server_id
     WHERE cron.active
       AND action.model_name = %(model)s
       AND action.state = 'code'
       AND btrim(action.code) = %(code)s
"""
# set on a transaction's post-commit data once the processors are to be woken
NOTIFY_KEY = "whatsapp_team.notify_processors"


def lock_keys(payload):
    """The customers of a body as advisory lock keys (signed 64-bit)."""
    return [
        int.from_bytes(
            hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True
        )
        for key in customer_keys(payload)
    ]


def _in_order(rows, may_take):
    """The ids of ``rows`` (``(id, lock keys)``, oldest first) that may be
    taken: each for which ``may_take(id, keys)`` holds, unless an earlier
    event of one of its customers was passed over."""
    taken, busy = [], set()
    for event_id, keys in rows:
        if busy.intersection(keys) or not may_take(event_id, keys):
            busy.update(keys)
        else:
            taken.append(event_id)
    return taken


# pending events a processor looks at, oldest first, to find those it may take
SCAN_SIZE = 100
# a processor takes up to this many events at once, processes them together
# (one savepoint, one flush: each chat, message and event row written once
# for all of them) and commits; or commits after this many seconds (each
# commit empties the cache of numbers, teams and users it reads again after),
# and what it did shows in the chats at its commit
COMMIT_EVERY = 25
COMMIT_AFTER = 1.0
# how much a processor's thread yields the CPU to the server's requests
# (Unix niceness, 0 to 19): the system parameter of that name, none by
# default (measured on two cores: answers no faster, processing slower)
NICENESS_PARAM = "whatsapp_team.processor_niceness"
DEFAULT_NICENESS = 0


class _Busy(Exception):
    """The event or one of its customers is taken by another processor."""


class UnknownNumberError(Exception):
    """A message for a WhatsApp number that is not configured (yet)."""


class ForeignSignatureError(Exception):
    """A change for a number whose app secret did not sign the body."""


# Errors that no retry can cure: the event fails at once for an administrator
# (who may still process it again, e.g. after correcting a number's secret).
PERMANENT_ERRORS = (PayloadError, ForeignSignatureError)


class WhatsappWebhookEvent(models.Model):
    """A webhook body exactly as Meta sent it, stored before anything else.

    The controller only verifies and stores; processing happens in the
    processors' crons, triggered at once, several customers at a time and
    each customer's bodies in their order (see :meth:`_take`). An event
    that fails stays here with its error and is tried again with growing
    delays, so no customer message is ever lost to a bug or an outage. The
    items of a body (messages, statuses, template updates) are processed one
    by one: one that fails moves to an event of its own (``parent_id``) and
    does not hold back the others.
    """

    _name = "whatsapp.webhook.event"
    _description = "WhatsApp Webhook Event"
    _order = "id desc"

    account_id = fields.Many2one(
        "whatsapp.account", string="WhatsApp Number", ondelete="set null", index=True
    )
    payload = fields.Text(required=True, readonly=True)
    signature = fields.Char(
        readonly=True,
        help="Meta's X-Hub-Signature-256 header, as received: each change of "
        "the body is checked against the app secret of its own number when "
        "it is processed.",
    )
    state = fields.Selection(
        [("pending", "To process"), ("done", "Processed"), ("failed", "Failed")],
        default="pending",
        required=True,
        readonly=True,
        index=True,
    )
    attempts = fields.Integer(readonly=True)
    error = fields.Text(readonly=True)
    next_attempt_at = fields.Datetime(readonly=True)
    processed_at = fields.Datetime(readonly=True)
    message_count = fields.Integer(readonly=True)
    status_count = fields.Integer(readonly=True)
    note = fields.Text(
        readonly=True,
        help="What processing left aside: items retried on their own, "
        "messages skipped.",
    )
    parent_id = fields.Many2one(
        "whatsapp.webhook.event",
        string="Split From",
        readonly=True,
        index="btree_not_null",
        ondelete="restrict",
        help="The event whose body held this item. Its items that went "
        "through are never processed again; this one is retried on its own.",
    )
    child_ids = fields.One2many(
        "whatsapp.webhook.event", "parent_id", string="Items Retried Apart"
    )

    # ------------------------------------------------------------
    # Receiving
    # ------------------------------------------------------------

    def init(self):
        # The customers of each body (see :func:`lock_keys`), read by the
        # processors to work on different customers at once. Not a field:
        # the ORM has no type for it, and only SQL reads and writes it.
        self.env.cr.execute(
            "ALTER TABLE whatsapp_webhook_event"
            " ADD COLUMN IF NOT EXISTS lock_keys bigint[]"
        )
        # the processors' look (_take): the oldest pending events, in
        # order, read from an index of the pending ones only, however many
        # are done (kept for months) or waiting in a burst
        tools.create_index(
            self.env.cr,
            "whatsapp_webhook_event_pending_index",
            self._table,
            ["id"],
            where="state = 'pending'",
        )

    @api.model_create_multi
    def create(self, vals_list):
        """Events made here (the parts of a body, retried or processed
        apart) get their customers' keys, as received bodies do: the
        processors' look reads them without reading the body."""
        events = super().create(vals_list)
        if events:
            keys = SQL(", ").join(
                SQL("(%s, %s::bigint[])", event.id, event._lock_keys())
                for event in events
            )
            self.env.cr.execute(
                SQL(
                    "UPDATE whatsapp_webhook_event AS event SET lock_keys = part.keys"
                    " FROM (VALUES %s) AS part(id, keys) WHERE event.id = part.id",
                    keys,
                )
            )
        return events

    @api.model
    def _receive(self, body, signature_header):
        """Check and store one webhook body, and wake the processors.

        Returns ``(http_status, text, event)``; ``event`` is empty unless stored.

        Nothing is stored unless the body is signed, see :meth:`_signing_account`.
        The signature header is stored with the body: each change is checked
        again against its own number when processed, which also covers
        numbers configured only after the body arrived.

        This runs while Meta waits for the answer, for every webhook: the
        numbers' secrets come from memory, and the body is stored and the
        processors woken by one SQL statement, without the ORM.
        """
        if len(body) > MAX_BODY_SIZE:
            return 413, "Payload Too Large", self.browse()
        try:
            text = body.decode("utf-8")  # Meta sends UTF-8; we store it as text
            payload = json.loads(text)
            # json.loads gives up on deep nesting with a RecursionError; what
            # it accepts must still be shallow enough to be read back later
            check_depth(payload)
            pnids = phone_number_ids(payload)
            waba_ids = business_account_ids(payload)
            keys = lock_keys(payload)
        except (ValueError, RecursionError, PayloadError):
            return 400, "Bad Request", self.browse()
        account = self._signing_account(body, signature_header, pnids, waba_ids)
        if account is None:
            _logger.warning(
                "WhatsApp webhook refused: bad or missing signature (numbers %s)",
                pnids,
            )
            return 403, "Forbidden", self.browse()
        event_id = self._insert_and_wake(account.id, text, signature_header, keys)
        return 200, "OK", self.sudo().browse(event_id)

    @api.model
    def _insert_and_wake(self, account_id, text, signature_header, keys):
        """Store a body and wake the first processor, in one statement.

        The trigger is due at the statement's own clock: a processor that
        started before it (and may have looked for work before this body
        was committed) runs once more.
        """
        self.env.cr.execute(
            """
            WITH event AS (
                INSERT INTO whatsapp_webhook_event
                       (account_id, payload, signature, lock_keys, state,
                        attempts, message_count, status_count,
                        create_uid, write_uid, create_date, write_date)
                VALUES (%(account)s, %(payload)s, %(signature)s, %(keys)s,
                        'pending', 0, 0, 0, %(uid)s, %(uid)s,
                        now() at time zone 'UTC', now() at time zone 'UTC')
                RETURNING id
            ), wake AS (
                INSERT INTO ir_cron_trigger
                       (cron_id, call_at, create_uid, write_uid, create_date,
                        write_date)
                VALUES (%(cron)s, clock_timestamp() at time zone 'UTC',
                        %(uid)s, %(uid)s, now() at time zone 'UTC',
                        now() at time zone 'UTC')
            )
            SELECT id FROM event
            """,
            {
                "account": account_id,
                "payload": text,
                "signature": signature_header,
                "keys": keys,
                "uid": self.env.uid,
                "cron": self._first_processor_id(),
            },
        )
        event_id = self.env.cr.fetchone()[0]
        # the cron workers listen for this, as for Odoo's own triggers
        self._notify_processors()
        return event_id

    @api.model
    @tools.ormcache()
    def _first_processor_id(self):
        """The id of the processor the webhook wakes (kept in memory)."""
        return self.env.ref(FIRST_PROCESSOR).id

    @api.model
    def _signing_account(self, body, signature_header, pnids, waba_ids):
        """Return the number a body is stored for, or ``None`` to refuse it.

        - every configured number the body names by ``phone_number_id`` must
          have signed it with its own app secret: a body signed for number B
          never speaks for number A;
        - a change naming only a business account (template and account
          updates) must be signed by one of that account's numbers; it is
          applied to those numbers only (two Meta apps subscribed to one
          business account each deliver it, signed with their own secret);
        - a body naming nothing configured (a number added later) is kept
          when one of our app secrets signed it, and checked against that
          number's own secret when it is processed.

        The numbers are those kept in memory (``_webhook_signers``): no query.
        """
        Account = self.env["whatsapp.account"]
        numbers = Account._webhook_signers()
        verified = {}

        def signed(number):
            secret = number[3]
            if secret not in verified:
                verified[secret] = signature.verify(secret, body, signature_header)
            return verified[secret]

        named = [number for number in numbers if number[1] in pnids]
        if not all(signed(number) for number in named):
            return None
        signers = sorted(named, key=lambda number: pnids.index(number[1]))
        for waba_id in waba_ids:
            of_waba = [number for number in numbers if number[2] == waba_id]
            if of_waba and not any(signed(number) for number in of_waba):
                return None
            signers += [n for n in of_waba if signed(n) and n not in signers]
        if not signers:
            signers = [n for n in numbers if n[4] and n[3] and signed(n)]
        return Account.browse(signers[0][0]) if signers else None

    # ------------------------------------------------------------
    # Processing
    # ------------------------------------------------------------

    @api.model
    def _cron_process(self, limit=BATCH_SIZE):
        """Process pending events, a few to a transaction.

        Several processors (the crons running :data:`PROCESSOR_CODE`, run by
        any cron thread of any server on the database) work at once, each
        on other customers: see :meth:`_take`. A processor that finds more
        work than its own wakes the others.

        A processor takes up to :data:`COMMIT_EVERY` events at once and
        processes them together (:meth:`_process_together`), then commits,
        or commits after :data:`COMMIT_AFTER` seconds: the numbers, teams
        and salespeople it reads stay in its cache from one event to the
        next, and a commit (a disk flush) serves several messages. The
        salespeople's turns are taken outside its transaction, for every
        processor to see at once (``tools/turns.py``). A concurrency error
        rolls the uncommitted events back; they are still pending and taken
        again with a fresh snapshot.
        """
        auto_commit = not odoo_module.current_test
        if auto_commit:
            self._yield_cpu()
        # what the events' work leaves for the commit (inbox rows, notices)
        work = ProcessorBatch()
        events = self.with_context(**{PROCESSOR_BATCH: work})
        processors = events._processor_count()
        done = 0
        woken = False
        batch = 0
        batch_started = time.monotonic()
        while done < limit:
            # the previous events' outcome (e.g. a retry delay) must be in
            # the database before we look for the next ones
            events.flush_model()
            # under test nothing commits: batches follow one another
            room = COMMIT_EVERY - batch if auto_commit else COMMIT_EVERY
            taken, waiting = events._take(min(room, limit - done), processors)
            if not taken:
                if auto_commit and batch:
                    # the look ran on this transaction's snapshot, older than
                    # what other processors committed since: look again on a
                    # fresh one before leaving
                    events._commit_work(work)
                    batch, batch_started = 0, time.monotonic()
                    continue
                break
            if waiting and not woken and auto_commit:
                events._wake_processors()
                woken = True
            try:
                events.browse(taken)._process_together()
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
                if not auto_commit:
                    raise
                events.env.cr.rollback()  # pylint: disable=invalid-commit
                events.env.invalidate_all()
                work.reset()
                done += len(taken)
                batch, batch_started, woken = 0, time.monotonic(), False
                continue
            done += len(taken)
            batch += len(taken)
            if auto_commit and (
                # nothing else was pending in this snapshot: the next look
                # needs a fresh one (an event to retry at once included)
                not waiting
                or batch >= COMMIT_EVERY
                or time.monotonic() - batch_started >= COMMIT_AFTER
            ):
                events._commit_work(work)
                batch, batch_started = 0, time.monotonic()
        if auto_commit and batch:
            events._commit_work(work)
        else:
            # under test nothing commits: the rows go with the test's flush
            events._send_work(work)
        if done >= limit and events._pending(1):
            events._wake_processors(others=False)
        return done

    def _process_together(self):
        """Process these events (taken, in their order) in one savepoint.

        Their work is flushed once for all: each chat, message and event row
        changed by several of them is written in one statement. When one of
        them fails, the savepoint is rolled back (with the bus notifications
        and tracking Odoo keeps for the commit: ``cr.clear()``) and each is
        processed again on its own, each item in a savepoint of its own, so
        that a failure never holds back the other customers
        (:meth:`_process`). A customer's later events wait for one of theirs
        to retry: they are taken again after the commit, in their order (a
        message split off a body, an event newer than them, does not hold
        them then).
        """
        if len(self) < 2:
            self._process()
            return
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                for event in self:
                    event._process(isolated=False)
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
            raise
        except Exception:  # noqa: BLE001 - each one is processed again alone
            work = processor_batch(self.env.context)
            # customers with a message to retry: their later events wait
            # for it, after the commit
            waiting = set()
            for event in self:
                # the event's customers, read from its body only when some wait
                if work is not None and waiting:
                    keys = event._lock_keys()
                    if waiting.intersection(keys):
                        # and so do the later events of its other customers
                        waiting.update(keys)
                        work.retry_after_commit(event.id)
                        continue
                event._process()
                for part in (event | event.child_ids).filtered(
                    lambda e: e.state == "pending"
                ):
                    waiting.update(part._lock_keys())

    def _send_work(self, work):
        """Hand what the events left (``tools.batch.ProcessorBatch``) to
        this transaction's commit: the copies of their chats' lines on the
        leads, the announces of their customer messages, the rows of the
        chats they changed, the live notices of their messages, the wake-up
        of Odoo's push cron, of the files' downloads and of the chats'
        upkeep."""
        Conversation = self.env["whatsapp.conversation"].with_context(
            **{PROCESSOR_BATCH: None}
        )
        Conversation._make_lead_copies(work)
        announce_ids = work.take_announce_ids()
        if announce_ids:
            Conversation._announce_together(announce_ids, work)
        chat_ids = work.take_chat_ids()
        if chat_ids:
            Conversation.browse(chat_ids)._inbox_notify()
        notices = work.take_inbox_notices()
        if notices:
            Conversation._send_inbox_notices(notices)
        self.env["ir.cron"]._whatsapp_wake_kept(work)

    def _commit_work(self, work):
        self._send_work(work)
        self.env.cr.commit()  # pylint: disable=invalid-commit
        work.committed()
        self._forget_environments()

    def _forget_environments(self):
        """Let the environments of the work done so far go.

        Odoo looks through all of a transaction's environments each time it
        makes one (``api.Environment.__new__``), and a processor's work makes
        several a message, with contexts of their own. Once an environment
        has given its user, company or language, it lives on in a reference
        cycle (it and that record) until Python's full garbage collection,
        and a processor's transaction gathers hundreds. Forgetting what each
        one computed lazily, as ``api.Environment.clear`` does, breaks the
        cycles: those no longer used go at once, and the others compute it
        again when asked."""
        for env in list(self.env.transaction.envs):
            lazy_property.reset_all(env)

    @api.model
    def _yield_cpu(self):
        """Let the server's requests go first when the CPU is short, if
        the system parameter :data:`NICENESS_PARAM` asks for it.

        Meta waits for every webhook's answer, salespeople for their
        screens; processing can wait a few seconds. With a niceness (Unix,
        1 to 19) the processor's thread runs at a lower priority: on an
        idle machine at full speed, under load after the HTTP workers. The
        cron thread or worker keeps that priority for the other crons it
        runs afterwards. None by default: on two cores with two HTTP
        workers, the answers came no faster and processing came later.
        """
        value = self.env["ir.config_parameter"].sudo().get_param(NICENESS_PARAM)
        try:
            niceness = DEFAULT_NICENESS if value in (None, False, "") else int(value)
        except ValueError:
            niceness = DEFAULT_NICENESS
        return yield_cpu(niceness)

    @api.model
    def _take(self, size, processors=1):
        """Lock up to ``size`` of the oldest pending events whose customers
        no other processor holds, and no more than the share of the events
        waiting of one of ``processors``; return ``(event ids in their
        order, whether more events wait)``.

        Each customer of a body (:func:`lock_keys`) is a transaction-level
        advisory lock, held until the events' transaction ends; each event
        row is locked too (``FOR UPDATE SKIP LOCKED``), so no event is ever
        processed twice. Events are looked at oldest first, and once one is
        passed over (its customer is busy elsewhere) every later event of
        the same customers is passed over in this look too: a customer's
        events are processed in the order they arrived, whichever processor
        takes them. Several events of one customer may be taken together:
        they are processed in their order. An event that waits for its retry
        delay holds nothing.
        """
        rows = [
            (event_id, keys if keys is not None else self.browse(event_id)._lock_keys())
            for event_id, keys in self._pending(SCAN_SIZE)
        ]
        work = processor_batch(self.env.context)
        if rows and work is not None and work.retry_after_commit_ids:
            # retried after the commit, and their customers' later events
            # with them: in their order
            after = work.retry_after_commit_ids
            free = set(_in_order(rows, lambda event_id, _keys: event_id not in after))
            rows = [row for row in rows if row[0] in free]
        if not rows:
            return [], False
        # a few waiting are shared among the processors (each takes its
        # part, and they go at once), a queue is taken 25 at a time
        size = min(size, max(1, -(-len(rows) // processors)))
        candidates = rows[:size]
        taken = self._try_lock_all(candidates)
        if not taken and len(rows) > size:
            # the oldest are another processor's: the events of the
            # customers it holds (until it commits) are passed over
            held = self._customers_held_by_others()
            free = set(_in_order(rows, lambda _id, keys: not held.intersection(keys)))
            candidates = [row for row in rows if row[0] in free][:size]
            taken = self._try_lock_all(candidates)
        if taken is None:
            # another processor changed one of them since this snapshot:
            # each is tried alone
            taken = _in_order(
                candidates,
                lambda event_id, keys: (
                    self._try_lock_all([(event_id, keys)]) == [event_id]
                ),
            )
        return taken, len(rows) > len(taken)

    @api.model
    def _try_lock_all(self, rows):
        """Lock the events of ``rows`` (``(id, lock keys)``, oldest first)
        that may be taken in their order; return their ids, or ``None``
        when one was changed by another transaction since this snapshot
        (nothing is then locked).

        One statement tries every customer's lock, one locks the rows. The
        locks of customers whose events are not taken are not kept: with
        two customers in one body, two processors each keeping one of them
        would pass that body over for as long as both have other work.
        """
        if not rows:
            return []
        cr = self.env.cr
        try:
            with mute_logger("odoo.sql_db"), cr.savepoint(flush=False):
                customers = self._try_customers(
                    {key for _id, keys in rows for key in keys}
                )
                wanted = _in_order(rows, lambda _id, keys: customers >= set(keys))
                needed = {
                    key for event_id, keys in rows if event_id in wanted for key in keys
                }
                if customers - needed:
                    raise _Busy
                if not wanted:
                    return []
                cr.execute(
                    """
                    SELECT id FROM whatsapp_webhook_event
                     WHERE id = ANY(%s) AND state = 'pending'
                       FOR UPDATE SKIP LOCKED
                    """,
                    [wanted],
                )
                locked = {event_id for (event_id,) in cr.fetchall()}
        except _Busy:
            # the savepoint let go of every lock: those of the events
            # wanted only, again
            return self._try_lock_all([row for row in rows if row[0] in wanted])
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
            return None
        return _in_order(
            rows, lambda event_id, keys: event_id in locked and customers >= set(keys)
        )

    @api.model
    def _try_customers(self, keys):
        """Try the advisory lock of each of ``keys``; return those taken."""
        self.env.cr.execute(
            "SELECT key FROM unnest(%s::bigint[]) AS key"
            " WHERE pg_try_advisory_xact_lock(key)",
            [sorted(keys)],
        )
        return {key for (key,) in self.env.cr.fetchall()}

    @api.model
    def _customers_held_by_others(self):
        """The advisory lock keys other transactions on this database hold:
        the customers other processors are working on (:func:`lock_keys`)."""
        self.env.cr.execute(
            """
            SELECT (classid::bigint << 32) | objid::bigint
              FROM pg_locks
             WHERE locktype = 'advisory'
               AND objsubid = 1
               AND granted
               AND pid != pg_backend_pid()
               AND database = (SELECT oid FROM pg_database
                                WHERE datname = current_database())
            """
        )
        return {key for (key,) in self.env.cr.fetchall()}

    @api.model
    def _pending(self, limit):
        """``(id, lock keys)`` of the ``limit`` oldest events due now."""
        self.env.cr.execute(
            """
            SELECT id, lock_keys FROM whatsapp_webhook_event
             WHERE state = 'pending'
               AND (next_attempt_at IS NULL OR next_attempt_at <= %s)
             ORDER BY id
             LIMIT %s
            """,
            [fields.Datetime.now(), limit],
        )
        return self.env.cr.fetchall()

    def _lock_keys(self):
        self.ensure_one()
        try:
            return lock_keys(json.loads(self.payload))
        except (ValueError, RecursionError):
            return []  # unreadable: fails when processed, holds no customer

    @api.model
    def _wake_processors(self, others=True):
        """Trigger every active processor (all but the first when ``others``:
        the webhook woke it), in one statement.

        The processors are read here, not kept: one an administrator adds
        (a duplicate of a processor's cron) or archives counts at once.
        """
        self.env.cr.execute(
            f"""
            INSERT INTO ir_cron_trigger
                   (cron_id, call_at, create_uid, write_uid, create_date,
                    write_date)
            SELECT cron.id, clock_timestamp() at time zone 'UTC', %(uid)s,
                   %(uid)s, now() at time zone 'UTC', now() at time zone 'UTC'
              {PROCESSORS_SQL}
               AND (NOT %(others)s OR cron.id != %(first)s)
            """,
            {
                "uid": self.env.uid,
                "model": self._name,
                "code": PROCESSOR_CODE,
                "others": others,
                "first": self._first_processor_id(),
            },
        )
        if self.env.cr.rowcount:
            self._notify_processors()

    @api.model
    def _processor_count(self):
        """How many processors there are (active crons running
        :data:`PROCESSOR_CODE`), at least one."""
        self.env.cr.execute(
            f"SELECT count(*) {PROCESSORS_SQL}",
            {"model": self._name, "code": PROCESSOR_CODE},
        )
        return self.env.cr.fetchone()[0] or 1

    @api.model
    def _notify_processors(self):
        """Wake the cron workers once this transaction commits, once
        however many triggers it made (``ir.cron._notifydb``, on the
        connection each process keeps for it: see ``models/ir_cron.py``)."""
        cr = self.env.cr
        if cr.postcommit.data.get(NOTIFY_KEY):
            return
        cr.postcommit.data[NOTIFY_KEY] = True
        cr.postcommit.add(self.env["ir.cron"]._notifydb)

    def action_process(self):
        """Queue these events for processing now (after fixing their cause).

        The processors do the work: each event is locked by the one
        processing it, so it is never processed by two transactions at once.
        Administrators only, like the events themselves.
        """
        self.check_access("write")
        self.filtered(lambda e: e.state != "done").write(
            {"state": "pending", "next_attempt_at": False}
        )
        self.env.ref(FIRST_PROCESSOR)._trigger()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "info",
                "message": _("The events are being processed."),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _process(self, isolated=True):
        """Process these events in the current transaction.

        Each message, status and other change of a body (its items, see
        ``tools.payload.split_items``) is processed on its own, in a
        savepoint. When some fail and others go through, each failure (with
        the same customer's later messages, which wait for it to keep their
        order) moves to an event of its own, linked by ``parent_id`` and
        retried alone; the event itself is done, so nothing that went
        through is ever processed twice. A body that is a single item (or
        whose items all wait on one failure) stays one event, retried as a
        whole. Concurrency errors are left to the caller (Odoo retries the
        transaction).

        Not ``isolated``: the items go without savepoints of their own, and
        the first error is raised; the caller holds a savepoint for several
        events and processes them again one by one (:meth:`_process_together`).
        """
        for event in self:
            if isolated:
                # pending writes of earlier work must not fail inside a savepoint
                self.env.flush_all()
            try:
                items = split_items(json.loads(event.payload))
            except ValueError as error:  # a PayloadError is a ValueError
                event._record_failure(PayloadError(str(error)))
                continue
            event._process_items(items, isolated=isolated)

    def _process_items(self, items, isolated=True):
        self.ensure_one()
        signed = self._signature_check()
        counts = {"message": 0, "status": 0}
        notes = []
        if not isolated:
            for item in items:
                note = self._process_item(item, signed)
                if note:
                    notes.append(note)
                else:
                    counts[item.kind] = counts.get(item.kind, 0) + 1
            self._mark_done(counts, notes)
            return
        # a failure that may still pass holds back its customer's later
        # messages; the last attempt, or an error no retry cures, holds nothing
        holds = self.attempts + 1 < MAX_ATTEMPTS
        failures = []  # [items, error, traceback text, quick]
        held_by = {}  # sender key -> index in failures
        for item in items:
            waiting = next(
                (held_by[key] for key in item.sender_keys if key in held_by), None
            )
            if waiting is not None:
                failures[waiting][0].append(item)
                held_by.update(dict.fromkeys(item.sender_keys, waiting))
                continue
            try:
                # a refused query is handled below (retried or kept on an
                # event): not an error for the server log
                with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                    note = self._process_item(item, signed)
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
                raise
            except Exception as error:  # noqa: BLE001 - kept and retried, never lost
                failures.append(
                    [
                        [item],
                        error,
                        traceback.format_exc(limit=-8),
                        # a concurrent transaction stored the same customer
                        # or message first: retry soon, with fresh data
                        isinstance(error, IntegrityError),
                    ]
                )
                if holds and not isinstance(error, PERMANENT_ERRORS):
                    held_by.update(dict.fromkeys(item.sender_keys, len(failures) - 1))
                continue
            if note:
                notes.append(note)
            else:
                counts[item.kind] = counts.get(item.kind, 0) + 1
        failed_items = sum(len(failure[0]) for failure in failures)
        if len(failures) == 1 and failed_items == len(items):
            # nothing went through: the event stays as it is, retried whole
            _items, error, trace, quick = failures[0]
            self._record_failure(error, quick=quick, trace=trace)
            return
        if failures:
            parts = self._split_off(failures)
            notes.append(
                self.env._(
                    "%(failed)s of %(total)s items could not be processed now: "
                    "they are retried apart, in events %(events)s.",
                    failed=failed_items,
                    total=len(items),
                    events=", ".join(f"#{part.id}" for part in parts),
                )
            )
        self._mark_done(counts, notes)

    def _mark_done(self, counts, notes):
        self.write(
            {
                "state": "done",
                "attempts": self.attempts + 1,
                "error": False,
                "next_attempt_at": False,
                "processed_at": fields.Datetime.now(),
                "message_count": counts["message"],
                "status_count": counts["status"],
                "note": "\n".join(notes) or False,
            }
        )

    def _split_off(self, failures):
        """Move each failure (with the items waiting for it) to its own event,
        which keeps the failure and is retried apart."""
        self.ensure_one()
        parts = self.browse()
        for items, error, trace, quick in failures:
            body = dict(items[0].payload)
            body["entry"] = [entry for item in items for entry in item.payload["entry"]]
            part = self.create(
                {
                    "parent_id": self.id,
                    "payload": json.dumps(body),
                    "signature": self.signature,
                    "account_id": (
                        self._account_of(items[0].phone_number_id) or self.account_id
                    ).id,
                    # tried as often as the body it comes from
                    "attempts": self.attempts,
                }
            )
            part._record_failure(error, quick=quick, trace=trace)
            parts |= part
        return parts

    def _record_failure(self, error, quick=False, trace=None):
        """Keep ``error`` on the event: retried later, or failed for good.

        An error of :data:`PERMANENT_ERRORS` (a body that cannot be read, a
        change its number did not sign) fails at once; others are retried
        with growing delays, at once a few times when ``quick`` (a unique key
        taken by a concurrent transaction), and fail after
        :data:`MAX_ATTEMPTS`. ``trace`` is the traceback text, by default the
        one of the exception being handled.
        """
        self.ensure_one()
        self.env.invalidate_all()
        attempts = self.attempts + 1
        permanent = isinstance(error, PERMANENT_ERRORS)
        _logger.warning(
            "WhatsApp webhook event %s failed (attempt %s%s): %s",
            self.id,
            attempts,
            ", not retried" if permanent else "",
            error,
        )
        delay = (
            timedelta(0)
            if quick and attempts <= QUICK_RETRIES
            else timedelta(minutes=2**attempts)
        )
        failed = permanent or attempts >= MAX_ATTEMPTS
        self.write(
            {
                "attempts": attempts,
                "error": "".join(traceback.format_exception_only(type(error), error))
                + "\n"
                + (trace if trace is not None else traceback.format_exc(limit=-8)),
                "state": "failed" if failed else "pending",
                "next_attempt_at": False
                if permanent
                else fields.Datetime.now() + delay,
            }
        )
        if quick and not failed:
            work = processor_batch(self.env.context)
            if work is not None:
                work.retry_after_commit(self.id)
            self.env.ref(FIRST_PROCESSOR)._trigger()

    def _process_item(self, item, signed):
        """Process one item (``tools.payload.Item``).

        Returns a note for administrators when the item is skipped, else None.
        """
        batch = parse_webhook(item.payload)
        note = None
        for inbound in batch.messages:
            note = self._process_inbound(inbound, signed)
        for status in batch.statuses:
            self._process_status(status, signed)
        for change in batch.others:
            self._process_change(change, signed)
        if batch.errors:
            # Meta's own report of a problem with the number, the app or the
            # account (a ``messages`` change holding only ``errors``): kept
            # on the event for administrators, and in the log
            errors = "; ".join(
                f"({error.code}) {error.title or error.message}"
                + (f": {error.details}" if error.details else "")
                for error in batch.errors
            )
            _logger.warning("WhatsApp reported errors in event %s: %s", self.id, errors)
            note = "\n".join(
                filter(
                    None,
                    [note, self.env._("WhatsApp reported: %(errors)s", errors=errors)],
                )
            )
        return note

    def _signature_check(self):
        """Return ``signed(account)``: whether ``account``'s app secret signed
        the body this event comes from.

        An event split from another holds a body of our making: it is checked
        against the body and signature header Meta sent, those of the first
        event of its line.
        """
        self.ensure_one()
        origin = self
        while origin.parent_id:
            origin = origin.parent_id
        body = origin.payload.encode()
        verified = {}

        def signed(account):
            if not origin.signature:
                # stored before signatures were kept: it was checked when
                # received, against the number it was stored for
                return account == origin.account_id
            # read in this transaction, not from the secrets kept in memory,
            # which another process may not have forgotten yet after a change
            secret = account.sudo().app_secret
            if secret not in verified:
                verified[secret] = signature.verify(secret, body, origin.signature)
            return verified[secret]

        return signed

    def _account_of(self, phone_number_id):
        """The number (archived ones included) of ``phone_number_id``, found
        among the numbers kept in memory (``_webhook_signers``)."""
        Account_sudo = self.env["whatsapp.account"].sudo()
        if not phone_number_id:
            return Account_sudo.browse()
        return Account_sudo.browse(
            next(
                (
                    number[0]
                    for number in Account_sudo._webhook_signers()
                    if number[1] == phone_number_id
                ),
                (),
            )
        ).with_context(active_test=False)

    @staticmethod
    def _check_signed(account, signed):
        if not signed(account):
            raise ForeignSignatureError(
                f"This body was not signed with the app secret of WhatsApp number "
                f"{account.name} ({account.phone_number_id}): it is not "
                "processed for that number. If that number's app secret is wrong, "
                "correct it and process the event again."
            )

    def _process_inbound(self, inbound, signed):
        account = self._account_of(inbound.phone_number_id)
        if not account:
            # kept and retried: adding the number later recovers it
            raise UnknownNumberError(
                f"WhatsApp number {inbound.phone_number_id} is not configured: "
                "add it under WhatsApp > Configuration > Numbers"
            )
        self._check_signed(account, signed)
        if is_own_number(
            inbound.sender.wa_id,
            inbound.display_phone_number,
            account.display_phone_number,
            default_region=account._default_region,
        ):
            # The number writing to itself (a test from the business's own
            # phone) would get a chat, a partner and a greeting of its own:
            # skipped, and told to administrators on the event.
            _logger.warning(
                "WhatsApp message %s from number %s to itself: skipped",
                inbound.message_id,
                inbound.sender.wa_id,
            )
            return self.env._(
                "Message %(message)s comes from %(number)s, this WhatsApp "
                "number's own number: skipped, it would open a chat of the "
                "number with itself.",
                message=inbound.message_id,
                number=inbound.sender.wa_id,
            )
        self.env["whatsapp.message"].sudo()._receive_inbound(account, inbound)
        return None

    def _process_status(self, status, signed):
        account = self._account_of(status.phone_number_id)
        if not account:
            # only our numbers' messages have statuses we keep
            _logger.info(
                "WhatsApp status for number %s, not configured: ignored",
                status.phone_number_id,
            )
            return
        self._check_signed(account, signed)
        self.env["whatsapp.message"].sudo()._receive_status(status, account=account)

    def _process_change(self, change, signed):
        if change.field == "user_preferences":
            self._process_user_preferences(change, signed)
            return
        if change.field not in TEMPLATE_FIELDS:
            return
        numbers = (
            self.env["whatsapp.account"]
            .sudo()
            .with_context(active_test=False)
            .search([("business_account_id", "=", change.business_account_id)])
        )
        signers = numbers.filtered(signed)
        if numbers and not signers:
            self._check_signed(numbers[0], signed)
        if not signers:
            return
        update = parse_template_update(change)
        if update:
            self.env["whatsapp.template"]._apply_template_update(update, signers)
        else:
            # no template named: Meta's list of templates tells the news
            self.env["ir.cron"]._whatsapp_wake("whatsapp_team.ir_cron_sync_templates")

    def _process_user_preferences(self, change, signed):
        """The customers' own marketing choices (``user_preferences``), for
        the number that signed them. One for a number not configured yet is
        kept and retried, as a message would be."""
        for preference in parse_user_preferences(change.value):
            account = self._account_of(preference.phone_number_id)
            if not account:
                raise UnknownNumberError(
                    f"WhatsApp number {preference.phone_number_id} is not "
                    "configured: add it under WhatsApp > Configuration > Numbers"
                )
            self._check_signed(account, signed)
            self.env["whatsapp.conversation"].sudo()._apply_marketing_preference(
                account, preference
            )
