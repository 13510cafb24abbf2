"""What a webhook processor's work leaves for its next commit."""

# the context key under which a processor passes its batch to the work it runs
PROCESSOR_BATCH = "whatsapp_processor_batch"
# Odoo's cron sending the queued web pushes (mail.push)
WEB_PUSH_CRON = "mail.ir_cron_web_push_notification"


class ProcessorBatch:
    """Kept by a webhook processor from one commit to the next.

    Odoo runs a transaction's pre-commit hooks when it commits, and also at
    every flushing savepoint, and forgets their data then (or drops them
    when the savepoint is rolled back). A processor handles its messages in
    savepoints and commits every few messages, so what must wait for the
    commit is kept here instead, passed
    down in the context (key :data:`PROCESSOR_BATCH`):

    - ``chat_ids``: the chats whose inbox rows changed; the processor sends
      them once, before it commits (a row is read when sent: one for a chat
      rolled back since is skipped, one sent twice does no harm);
    - ``inbox_notices``: ``{user id: {message id: None}}``, the messages
      each user is to be told of live in their browser (Discuss's inbox
      notice); the processor sends them all together before it commits (a
      message rolled back since is skipped);
    - ``announce_ids``: the customer messages to announce to those who
      answer their chats (``whatsapp.message._announce_to_team``); the
      processor announces them all together before it commits, before the
      live notices they add (a message rolled back since is skipped);
    - ``cron_wakes``: ``{cron xmlid: {moment or None: None}}``, the
      scheduled actions the work woke (the send queue for the replies it
      queued, the files' downloads, the chats' upkeep at their deadlines,
      the surveys, the templates' sync, Odoo's push cron for the web pushes
      it queued; ``None``: at once): the processor wakes each once for each
      moment, before it commits (``ir.cron._whatsapp_wake``; woken for work
      rolled back since, a job finds nothing to do);
    - ``lead_copies``: ``{chat line id: (lead id, whatsapp.message id or
      False)}``, the lines of chats to copy to their leads' chatters
      (``whatsapp.conversation._mirror_to_crm``); the processor makes the
      copies together before it commits (a line rolled back since is
      skipped).

    It also keeps, until the commit, what the work looks up again and again
    and no message of the batch changes:

    - ``alias_domain_id``: the first alias domain, which Odoo gives the
      messages posted in a chat whose company has none (``False``: there is
      none; ``None``: not looked up yet);
    - ``retry_after_commit_ids``: the events to retry at once that failed
      because a concurrent transaction stored the same customer or message
      first: retried on the snapshot after the commit, where that record is
      seen, not again on this one, where it is not.
    """

    __slots__ = (
        "alias_domain_id",
        "announce_ids",
        "chat_ids",
        "cron_wakes",
        "inbox_notices",
        "lead_copies",
        "retry_after_commit_ids",
    )

    def __init__(self):
        self.chat_ids = {}
        self.inbox_notices = {}
        self.announce_ids = {}
        self.cron_wakes = {}
        self.lead_copies = {}
        self.alias_domain_id = None
        self.retry_after_commit_ids = set()

    def take_chat_ids(self):
        """The chats kept so far, forgotten here."""
        ids, self.chat_ids = list(self.chat_ids), {}
        return ids

    def add_inbox_notice(self, user_id, message_id):
        """Keep the live notice of a message to a user for the commit."""
        self.inbox_notices.setdefault(user_id, {})[message_id] = None

    def take_inbox_notices(self):
        """The inbox notices kept so far, forgotten here."""
        notices, self.inbox_notices = self.inbox_notices, {}
        return notices

    def add_announce(self, message_id):
        """Keep the announce of a customer message for the commit."""
        self.announce_ids[message_id] = None

    def take_announce_ids(self):
        """The messages to announce kept so far, in their order, forgotten
        here."""
        ids, self.announce_ids = list(self.announce_ids), {}
        return ids

    def add_lead_copy(self, line_id, lead_id, message_id=False):
        """Keep the copy of a chat's line on its lead for the commit; the
        copy becomes the ``lead_message_id`` of ``message_id``."""
        self.lead_copies[line_id] = (lead_id, message_id)

    def take_lead_copies(self):
        """The lead copies kept so far, in their order, forgotten here."""
        copies, self.lead_copies = self.lead_copies, {}
        return copies

    def wake_cron(self, xmlid, when=None):
        """Keep for the commit the wake-up of the cron ``xmlid`` at
        ``when`` (``None``: at once)."""
        self.cron_wakes.setdefault(xmlid, {})[when] = None

    def take_cron_wakes(self):
        """``{cron xmlid: [moment or None]}``, the wake-ups kept so far,
        forgotten here."""
        wakes, self.cron_wakes = self.cron_wakes, {}
        return {xmlid: list(moments) for xmlid, moments in wakes.items()}

    @property
    def pushes_queued(self):
        """Whether the work queued web pushes (Odoo's push cron is woken)."""
        return WEB_PUSH_CRON in self.cron_wakes

    def retry_after_commit(self, event_id):
        """Keep the event ``event_id`` for the look after the commit."""
        self.retry_after_commit_ids.add(event_id)

    def committed(self):
        """Forget what was looked up: others may change it once committed."""
        self.alias_domain_id = None
        self.retry_after_commit_ids = set()

    def reset(self):
        """Forget everything (the work was rolled back)."""
        self.chat_ids = {}
        self.inbox_notices = {}
        self.announce_ids = {}
        self.cron_wakes = {}
        self.lead_copies = {}
        self.committed()


def processor_batch(context):
    """The processor's batch in ``context``, or ``None``. Only a processor
    puts one there: a value of another type (a context sent over RPC can
    hold none of this class) is ignored."""
    batch = context.get(PROCESSOR_BATCH)
    return batch if isinstance(batch, ProcessorBatch) else None
