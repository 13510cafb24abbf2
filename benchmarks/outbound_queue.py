"""1,000 template messages through the outbound queue, with throttling errors.

Usage: python3 benchmarks/outbound_queue.py [--messages 1000] [--throttle-every 7]
       [--window 120 [--window-code 80007] [--window-retry-after 30]]

1. Installs ``whatsapp_team`` on a throwaway database and opens it in this
   process (a real Odoo registry and PostgreSQL).
2. Serves the fake Graph API over HTTP on 127.0.0.1 and points a number at
   it. Every Nth send is answered with Meta's throughput error (130429),
   every Mth with the pair-rate error (131056), and one in 50 with HTTP 503.
   With ``--window S``, Meta throttles the number for S seconds of wall time
   once ``--window-after`` sends went through: every send in that window is
   answered with ``--window-code`` (130429 by default; 80007 or 4 for the
   business account's or the app's limit), with a ``Retry-After`` header
   when ``--window-retry-after`` is given.
3. Queues the template to N customers through the "Send template" wizard,
   then runs the send cron until every message is sent (waiting for the
   retry delays as the cron would), and prints how long it took, how fast
   it went, how many retries it needed, and whether each message reached
   Meta exactly once (one accepted message per customer, none twice).

The database is dropped at the end, whatever happens.
"""

import argparse
import importlib
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
harness = importlib.import_module("harness")


def make_graph(fake_graph, args):
    """A fake Graph API that answers some sends with Meta's throttling errors."""
    throttle_every, pair_every = args.throttle_every, args.pair_every
    unavailable_every = args.unavailable_every

    class ThrottlingGraph(fake_graph.FakeGraph):
        sends = 0
        injected = {130429: 0, 131056: 0, 503: 0, "window": 0}
        send_times = []
        # wall time of the throttling window: opened at the Nth send
        window = None

        def in_window(self, n):
            if not args.window:
                return False
            now = time.monotonic()
            if self.window is None and n > args.window_after:
                type(self).window = (now, now + args.window)
            return self.window is not None and self.window[0] <= now < self.window[1]

        def handle(self, method, path, query, headers, body):
            if method == "POST" and path.endswith("/messages"):
                type(self).sends += 1
                n = type(self).sends
                if self.in_window(n):
                    self.fail_next(
                        args.window_code,
                        path_contains="/messages",
                        retry_after=args.window_retry_after,
                    )
                    self.injected["window"] += 1
                elif n % throttle_every == 0:
                    self.fail_next(130429, path_contains="/messages")
                    self.injected[130429] += 1
                elif n % pair_every == 0:
                    self.fail_next(131056, path_contains="/messages")
                    self.injected[131056] += 1
                elif n % unavailable_every == 0:
                    self.fail_http(503, path_contains="/messages")
                    self.injected[503] += 1
                started = time.perf_counter()
                answer = super().handle(method, path, query, headers, body)
                self.send_times.append(time.perf_counter() - started)
                return answer
            return super().handle(method, path, query, headers, body)

    return ThrottlingGraph(access_token="bench-token")


