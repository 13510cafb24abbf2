import { Component, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { Dropdown } from "@web/core/dropdown/dropdown";
import { DropdownItem } from "@web/core/dropdown/dropdown_item";

import { stateIcon, stateTitle, timeLabel } from "./inbox_rows";

/** The left pane: tabs, filters, search and the chats. */
export class InboxList extends Component {
    static template = "whatsapp_team.InboxList";
    static components = { Dropdown, DropdownItem };
    static props = ["inbox"];

    setup() {
        // this component re-renders on the inbox's changes, not only its parent
        this.state = useState(this.props.inbox.state);
    }

    get inbox() {
        return this.props.inbox;
    }

    get tabs() {
        const tabs = [
            { id: "mine", name: _t("Mine") },
            { id: "unassigned", name: _t("Unassigned") },
        ];
        if (this.state.isManager) {
            tabs.push({ id: "team", name: _t("Team") });
        }
        tabs.push({ id: "all", name: _t("All") });
        return tabs.map((tab) => ({ ...tab, count: this.state.counts[tab.id] || {} }));
    }

    get statusChoices() {
        return [
            { id: "open", name: _t("Open") },
            { id: "pending", name: _t("Waiting for the customer") },
            { id: "snoozed", name: _t("Snoozed") },
            { id: "done", name: _t("Done") },
        ];
    }

    toggle(name, id) {
        const values = this.state[name].includes(id)
            ? this.state[name].filter((value) => value !== id)
            : [...this.state[name], id];
        this.inbox.setFilter(name, values);
    }

    clearFilters() {
        for (const name of ["labelIds", "states", "accountIds"]) {
            this.state[name] = [];
        }
        this.inbox.load();
    }

    get filterCount() {
        return this.state.labelIds.length + this.state.states.length + this.state.accountIds.length;
    }

    timeLabel(row) {
        return timeLabel(row.last_message_at);
    }

    stateIcon(row) {
        return row.preview && row.preview.direction === "out" ? stateIcon(row.preview.state) : "";
    }

    stateTitle(row) {
        return stateTitle(row.preview?.state);
    }

    onScroll(ev) {
        const el = ev.target;
        if (
            el.scrollTop + el.clientHeight > el.scrollHeight - 80 &&
            this.state.rows.length < this.state.total &&
            !this.loadingMore
        ) {
            this.loadingMore = true;
            this.inbox.load({ more: true }).finally(() => (this.loadingMore = false));
        }
    }
}
