"""What the CRM features cost per inbound customer message.

Usage: python3 benchmarks/crm_inbound.py [--messages 500] [--media-every 5]
       [--members 5] [--warmup 20] [--scenarios baseline,leads,...]

1. Installs ``whatsapp_team`` on a throwaway database and opens it in this
   process (a real Odoo registry and PostgreSQL), and serves the fake Graph
   API over HTTP on 127.0.0.1 for the customers' photos.
2. Per scenario, a WhatsApp number of its own, routed to a sales team of
   online salespeople (round-robin), and its own new customers:

   - ``baseline``: no leads, no automatic replies, no labels;
   - ``leads``: ``create_leads`` on: a lead per new customer, every later
     message copied into the lead's chatter;
   - ``leads_labels``: as ``leads``, and each chat gets two labels (mapped to
     CRM tags) by its salesperson after its first message, so the later
     messages are copied to a tagged lead; the labelling itself is timed;
   - ``media``: no leads, one message in ``--media-every`` is a photo
     (downloaded from the fake Graph API);
   - ``leads_media``: as ``leads`` with the same photos, which are copied to
     the lead;
   - ``away``: no leads, the away message on, with business hours closed at
     the time of the run: each customer's first message of the day queues
     the automatic reply.

3. N messages per scenario, half the first messages of new customers, half a
   follow-up of each of them (first of customer 1, first of customer 2,
   follow-up of customer 1, first of customer 3, follow-up of customer 2…).
   Each message is stored as Meta's signed webhook
   (``whatsapp.webhook.event._receive``) and committed, then processed by the
   cron method ``_cron_process``, as the cron does when a webhook wakes it:
   the timed part is that call, the real inbound path and its commit
   (customer, conversation, message, chatter, team, assignment, lead, copies,
   files, automatic replies). The SQL queries it runs are counted
   (``cr.sql_log_count``).

   The scenarios run interleaved, message by message, in a rotating order: a
   busy moment of a shared machine weighs on all of them alike. A warm-up
   round of ``--warmup`` messages per scenario, on numbers and customers of
   its own, runs first and is not counted.

4. Labelling (scenario ``leads_labels``): each label added to a chat, and one
   removed after the follow-up, by the chat's salesperson, is a ``write`` on
   the chat and a commit; it syncs the lead's tags.

5. Prints, per scenario, the total processing time, messages/s, the time per
   message (mean / p50 / p99, and the mean for first messages, follow-ups
   and photos), the queries per message and the extra cost over
   ``baseline``; where the time goes (the addon's CRM steps, timed where
   they are called); the labelling operations; and what was checked to have
   happened (leads, copies, files on leads, tags, automatic replies).

The database is dropped at the end, whatever happens.
"""

import argparse
import importlib
import io
import os
import random
import statistics
import sys
import time
import types
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
harness = importlib.import_module("harness")


@dataclass(frozen=True)
class Scenario:
    leads: bool = False
    labels: bool = False
    media: bool = False
    away: bool = False


SCENARIOS = {
    "baseline": Scenario(),
    "leads": Scenario(leads=True),
    "leads_labels": Scenario(leads=True, labels=True),
    "media": Scenario(media=True),
    "leads_media": Scenario(leads=True, media=True),
    "away": Scenario(away=True),
}
SALES_GROUPS = ("whatsapp_team.group_whatsapp_user", "sales_team.group_sale_salesman")
LABELS = ("Bench hot", "Bench sofa")
FIRST_TEXT = "Hello, I would like a quote for the corner sofa in the catalogue"
FOLLOW_UP_TEXT = "Is it available in blue? And how long is the delivery?"
# the addon's steps timed where they are called: (model, method, column)
STEPS = (
    ("whatsapp.conversation", "_link_or_create_lead", "lead"),
    ("whatsapp.conversation", "_mirror_to_crm", "copy"),
    ("whatsapp.conversation", "_make_lead_copies", "copy@commit"),
    ("whatsapp.conversation", "_copy_files_to", "files"),
    ("whatsapp.message", "_fetch_media", "download"),
    ("whatsapp.conversation", "_send_automatic_replies", "auto reply"),
)


