"""pytest bootstrap.

``whatsapp_team/__init__.py`` imports the Odoo models, but ``whatsapp_team.tools``
must be importable and testable without Odoo. Register the addon folder as a
bare package so ``import whatsapp_team.tools.x`` does not execute the addon's
``__init__``.
"""

import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if "whatsapp_team" not in sys.modules:
    package = types.ModuleType("whatsapp_team")
    package.__path__ = [str(ROOT / "whatsapp_team")]
    sys.modules["whatsapp_team"] = package
