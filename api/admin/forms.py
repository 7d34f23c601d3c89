"""The WTForms forms of the Admin pages.

Their fields carry the values and the CSRF token; the rules on the values
are the API's marshmallow schemas, applied in the page modules, so the
pages and the API accept and reject the same input.
"""

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired
from wtforms.widgets import CheckboxInput, ListWidget


class LoginForm(FlaskForm):
    """An operator token from WEBHOOKS_API_TOKENS."""

    token = PasswordField(
        "Operator token",
        validators=[InputRequired("Enter your operator token.")],
        render_kw={"autocomplete": "current-password", "autofocus": True},
    )


class ActionForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change something."""


class EventCheckboxes(SelectMultipleField):
    """A multi-select shown as one checkbox per event."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class WebhookForm(FlaskForm):
    """The fields of a webhook an operator can set."""

    name = StringField("Name")
    description = TextAreaField("Description", render_kw={"rows": 2})
    url = StringField(
        "URL",
        render_kw={"inputmode": "url", "placeholder": "https://example.com/webhooks"},
    )
    # The schema names unknown codes; WTForms' own choice check would not.
    event_codes = EventCheckboxes("Events", validate_choice=False)
    enabled = BooleanField("Enabled")

    # Keys of the API's webhook schema and the form fields behind them.
    SCHEMA_KEYS = {  # noqa: RUF012 (class constant, not a form field)
        "name": "name",
        "description": "description",
        "url": "url",
        "eventCodes": "event_codes",
        "enabled": "enabled",
    }

    def schema_input(self) -> dict[str, Any]:
        """Return the form's values as the API's webhook schema reads them."""
        description = self.description.data or ""
        return {
            "name": self.name.data or "",
            "description": description if description.strip() else None,
            "url": (self.url.data or "").strip(),
            "eventCodes": list(self.event_codes.data or []),
            "enabled": bool(self.enabled.data),
        }

    def add_schema_errors(self, messages: dict[str, Any]) -> None:
        """Show the schema's messages under the fields they are about."""
        for key, field_messages in messages.items():
            field_name = self.SCHEMA_KEYS.get(key)
            if field_name is None:
                continue
            self[field_name].errors = list(flatten_messages(field_messages))


class WebhookTestForm(FlaskForm):
    """The event and payload of a test request."""

    event_code = SelectField("Event")
    payload = TextAreaField("Payload (JSON)", render_kw={"rows": 14})


def flatten_messages(messages: Any) -> list[str]:
    """Return marshmallow's nested error messages as one flat list."""
    if isinstance(messages, str):
        return [messages]
    if isinstance(messages, dict):
        return [text for value in messages.values() for text in flatten_messages(value)]
    return [text for value in messages for text in flatten_messages(value)]