@dataclass
class Sample:
    seconds: float
    queries: int
    kind: str  # "first" or "follow-up"
    image: bool
    steps: dict


@dataclass
class Run:
    """One scenario's number, team and customers, and what was measured."""

    name: str
    scenario: Scenario
    account_id: int
    secret: str
    phone_number_id: str
    wa_ids: list
    users: list
    samples: list = field(default_factory=list)
    label_ops: dict = field(default_factory=lambda: {"add": [], "remove": []})
    chats: dict = field(default_factory=dict)  # customer index -> (chat, user)


class StepTimer:
    """Time the addon's steps while the real methods run unchanged."""

    def __init__(self):
        self.spent = {}
        self.depth = {}
        self.originals = []

    def install(self, env):
        for model, method, column in STEPS:
            model_class = type(env[model])
            original = getattr(model_class, method)
            self.originals.append((model_class, method, original))
            setattr(model_class, method, self._wrap(original, column))

    def _wrap(self, original, column):
        def wrapper(*args, **kwargs):
            # a step calling itself (a copy inside a copy) counts once
            self.depth[column] = self.depth.get(column, 0) + 1
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.depth[column] -= 1
                if not self.depth[column]:
                    self.spent[column] = self.spent.get(column, 0.0) + (
                        time.perf_counter() - started
                    )

        return wrapper

    def take(self):
        spent, self.spent = self.spent, {}
        return spent

    def uninstall(self):
        for model_class, method, original in self.originals:
            setattr(model_class, method, original)
        self.originals = []


