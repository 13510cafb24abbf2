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
            content: "the customer's question is in the history, formatted",
            trigger: ".o_field_widget[name=whatsapp_message_ids] td:contains('Is the green sofa in stock?') b:contains('green')",
        },
        {
            content: "reply to the customer",
            trigger: ".o_field_widget[name=whatsapp_conversation_ids] button[name=action_reply]",
            run: "click",
        },
        {
            content: "files can go with the answer",
            trigger: ".modal .o-mail-Composer button.o-mail-Composer-attachFiles",
        },
        {
            content: "ask for the quick replies",
            trigger: ".modal .o-mail-Composer-input",
            run: "edit :",
        },
        {
            content: "pick the salesperson's own quick reply",
            trigger: ".o-mail-Composer-suggestion:contains('two')",
            run: "click",
        },
        {
            content: "the answer is in the composer",
            trigger: ".modal .o-mail-Composer-input:value(Yes, we have *two* left.)",
        },
        {
            content: "send it",
            trigger: ".modal .o-mail-Composer-send:enabled",
            run: "click",
        },
        {
            content: "the answer joins the history, after the question",
            trigger: "body:not(:has(.modal)) .o_field_widget[name=whatsapp_message_ids] tr.o_data_row:has(td:contains('Is the green sofa')) ~ tr.o_data_row td:contains('Yes, we have two left.') b:contains('two')",
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
            trigger: "body:not(:has(.modal)) .o_field_widget[name=whatsapp_message_ids] tr.o_data_row:has(td:contains('Yes, we have two left.')) ~ tr.o_data_row td:contains('your sofa is ready')",
        },
    ],
});

// A salesperson's day: their chats, the team's unassigned ones, taking one.
registry.category("web_tour.tours").add("whatsapp_team_team_inbox_tour", {
    steps: () => [
        {
            content: "my chats: my own customer is there",
            trigger: ".o_kanban_record:contains('Olga Own')",
        },
        {
            content: "a colleague's chat is not",
            trigger: ".o_kanban_view:not(:has(.o_kanban_record:contains('Carl Colleague')))",
        },
        {
            content: "the team's unassigned chats",
            trigger: ".o_main_navbar a[data-menu-xmlid='whatsapp_team.whatsapp_conversation_unassigned_menu']",
            run: "click",
        },
        {
            content: "a customer waiting for someone",
            trigger: ".o_data_row td:contains('Una Waiting')",
            run: "click",
        },
        {
            content: "take the chat",
            trigger: "button[name=action_claim]",
            run: "click",
        },
        {
            content: "it is mine now",
            trigger: ".o_field_widget[name=user_id]:contains('Tour Salesperson')",
        },
        {
            content: "the change of hands is in the chatter",
            trigger: ".o-mail-Message .o-mail-Message-trackingNew:contains('Tour Salesperson')",
        },
        {
            content: "close the chat",
            trigger: "button[name=action_done]",
            run: "click",
        },
        {
            content: "it is done",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains('Done')",
        },
    ],
});

// A team leader's view: the team's chats by salesperson, filtered by status,
// and a chat handed to someone else.
registry.category("web_tour.tours").add("whatsapp_team_manager_tour", {
    steps: () => [
        {
            content: "my team: one column per salesperson",
            trigger: ".o_kanban_group:has(.o_column_title:contains('Tour Salesperson')) .o_kanban_record:contains('Olga Own')",
        },
        {
            content: "the colleague's column",
            trigger: ".o_kanban_group:has(.o_column_title:contains('Tour Colleague')) .o_kanban_record:contains('Carl Colleague')",
        },
        {
            content: "open the search options",
            trigger: ".o_control_panel_actions .o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            content: "only chats waiting for the customer",
            trigger: ".o_filter_menu .o-dropdown-item:contains('Waiting for customer')",
            run: "click",
        },
        {
            content: "close the search options",
            trigger: ".o_control_panel_actions .o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            content: "Olga's open chat is filtered out",
            trigger: ".o_kanban_renderer:not(:has(.o_kanban_record:contains('Olga Own')))",
        },
        {
            content: "open Carl's chat, waiting for the customer",
            trigger: ".o_kanban_record:contains('Carl Colleague')",
            run: "click",
        },
        {
            content: "hand it to the other salesperson",
            trigger: ".o_field_widget[name=user_id] input",
            run: "edit Tour Sales",
        },
        {
            content: "pick them",
            trigger: ".o-autocomplete--dropdown-item > a:contains('Tour Salesperson')",
            run: "click",
        },
        {
            content: "save",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "the change of hands is in the chatter",
            trigger: ".o-mail-Message .o-mail-Message-trackingNew:contains('Tour Salesperson')",
        },
    ],
});
