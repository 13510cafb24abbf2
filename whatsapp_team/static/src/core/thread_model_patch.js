import { Thread } from "@mail/core/common/thread_model";
import { Record } from "@mail/core/common/record";
import { patch } from "@web/core/utils/patch";

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
});
