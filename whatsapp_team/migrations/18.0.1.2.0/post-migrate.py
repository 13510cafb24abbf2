"""Rewrite the addon's record rules from ``security/whatsapp_security.xml``.

The rules sit in a ``noupdate="1"`` block, so updating the module keeps the
rules an earlier build stored, and those differ from the current ones: the
first builds let a salesperson see every chat of the numbers they may use and
kept templates to the users named on a number, later ones hid a team's chats
from its leader, and before 18.0.1.2.0 the rules spelt out who may use a
number each on its own instead of reading the number's ``allowed_user_ids``.
Rules new in a version (the multi-company rules of messages, templates and
webhook events in 18.0.1.2.0) are created by the update itself.

Clearing ``ir_model_data.noupdate`` would not help: in update mode the XML
loader skips every existing record of a ``noupdate`` block whatever that flag
says, and it never sets the flag back. A database older than 18.0.1.2.0 runs
this script once, whatever version it comes from.

So, once the update has loaded the module, the security file is loaded again
in ``init`` mode: every record of the file is written as the XML describes it,
under the same ids and external ids, which stay ``noupdate``. Only the rules
change: the groups and the category outside the block were rewritten by the
update itself a moment before. Rules without an external id of this addon
(an administrator's own) are not touched.
"""

import logging

from odoo import SUPERUSER_ID, api
from odoo.tools import convert_file

_logger = logging.getLogger(__name__)

MODULE = "whatsapp_team"
SECURITY_FILE = "security/whatsapp_security.xml"


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    convert_file(env, MODULE, SECURITY_FILE, {}, mode="init", kind="data")
    _logger.info("%s: record rules rewritten from %s", MODULE, SECURITY_FILE)
