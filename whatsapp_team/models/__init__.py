from . import crm_lead
from . import ir_actions_server
from . import res_partner
from . import whatsapp_account
from . import whatsapp_conversation
from . import whatsapp_message
from . import whatsapp_template
from . import whatsapp_webhook_event
