import json
import logging
import traceback
from datetime import timedelta

from psycopg2 import IntegrityError

from odoo import _, api, fields, models
from odoo.modules import module as odoo_module
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import mute_logger

from ..tools import signature
from ..tools.payload import (
    TEMPLATE_FIELDS,
    PayloadError,
    business_account_ids,
    check_depth,
    is_own_number,
    parse_template_update,
    parse_user_preferences,
    parse_webhook,
    phone_number_ids,
    split_items,
)

_logger = logging.getLogger(__name__)

# Meta's webhook bodies stay under about 3 MB; anything bigger is not Meta.
MAX_BODY_SIZE = 3 * 1024 * 1024
MAX_ATTEMPTS = 10
BATCH_SIZE = 200
# a unique key taken by a concurrent transaction: retried at once this often
QUICK_RETRIES = 3


class UnknownNumberError(Exception):
    """A message for a WhatsApp number that is not configured (yet)."""


class ForeignSignatureError(Exception):
    """A change for a number whose app secret did not sign the body."""


# Errors that no retry can cure: the event fails at once for an administrator
# (who may still process it again, e.g. after correcting a number's secret).
PERMANENT_ERRORS = (PayloadError, ForeignSignatureError)


class WhatsappWebhookEvent(models.Model):
    """A webhook body exactly as Meta sent it, stored before anything else.

    The controller only verifies and stores; processing happens in a cron
    triggered at once. An event that fails stays here with its error and is
    tried again with growing delays, so no customer message is ever lost to a
    bug or an outage. The items of a body (messages, statuses, template
    updates) are processed one by one: one that fails moves to an event of
    its own (``parent_id``) and does not hold back the others.
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

    @api.model
    def _receive(self, body, signature_header):
        """Check and store one webhook body.

        Returns ``(http_status, text, event)``; ``event`` is empty unless stored.

        Nothing is stored unless the body is signed, see :meth:`_signing_account`.
        The signature header is stored with the body: each change is checked
        again against its own number when processed, which also covers
        numbers configured only after the body arrived.
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
        except (ValueError, RecursionError, PayloadError):
            return 400, "Bad Request", self.browse()
        account = self._signing_account(body, signature_header, pnids, waba_ids)
        if account is None:
            _logger.warning(
                "WhatsApp webhook refused: bad or missing signature (numbers %s)",
                pnids,
            )
            return 403, "Forbidden", self.browse()
        event_sudo = self.sudo().create(
            {"account_id": account.id, "payload": text, "signature": signature_header}
        )
        self.env.ref("whatsapp_team.ir_cron_process_webhook_events").sudo()._trigger()
        return 200, "OK", event_sudo

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
        """
        Account_sudo = (
            self.env["whatsapp.account"].sudo().with_context(active_test=False)
        )
        verified = {}

        def signed(account):
            secret = account.app_secret
            if secret not in verified:
                verified[secret] = signature.verify(secret, body, signature_header)
            return verified[secret]

        named = (
            Account_sudo.search([("phone_number_id", "in", pnids)])
            if pnids
            else Account_sudo
        )
        if not all(signed(account) for account in named):
            return None
        signers = named.sorted(lambda a: pnids.index(a.phone_number_id))
        by_waba = (
            Account_sudo.search([("business_account_id", "in", waba_ids)])
            if waba_ids
            else Account_sudo
        )
        for waba_id in waba_ids:
            numbers = by_waba.filtered(lambda a, w=waba_id: a.business_account_id == w)
            if numbers and not any(signed(account) for account in numbers):
                return None
            signers |= numbers.filtered(signed)
        if signers:
            return signers[0]
        return next(
            (
                account
                for account in Account_sudo.with_context(active_test=True).search(
                    [("app_secret", "!=", False)]
                )
                if signed(account)
            ),
            None,
        )

    # ------------------------------------------------------------
    # Processing
    # ------------------------------------------------------------

    @api.model
    def _cron_process(self, limit=BATCH_SIZE):
        """Process pending events, each in its own transaction.

        Each event row is locked while it is processed (``SKIP LOCKED``), so
        several workers never process the same event twice at once.
        """
        auto_commit = not odoo_module.current_test
        done = 0
        while done < limit:
            # the previous event's outcome (e.g. its retry delay) must be in
            # the database before we look for the next one
            self.flush_model()
            self.env.cr.execute(
                """
                SELECT id FROM whatsapp_webhook_event
                 WHERE state = 'pending'
                   AND (next_attempt_at IS NULL OR next_attempt_at <= %s)
                 ORDER BY id
                 LIMIT 1
                   FOR UPDATE SKIP LOCKED
                """,
                [fields.Datetime.now()],
            )
            row = self.env.cr.fetchone()
            if not row:
                break
            done += 1
            try:
                self.browse(row[0])._process()
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
                if not auto_commit:
                    raise
                # another transaction touched the same rows: the event is
                # still pending and is taken again with a fresh snapshot
                self.env.cr.rollback()  # pylint: disable=invalid-commit
                self.env.invalidate_all()
                continue
            if auto_commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit
        remaining = self.search_count([("state", "=", "pending")])
        if remaining and done >= limit:
            self.env.ref("whatsapp_team.ir_cron_process_webhook_events")._trigger()
        return done

    def action_process(self):
        """Queue these events for processing now (after fixing their cause).

        The cron does the work: only one instance of it runs at a time, so
        events are never processed by two transactions at once.
        Administrators only, like the events themselves.
        """
        self.check_access("write")
        self.filtered(lambda e: e.state != "done").write(
            {"state": "pending", "next_attempt_at": False}
        )
        self.env.ref("whatsapp_team.ir_cron_process_webhook_events")._trigger()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "info",
                "message": _("The events are being processed."),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _process(self):
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
        """
        for event in self:
            # pending writes of earlier work must not fail inside a savepoint
            self.env.flush_all()
            try:
                items = split_items(json.loads(event.payload))
            except ValueError as error:  # a PayloadError is a ValueError
                event._record_failure(PayloadError(str(error)))
                continue
            event._process_items(items)

    def _process_items(self, items):
        self.ensure_one()
        signed = self._signature_check()
        # a failure that may still pass holds back its customer's later
        # messages; the last attempt, or an error no retry cures, holds nothing
        holds = self.attempts + 1 < MAX_ATTEMPTS
        failures = []  # [items, error, traceback text, quick]
        held_by = {}  # sender key -> index in failures
        counts = {"message": 0, "status": 0}
        notes = []
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
            self.env.ref("whatsapp_team.ir_cron_process_webhook_events")._trigger()

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
            secret = account.sudo().app_secret
            if secret not in verified:
                verified[secret] = signature.verify(secret, body, origin.signature)
            return verified[secret]

        return signed

    def _account_of(self, phone_number_id):
        return (
            self.env["whatsapp.account"]
            .sudo()
            .with_context(active_test=False)
            .search([("phone_number_id", "=", phone_number_id)], limit=1)
            if phone_number_id
            else self.env["whatsapp.account"]
        )

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
            default_region=account._default_region(),
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
            self.env.ref("whatsapp_team.ir_cron_sync_templates").sudo()._trigger()

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
