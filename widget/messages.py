"""Flash messages that reach the widget inside a partner's frame (SPEC §11 "Embedding").

Django keeps messages in a cookie (falling back to the session); with ``SameSite=Lax`` a browser
does not send it to a frame on another site, so an embedded widget would never say "Connected".
Served over HTTPS, the cookie set by a widget page is ``SameSite=None; Secure`` like the widget's
token cookie (``widget.access``); console pages keep the project's settings. Installed by
``MESSAGE_STORAGE``.
"""

from __future__ import annotations

from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.messages.storage.fallback import FallbackStorage
from django.http.response import HttpResponseBase

WIDGET_PATH = "/widget/"


class EmbeddableMessageStorage(FallbackStorage):
    def update(self, response: HttpResponseBase) -> list[Message] | None:
        unstored = super().update(response)
        cookie = response.cookies.get(CookieStorage.cookie_name)
        if cookie is not None and self.request.is_secure():
            if self.request.path.startswith(WIDGET_PATH):
                cookie["samesite"] = "None"
                cookie["secure"] = True
        return unstored
