from . import whatsapp_sandbox_message
from . import whatsapp_template_send
