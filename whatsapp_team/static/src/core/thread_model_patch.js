import { Thread } from "@mail/core/common/thread_model";
import { Record } from "@mail/core/common/record";
import { patch } from "@web/core/utils/patch";

import { openWhatsappChat } from "./open_chat";

patch(Thread.prototype, {
    setup() {
        super.setup(...arguments);
        /** @type {boolean|undefined} can a free reply go out now */
        this.whatsapp_window_open = undefined;
        /** @type {luxon.DateTime|undefined} */
        this.whatsapp_window_until = Record.attr(undefined, { type: "datetime" });
        /** @type {boolean|undefined} send "typing…" while writing */
        this.whatsapp_typing = undefined;
    },
    /** A chat opened from the messaging menu or a notification: where it can
     * be answered, not in a chat window. */
    open(options) {
        if (this.model === "whatsapp.conversation") {
            openWhatsappChat(this.store, this.id);
            return;
        }
        return super.open(...arguments);
    },
});
