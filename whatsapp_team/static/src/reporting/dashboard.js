import { Component, onWillStart, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { serializeDateTime } from "@web/core/l10n/dates";
import { formatMonetary } from "@web/views/fields/formatters";

const { DateTime } = luxon;

/**
 * WhatsApp > Reporting > Dashboard: the manager's teams at a glance. Chats
 * received and answered, median and 90th-percentile response times, the
 * share answered within the team's target, the load now per salesperson
 * (who is online, open, waiting, late, capacity used), satisfaction,
 * leads and what the WhatsApp messages cost. Every figure comes from one
 * server call that applies the caller's record rules
 * (``whatsapp.reporting.dashboard.get_dashboard_data``); each number opens
 * the chats or report lines behind it.
 */
export class WhatsappReportingDashboard extends Component {
    static template = "whatsapp_team.ReportingDashboard";
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.state = useState({ data: null, weeks: 4, teamId: false });
        onWillStart(() => this.load());
    }

    async load() {
        this.state.data = await this.orm.call(
            "whatsapp.reporting.dashboard",
            "get_dashboard_data",
            [],
            { weeks: this.state.weeks, team_id: this.state.teamId }
        );
    }

    async setWeeks(ev) {
        this.state.weeks = parseInt(ev.target.value, 10);
        await this.load();
    }

    async setTeam(ev) {
        this.state.teamId = parseInt(ev.target.value, 10) || false;
        await this.load();
    }

    minutes(value) {
        if (value === null || value === undefined) {
            return "–";
        }
        if (value >= 120) {
            return _t("%(hours)s h", { hours: (value / 60).toFixed(1) });
        }
        return _t("%(minutes)s min", { minutes: value.toFixed(1) });
    }

    percent(value) {
        return value === null || value === undefined ? "–" : `${Math.round(value)} %`;
    }

    /** A cost in the company's currency; "—" when none is known. */
    money(value) {
        if (value === null || value === undefined) {
            return "—";
        }
        return formatMonetary(value, { currencyId: this.state.data.currency_id });
    }

    teamDomain() {
        return this.state.teamId ? [["team_id", "=", this.state.teamId]] : [];
    }

    userDomain(row) {
        return [["user_id", "=", row.id || false]];
    }

    openChats(name, domain) {
        this.action.doAction({
            type: "ir.actions.act_window",
            name,
            res_model: "whatsapp.conversation",
            views: [
                [false, "list"],
                [false, "form"],
            ],
            domain: [...this.teamDomain(), ...domain],
            target: "current",
        });
    }

    openLate(row) {
        const now = serializeDateTime(DateTime.now());
        this.openChats(_t("Late chats of %(user)s", { user: row.name }), [
            ...this.userDomain(row),
            ["state", "=", "open"],
            ["waiting_since", "!=", false],
            ["reply_deadline", "<", now],
        ]);
    }

    openWaiting(row) {
        this.openChats(_t("Customers waiting on %(user)s", { user: row.name }), [
            ...this.userDomain(row),
            ["state", "!=", "done"],
            ["waiting_since", "!=", false],
        ]);
    }

    openOpen(row) {
        this.openChats(_t("Open chats of %(user)s", { user: row.name }), [
            ...this.userDomain(row),
            ["state", "=", "open"],
        ]);
    }

    /** The chat where it is read and answered: the inbox, on that chat. */
    async openChat(chatId) {
        const action = await this.orm.call("whatsapp.conversation", "action_open_chat", [
            [chatId],
        ]);
        await this.action.doAction(action);
    }

    openResponses(row) {
        this.action.doAction({
            type: "ir.actions.act_window",
            name: _t("Response times of %(user)s", { user: row.name }),
            res_model: "whatsapp.response.report",
            views: [
                [false, "list"],
                [false, "pivot"],
            ],
            domain: [
                ...this.teamDomain(),
                ...this.userDomain(row),
                ["date", ">=", this.state.data.since],
            ],
            target: "current",
        });
    }
}

registry.category("actions").add("whatsapp_team.reporting_dashboard", WhatsappReportingDashboard);
