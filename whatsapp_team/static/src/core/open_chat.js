import { registry } from "@web/core/registry";

/** The inbox screen, where a chat is read and answered. */
export const INBOX_ACTION = "whatsapp_team.whatsapp_inbox_action";
const INBOX_TAG = "whatsapp_team.inbox";

/**
 * Open a WhatsApp chat where it can be answered: in the inbox screen when
 * there is one, else in the chat's form (its chatter, its buttons).
 *
 * @param {import("models").Store} store
 * @param {number} id of the whatsapp.conversation
 */
export function openWhatsappChat(store, id) {
    const action = store.env.services.action;
    if (store.whatsapp_inbox_action && registry.category("actions").contains(INBOX_TAG)) {
        return action.doAction(INBOX_ACTION, { additionalContext: { active_id: id } });
    }
    return action.doAction({
        type: "ir.actions.act_window",
        res_model: "whatsapp.conversation",
        res_id: id,
        views: [[false, "form"]],
    });
}
