/** @odoo-module **/

import { registry } from "@web/core/registry";

// A salesperson answers a customer from the lead, inside the 24-hour window.
registry.category("web_tour.tours").add("whatsapp_team_lead_reply_tour", {
    steps: () => [
        {
            content: "the lead's WhatsApp tab",
            trigger: ".o_notebook .nav-link:contains('WhatsApp')",
            run: "click",
        },
        {
            content: "the customer's question is in the history",
            trigger: ".o_field_widget[name=whatsapp_message_ids] td:contains('Is the green sofa in stock?')",
        },
        {
            content: "reply to the customer",
            trigger: ".o_field_widget[name=whatsapp_conversation_ids] button[name=action_reply]",
            run: "click",
        },
        {
            content: "write the answer",
            trigger: ".modal .o_field_widget[name=body] textarea",
            run: "edit Yes, we have *two* left.",
        },
        {
            content: "send it",
            trigger: ".modal button[name=action_send]",
            run: "click",
        },
        {
            content: "the answer joins the history",
            trigger: "body:not(:has(.modal)) .o_field_widget[name=whatsapp_message_ids] td:contains('we have *two* left')",
        },
    ],
});

// Days later the window is closed: the salesperson sends a template instead.
registry.category("web_tour.tours").add("whatsapp_team_lead_template_tour", {
    steps: () => [
        {
            content: "the lead's WhatsApp tab",
            trigger: ".o_notebook .nav-link:contains('WhatsApp')",
            run: "click",
        },
        {
            content: "reply to the customer",
            trigger: ".o_field_widget[name=whatsapp_conversation_ids] button[name=action_reply]",
            run: "click",
        },
        {
            content: "the window is closed: a template it is",
            trigger: ".modal button[name=action_send_template]",
            run: "click",
        },
        {
            content: "choose the template",
            trigger: ".modal .o_field_widget[name=template_id] input",
            run: "edit sofa_ready",
        },
        {
            content: "pick it",
            trigger: ".ui-autocomplete .dropdown-item:contains('sofa_ready')",
            run: "click",
        },
        {
            content: "the preview greets the customer by name",
            trigger: ".modal .o_field_widget[name=preview]:contains('Hello Greta Green, your sofa is ready')",
        },
        {
            content: "send the template",
            trigger: ".modal button[name=action_send]",
            run: "click",
        },
        {
            content: "the template joins the history",
            trigger: "body:not(:has(.modal)) .o_field_widget[name=whatsapp_message_ids] td:contains('your sofa is ready')",
        },
    ],
});
