"""Configuration values: organization members add, edit and delete them; end users edit the
end-user-editable ones."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from dataplane import services
from dataplane.forms import ConfigurationForm, ConfigurationSettingsForm, ConfigurationValueForm
from dataplane.models import Configuration
from dataplane.views.pages import attempt, form_page, to_tab, writes
from fastn_console.console import get_for_tenant_or_404, permission_required, tenant_of


def _get_configuration_for_user(request: HttpRequest, config_id: uuid.UUID) -> Configuration:
    configurations = Configuration.objects.all()
    if tenant_of(request).is_customer_restricted:
        configurations = configurations.filter(end_user_editable=True)
    return get_for_tenant_or_404(configurations, id=config_id)


@permission_required("connections.update")
def configuration_create(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID
) -> HttpResponse:
    if tenant_of(request).is_customer_restricted:
        raise PermissionDenied("End users edit existing end-user-editable values only.")
    form = ConfigurationForm(request.POST or None)

    def save() -> HttpResponse:
        services.configuration_add(**writes(request), **form.cleaned_data)
        messages.success(request, f"{form.cleaned_data['key']} added.")
        return to_tab(request, "configuration")

    return form_page(
        request, form, "dataplane/configuration_form.html", save, title="Add configuration"
    )


@permission_required("connections.update")
def configuration_edit(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, config_id: uuid.UUID
) -> HttpResponse:
    configuration = _get_configuration_for_user(request, config_id)
    restricted = tenant_of(request).is_customer_restricted
    form_class = ConfigurationValueForm if restricted else ConfigurationSettingsForm
    form = form_class(request.POST or None, configuration=configuration)

    def save() -> HttpResponse:
        flags = (
            {}
            if restricted
            else {
                "is_secret": form.cleaned_data["is_secret"],
                "end_user_editable": form.cleaned_data["end_user_editable"],
            }
        )
        services.configuration_update(
            **writes(request),
            configuration=configuration,
            value=form.new_value(),
            restricted=restricted,
            **flags,
        )
        messages.success(request, f"{configuration.key} saved.")
        return to_tab(request, "configuration")

    return form_page(
        request,
        form,
        "dataplane/configuration_form.html",
        save,
        configuration=configuration,
        title=f"Edit {configuration.key}",
    )


@require_POST
@permission_required("connections.update")
def configuration_delete(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, config_id: uuid.UUID
) -> HttpResponse:
    if tenant_of(request).is_customer_restricted:
        raise PermissionDenied("End users cannot delete configuration.")
    configuration = _get_configuration_for_user(request, config_id)
    attempt(
        request,
        lambda: services.configuration_delete(**writes(request), configuration=configuration),
        f"{configuration.key} deleted.",
    )
    return to_tab(request, "configuration")
