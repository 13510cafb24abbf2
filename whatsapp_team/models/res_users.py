from odoo import api, models

from .whatsapp_conversation_sending import INBOX_ACTION


class ResUsers(models.Model):
    _inherit = "res.users"

    def _init_store_data(self, store, /):
        result = super()._init_store_data(store)
        # the web client opens a chat in the inbox screen when there is one,
        # else in its form
        store.add(
            {
                "whatsapp_inbox_action": bool(
                    self.env["ir.model.data"]._xmlid_to_res_id(INBOX_ACTION)
                )
            }
        )
        return result

    @api.model
    def _known_from_query(self, rows):
        """Note in the cache what a query of ours just read of active users:
        ``rows`` of ``(id, share)``. A field of users shows only the active
        ones, and who may read a chat is asked of internal ones: without this
        each of them would be read whole to know it."""
        users = self.browse([row[0] for row in rows])
        cache = self.env.cache
        cache.insert_missing(users, self._fields["active"], [True] * len(users))
        cache.insert_missing(users, self._fields["share"], [row[1] for row in rows])
