from . import whatsapp_response_report
from . import whatsapp_workload_report
from . import whatsapp_lead_report
from . import whatsapp_reporting_dashboard
from . import whatsapp_reporting_demo
