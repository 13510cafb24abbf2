from . import test_inbound_types
from . import test_outbound
from . import test_partner_matching
from . import test_sandbox
from . import test_security
from . import test_statuses
from . import test_ui
from . import test_webhook_http