class Photos:
    """Distinct phone-camera-like JPEGs (1280x960, about 160 KB each)."""

    def __init__(self, seed):
        from PIL import Image  # noqa: PLC0415 - Odoo's own dependency

        self.rng = random.Random(seed)
        width, height = 1280, 960
        noise = Image.effect_noise((width // 8, height // 8), 60)
        noise = noise.resize((width, height), Image.BICUBIC).convert("RGB")
        gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
        self.base = Image.blend(noise, gradient, 0.5)
        self.sizes = []

    def next(self):
        from PIL import Image, ImageDraw  # noqa: PLC0415

        image = self.base.copy()
        draw = ImageDraw.Draw(image)
        width, height = image.size
        rng = self.rng
        for _shape in range(30):
            x, y = rng.randrange(width), rng.randrange(height)
            draw.ellipse(
                (x, y, x + rng.randrange(20, 200), y + rng.randrange(20, 200)),
                fill=tuple(rng.randrange(256) for _rgb in range(3)),
            )
        grain = Image.effect_noise((width, height), 20).convert("RGB")
        image = Image.blend(image, grain, 0.15)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=80)
        content = out.getvalue()
        self.sizes.append(len(content))
        return content


def closed_hours(env, now):
    """Business hours open one hour a day, twelve hours away from ``now``."""
    hour = (now.hour + 12) % 24
    return env["resource.calendar"].create(
        {
            "name": "Bench: closed now",
            "tz": "UTC",
            "attendance_ids": [
                (
                    0,
                    0,
                    {
                        "name": f"day {day}",
                        "dayofweek": str(day),
                        "hour_from": hour,
                        "hour_to": hour + 1,
                    },
                )
                for day in range(7)
            ],
        }
    )


def set_up(env, name, index, args, graph_url, warm):
    """A team of online salespeople, a number of its own and its customers."""
    scenario = SCENARIOS[name]
    tag = f"{'warm' if warm else 'bench'}-{name}"
    groups = [env.ref(xmlid).id for xmlid in SALES_GROUPS]
    users = (
        env["res.users"]
        .with_context(no_reset_password=True, mail_create_nosubscribe=True)
        .create(
            [
                {
                    "name": f"{tag} seller {n}",
                    "login": f"{tag}-{n}@bench.example.com",
                    "groups_id": [(6, 0, groups)],
                }
                for n in range(args.members)
            ]
        )
    )
    env["bus.presence"].create(
        [{"user_id": user.id, "status": "online"} for user in users]
    )
    team = env["crm.team"].create(
        {"name": f"Bench {tag}", "whatsapp_assignment": "round_robin"}
    )
    env["crm.team.member"].create(
        [{"crm_team_id": team.id, "user_id": user.id} for user in users]
    )
    secret = f"secret-{tag}"
    values = {
        "name": f"Bench {tag}",
        "phone_number_id": f"bench-crm-{tag}",
        "access_token": "bench-token",
        "app_secret": secret,
        "graph_base_url": graph_url,
        "team_ids": [(6, 0, team.ids)],
        "team_id": team.id,
        "create_leads": scenario.leads,
        "greeting_enabled": False,
        "away_enabled": scenario.away,
    }
    if scenario.away:
        hours = closed_hours(env, datetime.now(timezone.utc).replace(tzinfo=None))
        values["business_hours_id"] = hours.id
    account = env["whatsapp.account"].create(values)
    if scenario.away and account._is_open_at(env.cr.now()):
        raise RuntimeError("the away scenario's business hours are open now")
    count = args.warmup if warm else args.messages
    prefix = f"{2 if warm else 1}{index}"
    wa_ids = [f"55119{prefix}{n:06d}" for n in range((count + 1) // 2)]
    return Run(
        name=name,
        scenario=scenario,
        account_id=account.id,
        secret=secret,
        phone_number_id=account.phone_number_id,
        wa_ids=wa_ids,
        users=users.ids,
    )


def sequence(count):
    """``count`` messages: (customer, kind), each follow-up after the next
    customer's first message."""
    customers = (count + 1) // 2
    follow_ups = count // 2
    order = []
    for customer in range(customers):
        order.append((customer, "first"))
        if 0 < customer <= follow_ups:
            order.append((customer - 1, "follow-up"))
    order += [(c, "follow-up") for c in range(customers - 1, follow_ups)]
    return order


def webhook_body(run, customer, kind, media_id=None):
    wa_id = run.wa_ids[customer]
    text = FIRST_TEXT if kind == "first" else FOLLOW_UP_TEXT
    payload = harness.text_message_payload(
        run.phone_number_id,
        wa_id,
        text,
        profile_name=f"Customer {run.name} {customer:04d}",
    )
    if media_id:
        message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
        del message["text"]
        message["type"] = "image"
        message["image"] = {
            "id": media_id,
            "mime_type": "image/jpeg",
            "caption": text,
        }
    return harness.encode(payload)


def deliver(env, run, body, timer):
    """Store the signed webhook and commit (not timed), then process it as
    the cron does (timed, commit included). Returns (seconds, queries)."""
    cr = env.cr
    Event = env["whatsapp.webhook.event"]
    status, _text, event = Event._receive(
        body, harness.signature_header(run.secret, body)
    )
    assert status == 200, status
    event_id = event.id
    cr.commit()
    timer.take()
    queries = cr.sql_log_count
    started = time.perf_counter()
    processed = Event._cron_process()
    seconds = time.perf_counter() - started
    queries = cr.sql_log_count - queries
    cr.execute(
        "SELECT state, error FROM whatsapp_webhook_event WHERE id = %s", [event_id]
    )
    state, error = cr.fetchone()
    if processed != 1 or state != "done":
        raise RuntimeError(f"event {event_id} of {run.name} is {state}: {error}")
    return seconds, queries


def label(bench, run, customer, command, label_id):
    """The chat's salesperson adds or removes a label (one request: the
    write and its commit). Returns (seconds, queries)."""
    cr = bench.env.cr
    chat_id, user_id = run.chats[customer]
    user_env = bench.api.Environment(cr, user_id or bench.odoo.SUPERUSER_ID, {})
    chat = user_env["whatsapp.conversation"].browse(chat_id)
    queries = cr.sql_log_count
    started = time.perf_counter()
    chat.write({"label_ids": [(command, label_id)]})
    cr.commit()
    seconds = time.perf_counter() - started
    return seconds, cr.sql_log_count - queries


def play(bench, runs, args, measured):
    """Every run's messages, interleaved message by message."""
    cr = bench.env.cr
    count = args.messages if measured else args.warmup
    for position, (customer, kind) in enumerate(sequence(count)):
        shift = position % len(runs)
        for run in runs[shift:] + runs[:shift]:
            image = run.scenario.media and position % args.media_every == (
                args.media_every - 1
            )
            media_id = (
                bench.graph.add_media(bench.photos.next(), "image/jpeg")
                if image
                else None
            )
            body = webhook_body(run, customer, kind, media_id)
            seconds, queries = deliver(bench.env, run, body, bench.timer)
            if measured:
                steps = bench.timer.take()
                run.samples.append(Sample(seconds, queries, kind, image, steps))
            if kind == "first":
                cr.execute(
                    "SELECT id, user_id FROM whatsapp_conversation"
                    " WHERE account_id = %s AND wa_id = %s",
                    [run.account_id, run.wa_ids[customer]],
                )
                run.chats[customer] = cr.fetchone()
            if not run.scenario.labels:
                continue
            ops = (
                [("add", 4, label_id) for label_id in bench.labels]
                if kind == "first"
                else [("remove", 3, bench.labels[-1])]
            )
            for op, command, label_id in ops:
                seconds, queries = label(bench, run, customer, command, label_id)
                if measured:
                    run.label_ops[op].append((seconds, queries))


def check(env, run, labels):
    """What the scenario left in the database."""
    cr = env.cr

    def scalar(sql):
        cr.execute(sql, {"account": run.account_id, "labels": list(labels)})
        return cr.fetchone()[0]

    leads = (
        "SELECT DISTINCT lead_id FROM whatsapp_conversation"
        " WHERE account_id = %(account)s AND lead_id IS NOT NULL"
    )
    return {
        "conversations (assigned)": "{} ({})".format(
            scalar(
                "SELECT count(*) FROM whatsapp_conversation"
                " WHERE account_id = %(account)s"
            ),
            scalar(
                "SELECT count(*) FROM whatsapp_conversation"
                " WHERE account_id = %(account)s AND user_id IS NOT NULL"
            ),
        ),
        "messages from customers": scalar(
            "SELECT count(*) FROM whatsapp_message"
            " WHERE account_id = %(account)s AND direction = 'in'"
        ),
        "leads": scalar(f"SELECT count(*) FROM ({leads}) l"),
        "copies in the leads' chatter": scalar(
            "SELECT count(*) FROM mail_message WHERE model = 'crm.lead'"
            f" AND message_type = 'comment' AND res_id IN ({leads})"
        ),
        "files on the leads": scalar(
            "SELECT count(*) FROM ir_attachment WHERE res_model = 'crm.lead'"
            f" AND res_id IN ({leads})"
        ),
        "leads with both label tags / one": "{} / {}".format(
            *_tag_counts(cr, run, leads)
        ),
        "photos downloaded": scalar(
            "SELECT count(*) FROM whatsapp_message"
            " WHERE account_id = %(account)s AND media_state = 'done'"
        ),
        "automatic replies queued": scalar(
            "SELECT count(*) FROM whatsapp_message"
            " WHERE account_id = %(account)s AND direction = 'out'"
        ),
    }


def _tag_counts(cr, run, leads):
    cr.execute(
        f"""
        SELECT count(*) FILTER (WHERE n = 2), count(*) FILTER (WHERE n = 1)
          FROM (SELECT r.lead_id, count(*) AS n
                  FROM crm_tag_rel r JOIN whatsapp_label l ON l.tag_id = r.tag_id
                 WHERE r.lead_id IN ({leads})
                 GROUP BY r.lead_id) t
        """,
        {"account": run.account_id},
    )
    return cr.fetchone()


def ms(seconds):
    return f"{seconds * 1000:.1f}"


def mean_of(samples, attribute="seconds"):
    values = [getattr(sample, attribute) for sample in samples]
    return statistics.mean(values) if values else float("nan")


def report(runs, checks, photos, args, loads):
    baseline = next((run for run in runs if run.name == "baseline"), None)
    base_mean = mean_of(baseline.samples) if baseline else None
    base_queries = mean_of(baseline.samples, "queries") if baseline else None
    print()
    print("=" * 101)
    print(
        f"RESULTS: {args.messages} inbound messages per scenario "
        f"({(args.messages + 1) // 2} new customers, {args.messages // 2} "
        f"follow-ups), one photo in {args.media_every} in the media scenarios"
    )
    print(
        f"{os.cpu_count()} CPUs, load average {loads[0]:.2f} before, "
        f"{loads[1]:.2f} after"
    )
    print("=" * 101)
    header = (
        f"{'scenario':<13} {'total s':>7} {'msg/s':>6} {'mean':>6} {'p50':>6} "
        f"{'p99':>6} {'first':>6} {'follow':>6} {'photo':>6} {'SQL':>5} "
        f"{'+SQL':>5} {'extra ms':>9} {'extra %':>8}"
    )
    print("per message, ms (first: new customer; follow: follow-up; photo: image")
    print("messages only); SQL: queries per message; +SQL, extra: over baseline")
    print(header)
    print("-" * len(header))
    for run in runs:
        samples = run.samples
        times = [sample.seconds for sample in samples]
        total = sum(times)
        mean = statistics.mean(times)
        photo_samples = [sample for sample in samples if sample.image]
        queries = mean_of(samples, "queries")
        if baseline and run is not baseline:
            extra = (
                f"{queries - base_queries:>+5.0f} {ms(mean - base_mean):>9} "
                f"{(mean / base_mean - 1) * 100:>+7.1f}%"
            )
        else:
            extra = f"{'-':>5} {'-':>9} {'-':>8}"
        print(
            f"{run.name:<13} {total:>7.1f} {len(times) / total:>6.1f} {ms(mean):>6} "
            f"{ms(harness.percentile(times, 0.5)):>6} "
            f"{ms(harness.percentile(times, 0.99)):>6} "
            f"{ms(mean_of([s for s in samples if s.kind == 'first'])):>6} "
            f"{ms(mean_of([s for s in samples if s.kind == 'follow-up'])):>6} "
            f"{ms(mean_of(photo_samples)) if photo_samples else '-':>6} "
            f"{queries:>5.0f} {extra}"
        )

    print()
    columns = [column for _model, _method, column in STEPS]
    print("where the time goes: mean ms per message spent in the addon's steps")
    print("(lead: _link_or_create_lead, lead creation and linking included; copy:")
    print("_mirror_to_crm; copy@commit: _make_lead_copies, the processor's copies")
    print("made together; files: _copy_files_to; download: _fetch_media; auto reply:")
    print("_send_automatic_replies; a step called inside another counts in both)")
    header = f"{'scenario':<13} " + " ".join(f"{c:>10}" for c in columns)
    print(header)
    print("-" * len(header))
    for run in runs:
        n = len(run.samples)
        cells = [
            sum(sample.steps.get(column, 0.0) for sample in run.samples) / n
            for column in columns
        ]
        print(f"{run.name:<13} " + " ".join(f"{ms(cell):>10}" for cell in cells))

    labelled = [run for run in runs if run.scenario.labels]
    if labelled:
        print()
        print("labelling a chat with a linked lead, ms: by its salesperson, a write")
        print("and its commit; the lead's tags follow")
        header = (
            f"{'operation':<22} {'count':>6} {'mean':>7} {'p50':>7} {'p99':>7} "
            f"{'SQL':>5}"
        )
        print(header)
        print("-" * len(header))
        for run in labelled:
            for op, label_ in (("add", "add a label"), ("remove", "remove a label")):
                values = run.label_ops[op]
                times = [seconds for seconds, _queries in values]
                print(
                    f"{label_:<22} {len(values):>6} {ms(statistics.mean(times)):>7} "
                    f"{ms(harness.percentile(times, 0.5)):>7} "
                    f"{ms(harness.percentile(times, 0.99)):>7} "
                    f"{statistics.mean(q for _s, q in values):>5.0f}"
                )

    print()
    print("checked in the database")
    names = list(checks[runs[0].name])
    header = f"{'':<40}" + "".join(f"{run.name:>13}" for run in runs)
    print(header)
    print("-" * len(header))
    for name in names:
        print(
            f"{name:<40}"
            + "".join(f"{str(checks[run.name][name]):>13}" for run in runs)
        )
    if photos.sizes:
        print(
            f"photos: {len(photos.sizes)} JPEG 1280x960, "
            f"{statistics.mean(photos.sizes) / 1024:.0f} KB on average"
        )


def run(args, settings, db):
    import odoo  # noqa: PLC0415 - configured below, after the database exists
    from odoo import api
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config([*settings.odoo_args, "-d", db])
    tools = harness.addon_tools()
    fake_graph = importlib.import_module(
        tools.phone.__name__.rsplit(".", 1)[0] + ".fake_graph"
    )
    server = fake_graph.FakeGraphServer(fake_graph.FakeGraph()).start()
    photos = Photos(args.seed)
    timer = StepTimer()
    registry = Registry(db)
    loads = [os.getloadavg()[0]]
    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, odoo.SUPERUSER_ID, {})
            labels = env["whatsapp.label"].create([{"name": n} for n in LABELS]).ids
            order = list(SCENARIOS)
            warm = [
                set_up(env, name, order.index(name), args, server.url, warm=True)
                for name in args.scenarios
            ]
            runs = [
                set_up(env, name, order.index(name), args, server.url, warm=False)
                for name in args.scenarios
            ]
            cr.commit()
            bench = types.SimpleNamespace(
                env=env,
                odoo=odoo,
                api=api,
                graph=server.graph,
                photos=photos,
                labels=labels,
                timer=timer,
            )
            timer.install(env)
            try:
                if args.warmup:
                    print(f"warming up ({args.warmup} messages each) ...", flush=True)
                    play(bench, warm, args, measured=False)
                photos.sizes.clear()
                print(
                    f"running {', '.join(args.scenarios)}, {args.messages} messages"
                    " each, interleaved ...",
                    flush=True,
                )
                play(bench, runs, args, measured=True)
            finally:
                timer.uninstall()
            checks = {r.name: check(env, r, labels) for r in runs}
    finally:
        server.stop()
        Registry.delete(db)
    loads.append(os.getloadavg()[0])
    report(runs, checks, photos, args, loads)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument(
        "--media-every",
        type=int,
        default=5,
        help="one message in this many is a photo (media scenarios)",
    )
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument(
        "--warmup",
        type=int,
        default=20,
        help="messages per scenario before measuring, not counted",
    )
    parser.add_argument(
        "--scenarios",
        type=lambda text: text.split(","),
        default=list(SCENARIOS),
        help=f"comma-separated, among {', '.join(SCENARIOS)}",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.messages < 2 or args.media_every < 1:
        parser.error("--messages must be at least 2 and --media-every at least 1")
    harness.run_on_throwaway_db(
        "wa_bench_crm", lambda settings, db: run(args, settings, db)
    )


if __name__ == "__main__":
    main()
