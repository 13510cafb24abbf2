"""Whose turn it is in a sales team: the same answer for every transaction.

Odoo's transactions read the database as it was when they began (PostgreSQL's
REPEATABLE READ). Two processors giving chats of one team at once would each
count the members' open chats and turns without the other's, pick the same
salesperson, and the second to write her turn would be refused and start its
whole batch again. So a turn is taken in a short transaction of its own, which
reads what is committed at each statement (READ COMMITTED), one team at a time
(an advisory lock), and commits at once: every other transaction sees a turn
the moment it is taken, and no transaction giving chats writes a member's row
(unless it holds that row already, see :func:`take`).

A chat given in a transaction that has not committed yet is in nobody else's
count of open chats. Each turn therefore leaves a claim: the member and the id
of the transaction the chat is given in. A claim counts as one open chat of
the member for as long as that transaction runs; once it has committed its
chats are counted instead, and once it is rolled back nothing is. Claims of
ended transactions are dropped the next time the team's turns are read.

These functions take a cursor; the caller decides which transaction they run
in (``crm.team.member``: a new one, or, under test, the test's own).
"""

from odoo.tools.sql import table_exists

# the claims (see create_table)
TABLE = "whatsapp_team_turn_claim"
# first key of the teams' advisory locks; the second is the team's id. The
# customers' locks of the webhook processors are single 64-bit keys: the two
# never meet.
LOCK_CLASS = 0x5754
# a transaction id as PostgreSQL's locks and row headers show it: the 64-bit
# id (txid_current()) without its epoch
XID_MODULO = 2**32


def create_table(cr):
    """The claims' table (kept by ``crm.team.member``'s ``init``), created
    once: an index statement run at every update would lock it until the
    update commits, and every turn meanwhile.

    No foreign key: checking one would wait for a member created by the
    transaction the turn is taken for, which waits for the turn. Not
    written to PostgreSQL's log: a claim means nothing after a crash (its
    transaction is gone with it).
    """
    if table_exists(cr, TABLE):
        return
    cr.execute(
        """
        CREATE UNLOGGED TABLE whatsapp_team_turn_claim (
            id bigserial PRIMARY KEY,
            member_id integer NOT NULL,
            xact bigint NOT NULL
        );
        CREATE INDEX whatsapp_team_turn_claim_member_id_index
            ON whatsapp_team_turn_claim (member_id);
        """
    )


def current_xact(cr):
    """The id of ``cr``'s transaction (one is given to it if it has none)."""
    cr.execute("SELECT txid_current()")
    return cr.fetchone()[0]


def begin(cr):
    """Start ``cr``'s transaction as one that takes turns.

    Each statement reads what is committed when it starts. A lock that
    cannot be had within 5 s is an error, not a wait: a concurrency error,
    and the transaction that wanted the turn is run again. Its commit is
    not waited for on disk: the transaction the turn was taken for commits
    after it, and waits for both (PostgreSQL writes its log in order); if
    that one never commits, a turn lost in a crash is no loss.
    """
    cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
    cr.execute("SET LOCAL lock_timeout = '5s'")
    cr.execute("SET LOCAL synchronous_commit = off")


def lock_team(cr, team_id):
    """Wait until no other transaction takes a turn in the team; held until
    ``cr``'s transaction ends."""
    cr.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, team_id])


def settle(cr, member_ids=None):
    """Drop the claims (of these members, or all) whose transaction has
    ended: committed (its chats are counted), rolled back (nothing is), or
    not of this cluster."""
    # the transactions running now: each holds the lock of its own id. Read
    # live, whatever the snapshot; an id from another cluster (a database
    # restored elsewhere) is simply not running, where txid_status() fails
    cr.execute(
        """
        DELETE FROM whatsapp_team_turn_claim
         WHERE (%(all)s OR member_id = ANY(%(members)s))
           AND xact %% %(modulo)s NOT IN
               (SELECT transactionid::text::bigint FROM pg_locks
                 WHERE locktype = 'transactionid'
                   AND mode = 'ExclusiveLock' AND granted)
        """,
        {
            "all": member_ids is None,
            "members": list(member_ids or []),
            "modulo": XID_MODULO,
        },
    )


def standings(cr, member_ids, open_states):
    """``{member id: (open chats, turn)}`` as every transaction sees them now;
    members this transaction cannot see are left out.

    The open chats are those in ``open_states`` committed in the member's
    team, and the claims of the transactions that were still running when
    this statement began, or committed since (its chats are not in this
    statement's view). Claims of ended transactions are dropped first
    (:func:`settle`); no other is added meanwhile, as claims are added
    under the team's lock (:func:`lock_team`). Under test the turns are
    taken in the test's own transaction: its own claims are left out, its
    chats are seen.
    """
    settle(cr, member_ids)
    # the claims left are of transactions that were running a moment ago
    # (of this cluster): txid_status() knows them
    cr.execute(
        """
        SELECT m.id,
               (SELECT count(*) FROM whatsapp_conversation c
                 WHERE c.user_id = m.user_id AND c.team_id = m.crm_team_id
                   AND c.state = ANY(%(states)s))
             + (SELECT count(*) FROM whatsapp_team_turn_claim t
                 WHERE t.member_id = m.id
                   AND t.xact IS DISTINCT FROM txid_current_if_assigned()
                   AND NOT txid_visible_in_snapshot(t.xact, txid_current_snapshot())
                   AND txid_status(t.xact) IS DISTINCT FROM 'aborted'),
               coalesce(m.whatsapp_turn, 0)
          FROM crm_team_member m
         WHERE m.id = ANY(%(members)s)
        """,
        {"states": list(open_states), "members": list(member_ids)},
    )
    return {member_id: (count, turn) for member_id, count, turn in cr.fetchall()}


def take(cr, member_id, xact, turn, taken_at):
    """Give the member her turn (``turn``: a time in seconds, ``taken_at``:
    the datetime shown), and one more open chat for as long as the
    transaction ``xact`` runs.

    Returns whether her row was written. It is not when the transaction
    ``xact`` itself has changed or locked it, or created it and not
    committed yet: this one would wait for that one, which waits for this
    one. That transaction writes the turn itself. Another transaction
    holding the row (a manager saving the team) is waited for.
    """
    cr.execute(
        "SELECT xmax::text::bigint FROM crm_team_member WHERE id = %s", [member_id]
    )
    row = cr.fetchone()
    written = bool(row) and row[0] != xact % XID_MODULO
    if written:
        cr.execute(
            """
            UPDATE crm_team_member
               SET whatsapp_turn = %s, whatsapp_last_assigned_at = %s
             WHERE id = %s
            """,
            [turn, taken_at, member_id],
        )
    cr.execute(
        "INSERT INTO whatsapp_team_turn_claim (member_id, xact) VALUES (%s, %s)",
        [member_id, xact],
    )
    return written
