/** @odoo-module **/

import { registry } from "@web/core/registry";

/**
 * Marc, a manager, opens WhatsApp > Reporting: his team's response times,
 * load and satisfaction; he drills into Ana's late chats.
 */
registry.category("web_tour.tours").add("whatsapp_team_reporting_tour", {
    steps: () => [
        {
            content: "the dashboard opens on his team's chats received",
            trigger: ".o-whatsapp-dashboard [data-kpi=received] .fs-3:contains('3')",
        },
        {
            content: "the median first response of the team",
            trigger: ".o-whatsapp-dashboard [data-kpi=first] .fs-3:contains('15.0 min')",
        },
        {
            content: "one late chat now",
            trigger: ".o-whatsapp-dashboard [data-kpi=load]:contains('1 late')",
        },
        {
            content: "only his team's salespeople",
            trigger: ".o-whatsapp-dashboard-users:not(:has(tr[data-user='Dan']))",
        },
        {
            content: "Ana's late chats",
            trigger: ".o-whatsapp-dashboard-users tr[data-user='Ana'] .o-whatsapp-dashboard-late a",
            run: "click",
        },
        {
            content: "the list holds her late chat",
            trigger: ".o_list_view .o_data_row:contains('Customer')",
        },
        {
            content: "one chat only",
            trigger: ".o_list_view:not(:has(.o_data_row + .o_data_row))",
        },
    ],
});
