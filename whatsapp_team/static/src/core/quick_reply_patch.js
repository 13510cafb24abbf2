import { Composer } from "@mail/core/common/composer";
import { NavigableList } from "@mail/core/common/navigable_list";
import { useChildSubEnv } from "@odoo/owl";
import { getActiveHotkey } from "@web/core/hotkeys/hotkey_service";
import { patch } from "@web/core/utils/patch";

// In a WhatsApp chat, Enter on the quick replies (":than…") picks the one
// shown first: Odoo would close the list, and the next Enter would send the
// shortcut itself to the customer.
patch(Composer.prototype, {
    setup() {
        super.setup(...arguments);
        if (this.props.composer.thread?.model === "whatsapp.conversation") {
            useChildSubEnv({ whatsappComposer: true });
        }
    },
});

patch(NavigableList.prototype, {
    onKeydown(ev) {
        if (
            this.env.whatsappComposer &&
            this.show &&
            this.state.activeIndex === null &&
            this.props.options.length &&
            getActiveHotkey(ev) === "enter"
        ) {
            this.state.activeIndex = 0;
        }
        return super.onKeydown(...arguments);
    },
});
