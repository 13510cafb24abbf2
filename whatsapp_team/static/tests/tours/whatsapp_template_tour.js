/** @odoo-module **/

import { registry } from "@web/core/registry";

// An administrator writes a template, sees the preview and the variables,
// and submits it (the sandbox number approves at once).
registry.category("web_tour.tours").add("whatsapp_team_template_tour", {
    steps: () => [
        {
            content: "new template",
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            content: "its name",
            trigger: ".o_field_widget[name=name] input",
            run: "edit tour_welcome",
        },
        {
            content: "its body, with two variables",
            trigger: ".o_field_widget[name=body] textarea",
            run: "edit Hello {{1}}, welcome to {{2}}!",
        },
        {
            content: "on to the footer: the variables follow the body",
            trigger: ".o_field_widget[name=footer] input",
            run: "click",
        },
        {
            content: "one line per variable, the first is the customer's name",
            trigger: ".o_field_widget[name=variable_ids] .o_data_row:has(td:contains('{{1}}')) td[name=source]:contains('Customer field')",
        },
        {
            content: "the example of {{2}}",
            trigger: ".o_field_widget[name=variable_ids] .o_data_row:has(td:contains('{{2}}')) td[name=sample_value]",
            run: "click",
        },
        {
            content: "type it",
            trigger: ".o_field_widget[name=variable_ids] .o_selected_row td[name=sample_value] input",
            run: "edit our shop",
        },
        {
            content: "leave the line",
            trigger: ".o_field_widget[name=footer] input",
            run: "click",
        },
        {
            content: "the preview shows the message with the examples",
            trigger: ".o_field_widget[name=preview]:contains('Hello Ana, welcome to our shop!')",
        },
        {
            content: "save",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "submit to Meta",
            trigger: ".o_form_saved button[name=action_submit]",
            run: "click",
        },
        {
            content: "confirm",
            trigger: ".modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "approved at once by the sandbox",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('Approved')",
        },
    ],
});
