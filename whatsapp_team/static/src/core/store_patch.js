import { Store } from "@mail/core/common/store_service";
import { patch } from "@web/core/utils/patch";

import { openWhatsappChat } from "./open_chat";

patch(Store.prototype, {
    setup() {
        super.setup(...arguments);
        /** @type {boolean} the inbox screen exists (sent by the server) */
        this.whatsapp_inbox_action = false;
    },
    handleClickOnLink(ev, thread) {
        // a link to a chat (a leader's summary of late chats) opens it where
        // it can be answered
        const { oeModel, oeId } = ev.target.dataset;
        if (ev.target.tagName === "A" && oeModel === "whatsapp.conversation" && oeId) {
            ev.preventDefault();
            openWhatsappChat(this, Number(oeId));
            return true;
        }
        return super.handleClickOnLink(...arguments);
    },
});
