{
    "name": "WhatsApp Team Inbox",
    "summary": "One WhatsApp Business number, many salespeople: chats linked "
    "to partners and leads in Odoo CRM",
    "version": "18.0.1.0.0",
    "category": "Sales/CRM",
    "author": "whatsapp_team contributors",
    "website": "https://github.com/whatsapp-team/whatsapp_team",
    "license": "LGPL-3",
    "depends": ["mail", "phone_validation", "crm"],
    "external_dependencies": {
        "python": ["phonenumbers", "requests", "python-dateutil"]
    },
    "data": [
        "security/whatsapp_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron_data.xml",
        "views/whatsapp_account_views.xml",
        "views/whatsapp_conversation_views.xml",
        "views/whatsapp_message_views.xml",
        "views/whatsapp_webhook_event_views.xml",
        "views/whatsapp_template_views.xml",
        "views/res_partner_views.xml",
        "views/crm_lead_views.xml",
        "views/ir_actions_server_views.xml",
        "wizard/whatsapp_sandbox_message_views.xml",
        "wizard/whatsapp_template_send_views.xml",
        "wizard/whatsapp_template_mass_send_views.xml",
        "wizard/whatsapp_reply_views.xml",
        "wizard/whatsapp_open_chat_views.xml",
        "views/whatsapp_menus.xml",
    ],
    "demo": ["demo/whatsapp_demo.xml"],
    "assets": {
        "web.assets_tests": ["whatsapp_team/static/tests/tours/**/*"],
    },
    "application": True,
    "installable": True,
}
