"""What the technical 500 page (shown to superusers in production) may show of settings,
request and local variables: no password, key or DSN.

Django's own filter hides settings by name (KEY, PASS, SECRET, …) but shows a URL's
password (``smtp://user:password@relay``) and lanyard's settings object, a dataclass it
does not look into. This one opens dataclasses field by field and masks the password in
every URL, wherever it sits.
"""

from __future__ import annotations

import dataclasses
import re

from django.views.debug import SafeExceptionReporterFilter

# scheme://user:password@ → scheme://user:********@ (the user part may be empty: redis://:pw@host)
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:@/\s]*):(?P<password>[^@/\s]+)@", re.I)


def mask_url_passwords(text: str, substitute: str = SafeExceptionReporterFilter.cleansed_substitute) -> str:
    return _URL_PASSWORD.sub(lambda match: f"{match['head']}:{substitute}@", text)


class LanyardExceptionReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile("API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|DSN", flags=re.I)

    def cleanse_setting(self, key, value):
        return super().cleanse_setting(key, self._opened(value))

    def cleanse_special_types(self, request, value):
        value = super().cleanse_special_types(request, value)
        if isinstance(value, str) or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
            return self.cleanse_setting("", value)
        return value

    def _opened(self, value):
        """A dataclass as a dict of its fields (so each is cleansed by name), a string with its URL passwords masked."""
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
        if isinstance(value, str):
            return mask_url_passwords(value, self.cleansed_substitute)
        return value
