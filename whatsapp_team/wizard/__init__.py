from . import whatsapp_sandbox_message
