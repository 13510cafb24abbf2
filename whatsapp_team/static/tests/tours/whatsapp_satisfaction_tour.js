/** @odoo-module **/

import { registry } from "@web/core/registry";

/**
 * The team leader reads the satisfaction of his team on the dashboard: one
 * customer, Rita, rated her chat badly. He opens her chat from there and
 * reads the rating and her comment in the inbox's right pane.
 */
registry.category("web_tour.tours").add("whatsapp_team_satisfaction_tour", {
    steps: () => [
        {
            content: "the dashboard shows one rating, an unhappy one",
            trigger:
                ".o-whatsapp-dashboard [data-kpi=satisfaction]:contains('1 / 5'):contains('1 ratings · 1 unhappy')",
        },
        {
            content: "Rita is among the unhappy customers, with her comment",
            trigger:
                ".o-whatsapp-dashboard-unhappy li:contains('Rita Rater'):contains('rated 1/5'):contains('Too slow')",
        },
        {
            content: "he opens her chat",
            trigger: ".o-whatsapp-dashboard-unhappy li a:contains('Rita Rater')",
            run: "click",
        },
        {
            content: "the inbox opens on Rita's chat",
            trigger: ".o-whatsapp-inbox-title:contains('Rita Rater')",
        },
        {
            content: "her tap is in the chat",
            trigger: ".o-whatsapp-inbox:contains('😞 Bad')",
        },
        {
            content: "the right pane shows her rating",
            trigger: ".o-whatsapp-inbox-satisfaction .o-whatsapp-inbox-rating:contains('Dissatisfied')",
        },
        {
            content: "and her comment",
            trigger: ".o-whatsapp-inbox-satisfaction:contains('Too slow')",
        },
    ],
});
