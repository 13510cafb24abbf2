import { Component, useEffect, xml } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { standardWidgetProps } from "@web/views/widgets/standard_widget_props";

/**
 * Invisible widget of the conversation form: opening a chat tells WhatsApp
 * that the customer's messages were read (when the number says so).
 */
export class WhatsappMarkRead extends Component {
    static template = xml`<span class="d-none"/>`;
    static props = { ...standardWidgetProps };

    setup() {
        this.orm = useService("orm");
        useEffect(
            (resId) => {
                if (resId) {
                    this.orm.silent.call("whatsapp.conversation", "action_mark_read", [[resId]]);
                }
            },
            () => [this.props.record.resId]
        );
    }
}

registry.category("view_widgets").add("whatsapp_mark_read", { component: WhatsappMarkRead });
