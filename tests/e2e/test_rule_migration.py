"""Updating a database installed by an earlier build rewrites the record rules.

The addon's ``ir.rule`` records live in a ``noupdate="1"`` block, so a plain
``-u whatsapp_team`` keeps whatever an earlier build stored. Here a real
database gets the addon installed by Odoo's command line, is turned back into
an earlier install with SQL (widened salesperson rules, the previous version
in ``ir_module_module``), and is updated by the command line again: the rules
must come back as the XML writes them, still flagged ``noupdate``, while a
rule of the administrator's own is left as it was.
"""

import ast
import xml.etree.ElementTree as ET

import harness
import pytest

MODULE = "whatsapp_team"
ADDON = harness.ROOT / MODULE
SECURITY_XMLS = sorted((ADDON / "security").glob("*.xml"))
PREVIOUS_VERSION = "18.0.1.0.0"
WIDE = "[(1, '=', 1)]"
WIDENED = ("whatsapp_conversation_rule_user", "whatsapp_message_rule_user")
CUSTOM_NAME = "Local rule: every chat for WhatsApp users"
CUSTOM_DOMAIN = "[('id', '!=', 0)]"


def xml_rules():
    """``{xml id: (name, domain)}`` of the ``ir.rule`` records of the XML."""
    rules = {}
    for security_xml in SECURITY_XMLS:
        for record in ET.parse(security_xml).getroot().iter("record"):
            if record.get("model") != "ir.rule":
                continue
            fields = {field.get("name"): field.text for field in record.iter("field")}
            rules[record.get("id")] = (fields["name"], fields["domain_force"])
    return rules


def manifest_version():
    manifest = ast.literal_eval((ADDON / "__manifest__.py").read_text())
    return manifest["version"]


def db_rules(settings, db):
    """``{xml id: (name, domain, noupdate)}`` of the addon's ``ir.rule`` records."""
    rows = harness.query(
        settings,
        db,
        "SELECT d.name, r.name, r.domain_force, d.noupdate"
        " FROM ir_model_data d JOIN ir_rule r ON r.id = d.res_id"
        " WHERE d.module = %s AND d.model = 'ir.rule'",
        [MODULE],
    )
    return {xmlid: (name, domain, noupdate) for xmlid, name, domain, noupdate in rows}


def create_custom_rule(settings, db):
    """An administrator's own rule, with no external id, on the user group."""
    rule_id = harness.scalar(
        settings,
        db,
        "INSERT INTO ir_rule (name, model_id, domain_force, active, global, perm_read,"
        " perm_write, perm_create, perm_unlink, create_uid, write_uid,"
        " create_date, write_date)"
        " SELECT %s, m.id, %s, true, false, true, false, false, false, 1, 1,"
        " now() at time zone 'UTC', now() at time zone 'UTC'"
        " FROM ir_model m WHERE m.model = 'whatsapp.conversation'"
        " RETURNING id",
        [CUSTOM_NAME, CUSTOM_DOMAIN],
    )
    harness.query(
        settings,
        db,
        "INSERT INTO rule_group_rel (rule_group_id, group_id)"
        " SELECT %s, res_id FROM ir_model_data"
        " WHERE module = %s AND name = 'group_whatsapp_user'",
        [rule_id, MODULE],
    )
    return rule_id


def custom_rule_state(settings, db, rule_id):
    return harness.query(
        settings,
        db,
        "SELECT r.name, r.domain_force, r.active, r.perm_read, r.perm_write,"
        " array(SELECT group_id FROM rule_group_rel WHERE rule_group_id = r.id"
        " ORDER BY group_id),"
        " (SELECT count(*) FROM ir_model_data"
        "  WHERE model = 'ir.rule' AND res_id = r.id)"
        " FROM ir_rule r WHERE r.id = %s",
        [rule_id],
    )


@pytest.fixture
def settings():
    settings = harness.Settings.from_env()
    loaded = harness.addon_dir(settings, MODULE)
    assert (
        loaded == ADDON.resolve()
    ), f"Odoo would load {MODULE} from {loaded}, not from this tree ({ADDON})"
    return settings


def test_update_rewrites_rules_of_an_earlier_install(settings):
    expected = xml_rules()
    assert set(WIDENED) <= set(expected)
    assert manifest_version() != PREVIOUS_VERSION
    db = harness.unique_db_name("wa_e2e_migrate")
    log_path = harness.LOG_DIR / f"{db}.log"
    try:
        harness.install_db(settings, db, log_path, demo=False)
        installed = db_rules(settings, db)
        assert {xmlid: rule[:2] for xmlid, rule in installed.items()} == expected
        assert all(rule[2] for rule in installed.values())

        # an earlier build: broader salesperson rules, the previous version
        for xmlid in WIDENED:
            harness.query(
                settings,
                db,
                "UPDATE ir_rule SET domain_force = %s WHERE id = ("
                " SELECT res_id FROM ir_model_data"
                " WHERE module = %s AND name = %s AND model = 'ir.rule')",
                [WIDE, MODULE, xmlid],
            )
        harness.query(
            settings,
            db,
            "UPDATE ir_module_module SET latest_version = %s WHERE name = %s",
            [PREVIOUS_VERSION, MODULE],
        )
        custom_id = create_custom_rule(settings, db)
        custom_before = custom_rule_state(settings, db, custom_id)
        assert db_rules(settings, db)[WIDENED[0]][1] == WIDE

        harness.update_db(settings, db, log_path)

        updated = db_rules(settings, db)
        for xmlid in WIDENED:
            assert (
                updated[xmlid][1] == expected[xmlid][1]
            ), f"{xmlid} kept the earlier build's domain"
        assert {xmlid: rule[:2] for xmlid, rule in updated.items()} == expected
        not_noupdate = [xmlid for xmlid, rule in updated.items() if not rule[2]]
        assert not not_noupdate, f"rules no longer flagged noupdate: {not_noupdate}"
        assert custom_rule_state(settings, db, custom_id) == custom_before
        assert (
            harness.scalar(
                settings,
                db,
                "SELECT latest_version FROM ir_module_module WHERE name = %s",
                [MODULE],
            )
            == manifest_version()
        )
    finally:
        harness.drop_db(settings, db)
