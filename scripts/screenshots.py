"""Take the README's screenshots from a running demo (``make demo``).

Usage: python3 scripts/screenshots.py [--url http://localhost:8069]
Drives headless Chromium over the DevTools protocol as a logged-in user.
The chats' emoji (📍 🚫 📞) need a colour emoji font, else they show as empty
boxes (Debian/Ubuntu: apt-get install fonts-noto-color-emoji).
"""

import argparse
import base64
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import requests
import websocket

DOCS = Path(__file__).resolve().parent.parent / "docs"


class Browser:
    def __init__(self, port=9333, width=1400, height=900):
        self.profile = tempfile.mkdtemp(prefix="wa-shots-")
        binary = shutil.which("chromium") or shutil.which("chromium-browser")
        if not binary:
            raise SystemExit("Chromium is needed: apt-get install chromium")
        self.process = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={self.profile}",
                f"--remote-debugging-port={port}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _attempt in range(50):
            try:
                targets = requests.get(
                    f"http://127.0.0.1:{port}/json", timeout=2
                ).json()
                break
            except requests.RequestException:
                time.sleep(0.2)
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True
        )
        self.counter = 0

    def call(self, method, **params):
        self.counter += 1
        self.ws.send(
            json.dumps({"id": self.counter, "method": method, "params": params})
        )
        while True:
            answer = json.loads(self.ws.recv())
            if answer.get("id") == self.counter:
                return answer.get("result", {})

    def evaluate(self, expression):
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True
        )
        return result.get("result", {}).get("value")

    def wait_for(self, selector, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.evaluate(f"!!document.querySelector({json.dumps(selector)})"):
                return
            time.sleep(0.3)
        raise TimeoutError(selector)

    def shot(self, name):
        time.sleep(1.0)  # let transitions end
        # toasts (e.g. "page out of date" after an update) are not the subject
        self.evaluate(
            "document.querySelectorAll('.o_notification').forEach(n => n.remove())"
        )
        data = self.call("Page.captureScreenshot", format="png")["data"]
        (DOCS / name).write_bytes(base64.b64decode(data))
        print("wrote", DOCS / name)

    def close(self):
        self.ws.close()
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://localhost:8069")
    parser.add_argument("--db", default="whatsapp_demo")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    args = parser.parse_args()
    DOCS.mkdir(exist_ok=True)

    def log_in(login, password):
        session = requests.Session()
        session.post(
            f"{args.url}/web/session/authenticate",
            json={"params": {"db": args.db, "login": login, "password": password}},
            timeout=30,
        ).raise_for_status()
        cookie = session.cookies.get("session_id")
        browser.call("Network.setCookie", name="session_id", value=cookie, url=args.url)
        return session

    def search_read(session, model, domain, fields):
        answer = session.post(
            f"{args.url}/web/dataset/call_kw",
            json={
                "params": {
                    "model": model,
                    "method": "search_read",
                    "args": [domain, fields],
                    "kwargs": {"limit": 1},
                }
            },
            timeout=30,
        )
        answer.raise_for_status()
        return answer.json()["result"]

    def open_inbox(tab="mine", name=""):
        """The inbox on ``tab``, with the chat of customer ``name`` open (else
        the first one)."""
        browser.call(
            "Page.navigate",
            url=f"{args.url}/odoo/action-whatsapp_team.whatsapp_inbox_action",
        )
        browser.wait_for(".o-whatsapp-inbox-tab")
        browser.evaluate(
            f"document.querySelector('.o-whatsapp-inbox-tab[data-tab={tab}]').click()"
        )
        time.sleep(1.0)
        browser.wait_for(".o-whatsapp-inbox-row")
        browser.evaluate(
            "const rows = [...document.querySelectorAll('.o-whatsapp-inbox-row')];"
            f"(rows.find(r => r.textContent.includes({json.dumps(name)})) || rows[0])"
            ".click()"
        )
        browser.wait_for(".o-whatsapp-inbox-customer")

    browser = Browser()
    try:
        browser.call("Network.enable")
        # the inbox, as a salesperson (Ana's chat: her photo, her lead) and as
        # the team's manager
        log_in("mia", "mia")
        open_inbox("mine", "Ana Souza")
        browser.wait_for(".o-mail-Message img, .o-mail-AttachmentImage")
        browser.shot("inbox_mia.png")
        log_in("marc", "marc")
        open_inbox("team", "Li Wei")
        browser.shot("inbox_marc.png")
        # a customer's edited message, and the answer to it
        open_inbox("team", "Jorge")
        browser.shot("inbox_edited.png")
        # his team's figures of the last weeks
        browser.call(
            "Page.navigate",
            url=f"{args.url}/odoo/action-whatsapp_team.whatsapp_reporting_dashboard_action",
        )
        browser.wait_for(".o-whatsapp-dashboard-users")
        browser.shot("reporting.png")

        session = log_in(args.login, args.password)
        browser.call(
            "Page.navigate",
            url=f"{args.url}/odoo/action-whatsapp_team.whatsapp_conversation_action/1",
        )
        browser.wait_for(".o-mail-Message img, .o-mail-AttachmentImage")
        browser.shot("conversation.png")

        browser.call(
            "Page.navigate",
            url=f"{args.url}/odoo/action-whatsapp_team.whatsapp_conversation_action",
        )
        browser.wait_for(".o_list_renderer .o_data_row")
        browser.shot("inbox.png")

        browser.call(
            "Page.navigate",
            url=f"{args.url}/odoo/action-whatsapp_team.whatsapp_account_action/1",
        )
        browser.wait_for("button[name=action_simulate_message]")
        browser.evaluate(
            "document.querySelector('button[name=action_simulate_message]').click()"
        )
        browser.wait_for(".modal button[name=action_send]")
        browser.shot("simulate.png")

        browser.call(
            "Page.navigate",
            url=f"{args.url}/odoo/action-whatsapp_team.whatsapp_template_action",
        )
        browser.wait_for(".o_list_renderer .o_data_row")
        browser.evaluate("document.querySelector('.o_data_row td.o_data_cell').click()")
        browser.wait_for(".o_form_view .o_statusbar_status")
        browser.shot("template.png")

        # chats grouped by label, and a lead whose chatter carries the chat
        browser.call(
            "Page.navigate",
            url=f"{args.url}/odoo/action-whatsapp_team.whatsapp_conversation_action",
        )
        browser.wait_for(".o_searchview_dropdown_toggler")
        browser.evaluate(
            "document.querySelector('.o_searchview_dropdown_toggler').click()"
        )
        browser.wait_for(".o_group_by_menu")
        browser.evaluate(
            "[...document.querySelectorAll('.o_group_by_menu .o-dropdown-item')]"
            ".find(i => i.textContent.trim() === 'Label').click()"
        )
        browser.wait_for(".o_group_header")
        browser.evaluate(
            "document.querySelector('.o_searchview_dropdown_toggler').click();"
            "document.querySelectorAll('.o_group_header').forEach(h => h.click())"
        )
        browser.wait_for(".o_list_renderer .o_data_row")
        browser.shot("labels.png")
        chats = search_read(
            session,
            "whatsapp.conversation",
            [("lead_id", "!=", False), ("partner_id.name", "=", "Ana Souza")],
            ["lead_id"],
        ) or search_read(
            session, "whatsapp.conversation", [("lead_id", "!=", False)], ["lead_id"]
        )
        if chats:
            # wide enough for the chatter beside the form
            browser.call(
                "Emulation.setDeviceMetricsOverride",
                width=1920,
                height=1000,
                deviceScaleFactor=1,
                mobile=False,
            )
            browser.call(
                "Page.navigate",
                url=f"{args.url}/odoo/action-crm.crm_lead_all_leads/"
                f"{chats[0]['lead_id'][0]}",
            )
            browser.wait_for(".o-mail-Message img, .o-mail-AttachmentImage")
            browser.shot("lead.png")
            browser.call("Emulation.clearDeviceMetricsOverride")

        # the showroom's manager: his team's chats by salesperson
        log_in("marc", "marc")
        browser.call(
            "Page.navigate",
            url=f"{args.url}/odoo/action-whatsapp_team.whatsapp_conversation_action_team",
        )
        browser.wait_for(".o_kanban_record")
        browser.shot("team.png")
    finally:
        browser.close()


if __name__ == "__main__":
    main()
