import { Composer } from "@mail/core/common/composer";
import { Component, useState, xml } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { standardWidgetProps } from "@web/views/widgets/standard_widget_props";

/**
 * The reply dialog of the partner and lead forms: mail's own composer on the
 * chat, as in its chatter ("Send message" goes to the customer on WhatsApp),
 * with quick replies (":"), files and emojis. Sending closes the dialog.
 */
export class WhatsappReplyComposer extends Component {
    static template = xml`
        <div class="o-whatsapp-ReplyComposer">
            <Composer t-if="thread"
                composer="thread.composer"
                type="'message'"
                mode="'extended'"
                autofocus="true"
                showFullComposer="false"
                onPostCallback.bind="onPosted"/>
        </div>`;
    static components = { Composer };
    static props = { ...standardWidgetProps };

    setup() {
        this.store = useState(useService("mail.store"));
        this.action = useService("action");
        const value = this.props.record.data.conversation_id;
        const id = Array.isArray(value) ? value[0] : value?.id;
        this.thread = id
            ? this.store.Thread.insert({ model: "whatsapp.conversation", id })
            : undefined;
    }

    onPosted() {
        // the form behind reloads: its history shows the answer
        this.action.doAction({ type: "ir.actions.act_window_close" });
    }
}

registry.category("view_widgets").add("whatsapp_reply_composer", {
    component: WhatsappReplyComposer,
});
