/** @odoo-module **/

import { registry } from "@web/core/registry";

// A salesperson labels two chats at once from the list, finds them grouped
// by label, then answers one with a quick reply picked with ":".
registry.category("web_tour.tours").add("whatsapp_team_labels_tour", {
    steps: () => [
        {
            content: "select the first chat",
            trigger: ".o_data_row:contains('Olga Label') .o_list_record_selector input",
            run: "click",
        },
        {
            content: "and the second",
            trigger: ".o_data_row:contains('Pedro Label') .o_list_record_selector input",
            run: "click",
        },
        {
            content: "open the actions on the selection",
            trigger: ".o_cp_action_menus .dropdown-toggle",
            run: "click",
        },
        {
            content: "label the chats",
            trigger: ".o-dropdown--menu .o-dropdown-item:contains('Label chats')",
            run: "click",
        },
        {
            content: "look for the VIP label",
            trigger: ".modal .o_field_widget[name=label_ids] input",
            run: "edit VIP",
        },
        {
            content: "pick it",
            trigger: ".o-autocomplete--dropdown-item > a:contains('VIP')",
            run: "click",
        },
        {
            content: "the label is chosen",
            trigger: ".modal .o_field_widget[name=label_ids] .o_tag:contains('VIP')",
        },
        {
            content: "apply it to both chats",
            trigger: ".modal button[name=action_apply]",
            run: "click",
        },
        {
            content: "the first chat shows the label",
            trigger: ".o_data_row:contains('Olga Label') .o_field_many2many_tags .o_tag:contains('VIP')",
        },
        {
            content: "so does the second",
            trigger: ".o_data_row:contains('Pedro Label') .o_field_many2many_tags .o_tag:contains('VIP')",
        },
        {
            content: "open the search options",
            trigger: ".o_control_panel_actions .o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            content: "group the chats by label",
            trigger: ".o_group_by_menu .o-dropdown-item:contains('Label')",
            run: "click",
        },
        {
            content: "close the search options",
            trigger: ".o_control_panel_actions .o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            content: "both chats are in the VIP group",
            trigger: ".o_group_name:contains('VIP (2)')",
            run: "click",
        },
        {
            content: "open Olga's chat",
            trigger: ".o_data_row:contains('Olga Label') td.o_data_cell:first",
            run: "click",
        },
        {
            content: "the chat has the label and a lead",
            trigger: ".o_form_view .o_field_widget[name=label_ids] .o_tag:contains('VIP')",
        },
        {
            content: "answer the customer",
            trigger: "button.o-mail-Chatter-sendMessage",
            run: "click",
        },
        {
            content: "ask for the quick replies",
            trigger: ".o-mail-Composer-input",
            run: "edit :",
        },
        {
            content: "pick the thank-you reply",
            trigger: ".o-mail-Composer-suggestion:contains('thanks')",
            run: "click",
        },
        {
            content: "the reply is in the composer, placeholders still to fill",
            trigger: ".o-mail-Composer-input:value(Thank you {first_name})",
        },
        {
            content: "send it",
            trigger: ".o-mail-Composer-send:enabled",
            run: "click",
        },
        {
            content: "the customer gets their own name and the salesperson's",
            trigger: ".o-mail-Message-body:contains('Thank you Olga, Tour Labeller from')",
        },
    ],
});