def run(args, settings, db):
    import odoo  # noqa: PLC0415 - configured below, after the database exists
    from odoo import api
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config([*settings.odoo_args, "-d", db])
    tools = harness.addon_tools()
    fake_graph = importlib.import_module(
        tools.phone.__name__.rsplit(".", 1)[0] + ".fake_graph"
    )
    graph = make_graph(fake_graph, args)
    graph.add_template(
        "order_update",
        components=[{"type": "BODY", "text": "Hello {{1}}, order {{2}} ships today."}],
    )
    server = fake_graph.FakeGraphServer(graph).start()
    registry = Registry(db)
    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, odoo.SUPERUSER_ID, {})
            account = env["whatsapp.account"].create(
                {
                    "name": "Bench",
                    "phone_number_id": "bench-outbound",
                    "business_account_id": "bench-waba",
                    "access_token": "bench-token",
                    "app_secret": "bench-secret",
                    "graph_base_url": server.url,
                    "rate_limit": args.rate,
                }
            )
            account.action_sync_templates()
            template = env["whatsapp.template"].search([("name", "=", "order_update")])
            partners = env["res.partner"].create(
                [
                    {"name": f"Customer {i}", "mobile": f"+1 650 555 {i:04d}"}
                    for i in range(args.messages)
                ]
            )
            started = time.perf_counter()
            Conversation = env["whatsapp.conversation"]
            for index, partner in enumerate(partners):
                conversation = Conversation._get_or_create_for_partner(account, partner)
                wizard = env["whatsapp.template.send"].create(
                    {"conversation_id": conversation.id, "template_id": template.id}
                )
                wizard.line_ids.filtered(
                    lambda line: line.position == 2
                ).value = f"S{index:05d}"
                wizard.action_send()
            queued_in = time.perf_counter() - started
            cr.commit()

            print(f"queued {args.messages} template messages in {queued_in:.1f} s")
            Message = env["whatsapp.message"]
            started = time.perf_counter()
            cron_runs = 0
            waited = 0.0
            while True:
                Message._cron_send_queue(limit=args.messages)
                cron_runs += 1
                cr.commit()
                pending = Message.search(
                    [("state", "in", ("queued", "sending")), ("direction", "=", "out")]
                )
                if not pending or time.perf_counter() - started > args.timeout:
                    break
                due = min(filter(None, pending.mapped("next_attempt_at")), default=None)
                pause = 0.2
                if due:
                    # to the microsecond: Datetime.now() drops them
                    pause = max(0.05, (due - datetime.utcnow()).total_seconds())
                time.sleep(min(pause, 5))
                waited += min(pause, 5)
            elapsed = time.perf_counter() - started
            messages = Message.search(
                [("direction", "=", "out"), ("message_type", "=", "template")]
            )
            states = {}
            for state in messages.mapped("state"):
                states[state] = states.get(state, 0) + 1
            attempts = sum(messages.mapped("send_attempts"))
            retries = attempts - len(messages)
            sends = graph.sends
            accepted = len(graph.messages)
            delays = sorted(graph.send_times)
            # exactly once: Meta accepted one message per customer, and each
            # of ours holds the wamid of one of them
            per_customer = {}
            for sent in graph.messages:
                per_customer[sent["to"]] = per_customer.get(sent["to"], 0) + 1
            twice = sum(1 for count in per_customer.values() if count > 1)
            wamids = set(messages.mapped("wa_message_id"))
            exactly_once = (
                len(per_customer) == len(messages) == accepted
                and not twice
                and len(wamids) == len(messages)
                and states == {"sent": len(messages)}
            )
            longest_wait = max(
                (m.wa_timestamp - m.create_date).total_seconds()
                for m in messages
                if m.wa_timestamp
            )
    finally:
        server.stop()
        Registry.delete(db)

    injected = graph.injected
    print()
    print("=" * 78)
    print(f"RESULTS: {args.messages} template messages, rate limit {args.rate}/s")
    print("=" * 78)
    rows = [
        ("all sent after (s)", f"{elapsed:.1f}"),
        ("messages/s, end to end", f"{len(messages) / elapsed:.1f}"),
        ("messages by state", str(states)),
        ("retries (send attempts beyond the first)", str(retries)),
        (
            "errors injected: 130429 / 131056 / HTTP 503",
            f"{injected[130429]} / {injected[131056]} / {injected[503]}",
        ),
        (
            f"window: {args.window:.0f} s of {args.window_code}"
            + (
                f" (Retry-After {args.window_retry_after} s)"
                if args.window_retry_after
                else ""
            )
            + ", sends refused in it",
            str(injected["window"]) if args.window else "-",
        ),
        ("sends Meta saw / accepted", f"{sends} / {accepted}"),
        (
            "each message accepted by Meta exactly once",
            f"{'yes' if exactly_once else 'NO'} ({len(per_customer)} customers, "
            f"{twice} got one twice, {len(wamids)} distinct wamids)",
        ),
        ("longest a message waited in the queue (s)", f"{longest_wait:.1f}"),
        (
            "cron runs / time spent waiting for retry delays (s)",
            f"{cron_runs} / {waited:.1f}",
        ),
        (
            "fake Graph answer time p50 / p99 (ms)",
            f"{statistics.median(delays) * 1000:.2f} / "
            f"{delays[int(len(delays) * 0.99) - 1] * 1000:.2f}",
        ),
        ("queued through the wizard in (s)", f"{queued_in:.1f}"),
    ]
    for label, value in rows:
        print(f"  {label:<55} {value}")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=80, help="messages per second")
    parser.add_argument("--throttle-every", type=int, default=7)
    parser.add_argument("--pair-every", type=int, default=23)
    parser.add_argument("--unavailable-every", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument(
        "--window", type=float, default=0, help="seconds Meta throttles the number"
    )
    parser.add_argument("--window-after", type=int, default=300)
    parser.add_argument("--window-code", type=int, default=130429)
    parser.add_argument("--window-retry-after", type=int, default=None)
    args = parser.parse_args()
    harness.run_on_throwaway_db(
        "wa_bench_out", lambda settings, db: run(args, settings, db)
    )


if __name__ == "__main__":
    main()
