import { Component, useEffect, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { Dropdown } from "@web/core/dropdown/dropdown";
import { DropdownItem } from "@web/core/dropdown/dropdown_item";

import { timeLabel } from "./inbox_rows";

/** The right pane: who the customer is, the deal, and what to do with the chat. */
export class InboxCustomer extends Component {
    static template = "whatsapp_team.InboxCustomer";
    static components = { Dropdown, DropdownItem };
    static props = ["inbox"];

    setup() {
        // this component re-renders on the inbox's changes, not only its parent
        this.inboxState = useState(this.props.inbox.state);
        this.state = useState({ activities: [], activitiesFor: false });
        useEffect(
            (detail) => {
                if (detail) {
                    // after each opening or change of the chat: an answer
                    // closes its reply activity
                    this.loadActivities(true);
                }
            },
            () => [this.inboxState.detail]
        );
    }

    get inbox() {
        return this.props.inbox;
    }

    get detail() {
        return this.inboxState.detail;
    }

    get row() {
        return this.detail.row;
    }

    get permissions() {
        return this.detail.permissions || {};
    }

    get statusName() {
        return (
            {
                open: _t("Open"),
                pending: _t("Waiting for the customer"),
                snoozed: _t("Snoozed"),
                done: _t("Done"),
            }[this.row.state] || this.row.state
        );
    }

    get labelsToAdd() {
        const present = new Set(this.row.labels.map((label) => label.id));
        return this.inboxState.labels.filter((label) => !present.has(label.id));
    }

    timeLabel(value) {
        return timeLabel(value);
    }

    async writeLabels(command) {
        await this.inbox.orm.write("whatsapp.conversation", [this.row.id], {
            label_ids: [command],
        });
        await this.inbox.refreshSelected();
    }

    addLabel(label) {
        return this.writeLabels([4, label.id]);
    }

    removeLabel(label) {
        return this.writeLabels([3, label.id]);
    }

    openLead() {
        this.inbox.action.doAction({
            type: "ir.actions.act_window",
            res_model: "crm.lead",
            res_id: this.detail.lead.id,
            views: [[false, "form"]],
            target: "current",
        });
    }

    openPartner() {
        this.inbox.action.doAction({
            type: "ir.actions.act_window",
            res_model: "res.partner",
            res_id: this.detail.customer.partner_id,
            views: [[false, "form"]],
            target: "current",
        });
    }

    async scheduleActivity() {
        await this.inbox.store.scheduleActivity("whatsapp.conversation", [this.row.id]);
        await this.loadActivities(true);
    }

    async loadActivities(force = false) {
        if (!force && this.state.activitiesFor === this.row.id) {
            return;
        }
        this.state.activitiesFor = this.row.id;
        this.state.activities = await this.inbox.orm.searchRead(
            "mail.activity",
            [
                ["res_model", "=", "whatsapp.conversation"],
                ["res_id", "=", this.row.id],
            ],
            ["summary", "activity_type_id", "date_deadline", "user_id", "state"],
            { order: "date_deadline" }
        );
    }
}
