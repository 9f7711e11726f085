"""URL conventions shared by the apps' ``urls.py``."""

from __future__ import annotations

from types import ModuleType

from django.urls import URLPattern, path


def object_actions(prefix: str, views: ModuleType, noun: str, *actions: str) -> list[URLPattern]:
    """The POST or GET pages that act on one object: ``<prefix><action>/``, served by the view
    ``<noun>_<action>`` of ``views`` and named like it (``role_edit`` at ``roles/<id>/edit/``)."""
    return [
        path(f"{prefix}{action}/", getattr(views, f"{noun}_{action}"), name=f"{noun}_{action}")
        for action in actions
    ]
