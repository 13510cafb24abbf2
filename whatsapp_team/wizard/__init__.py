from . import whatsapp_sandbox_message
from . import whatsapp_template_send
from . import whatsapp_open_chat
from . import whatsapp_reply
from . import whatsapp_template_mass_send
from . import whatsapp_snooze
from . import whatsapp_transfer
from . import whatsapp_label_assign
