from . import crm_lead
from . import crm_team
from . import crm_team_member
from . import ir_actions_server
from . import mail_notification
from . import phone_blacklist
from . import res_partner
from . import resource_calendar
from . import whatsapp_account
from . import whatsapp_conversation
from . import whatsapp_conversation_sending
from . import whatsapp_conversation_auto_reply
from . import whatsapp_conversation_optout
from . import whatsapp_conversation_team
from . import whatsapp_conversation_crm
from . import whatsapp_conversation_inbox
from . import whatsapp_inbox_viewer
from . import whatsapp_label
from . import whatsapp_message
from . import whatsapp_message_inbound
from . import whatsapp_message_contact
from . import whatsapp_template
from . import whatsapp_template_button
from . import whatsapp_template_variable
from . import whatsapp_webhook_event

# reads the chat's constants: after the chat's own files
from . import res_users
