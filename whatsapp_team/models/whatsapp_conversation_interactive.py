from odoo import _, models
from odoo.exceptions import UserError

from ..tools import outbound

# what a post may say of its choices (the inbox's "Buttons", the external API)
INTERACTIVE_KEYS = {"buttons", "button", "rows", "sections", "header", "footer"}


# one concern of the model per file, as Odoo's mail spreads res.partner
class WhatsappConversation(models.Model):
    """Buttons and lists in a reply: given with the post (``whatsapp_interactive``)
    or written at the end of its text, as quick replies carry them."""

    _inherit = "whatsapp.conversation"  # pylint: disable=consider-merging-classes-inherited

    def _get_allowed_message_post_params(self):
        # mail's web route passes only these keys on to message_post; a
        # reply quoting a message (parent_id) is checked there to be one of
        # this chat (_whatsapp_clean_post_values)
        return super()._get_allowed_message_post_params() | {
            "whatsapp_interactive",
            "parent_id",
        }

    def _whatsapp_interactive_of_post(self, interactive, text):
        """The buttons or list a post sends, as a checked
        ``tools.outbound.interactive_spec``, or None for a plain message.

        ``interactive`` is what the post gives (``message_post``'s
        ``whatsapp_interactive``: ``{"buttons": [...]}``, or ``{"button":
        …, "rows": [...]}`` or ``"sections"``, with an optional ``header``
        and ``footer``); ``text`` is the message as WhatsApp gets it, whose
        last lines may write the choices (``tools.outbound.split_choices``).
        Raises ``UserError`` when WhatsApp would refuse them."""
        self.ensure_one()
        body, written = outbound.split_choices(text)
        if interactive:
            if written:
                raise UserError(
                    _(
                        "This message has its choices twice: written at the end "
                        "of the text and added as buttons. Keep one of them. "
                        "Nothing was sent."
                    )
                )
            if not isinstance(interactive, dict) or set(interactive) - INTERACTIVE_KEYS:
                raise UserError(
                    _(
                        "The buttons could not be read: give buttons, or a list's "
                        "button with its rows or sections. Nothing was sent."
                    )
                )
            choices = dict(interactive)
            rows = choices.pop("rows", None)
            if rows is not None:
                choices["sections"] = [{"title": "", "rows": rows}]
            return self._whatsapp_interactive_spec(text, choices)
        if written:
            return self._whatsapp_interactive_spec(body, written)
        return None

    def _whatsapp_interactive_spec(self, body, choices):
        """``tools.outbound.interactive_spec(body, **choices)``, refused with
        the reasons, in words, of whatever WhatsApp would refuse."""
        try:
            spec = outbound.interactive_spec(body, **choices)
        except ValueError as error:
            raise UserError(
                _(
                    "The buttons could not be read (%(error)s). Nothing was sent.",
                    error=str(error),
                )
            ) from error
        problems = outbound.interactive_problems(spec)
        if problems:
            raise UserError(
                _(
                    "WhatsApp would refuse this message: %(problems)s. Nothing "
                    "was sent.",
                    problems="; ".join(
                        self._whatsapp_interactive_problem(code, values)
                        for code, values in problems
                    ),
                )
            )
        return spec

    def _whatsapp_interactive_problem(self, code, values):
        """One of ``tools.outbound.interactive_problems`` in words."""
        if not values.get("title", True):
            untitled = {
                "button_title": _("a button has no text"),
                "list_button": _("the list needs the text of the button that opens it"),
                "section_title": _(
                    "each section of a list with several sections needs a title"
                ),
                "row_title": _("a row of the list has no title"),
            }
            if code in untitled:
                return untitled[code]
        texts = {
            "body": _("buttons and lists need a text above them"),
            "body_length": _(
                "with these choices the text takes at most %(limit)s characters "
                "(%(length)s here)"
            ),
            "header_length": _(
                "the header takes at most %(limit)s characters (%(length)s here)"
            ),
            "footer_length": _(
                "the footer takes at most %(limit)s characters (%(length)s here)"
            ),
            "button_count": _(
                "a message takes 1 to %(limit)s buttons (%(count)s here): send a "
                "list for more choices"
            ),
            "button_title": _(
                "the button “%(title)s” has %(length)s characters, WhatsApp "
                "takes at most %(limit)s"
            ),
            "button_twice": _("two buttons say “%(title)s”"),
            "id_length": _(
                "the code of “%(title)s” takes at most %(limit)s characters"
            ),
            "id_twice": _("two choices have the code “%(id)s”"),
            "list_button": _(
                "the list's button “%(title)s” has %(length)s characters, "
                "WhatsApp takes at most %(limit)s"
            ),
            "section_count": _("a list takes 1 to %(limit)s sections (%(count)s here)"),
            "section_title": _(
                "the section “%(title)s” has %(length)s characters, WhatsApp "
                "takes at most %(limit)s"
            ),
            "section_empty": _("the section “%(title)s” has no rows"),
            "row_count": _("a list takes 1 to %(limit)s rows in all (%(count)s here)"),
            "row_title": _(
                "the row “%(title)s” has %(length)s characters, WhatsApp takes "
                "at most %(limit)s"
            ),
            "row_description": _(
                "the description of “%(title)s” has %(length)s characters, "
                "WhatsApp takes at most %(limit)s"
            ),
        }
        return texts.get(code, code) % values
