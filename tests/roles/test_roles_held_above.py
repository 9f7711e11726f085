"""Nobody edits or deletes a role held by someone above them (SPEC §4's "above" rule, issue 13
item 8): ``organization.manage_roles`` used to let an editor strip a custom role its holders
needed, demoting people whose permissions the editor does not hold."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from roles import catalog
from roles.models import Membership, Role
from roles.selectors import has_permission
from roles.services import role_delete, role_update
from tests.conftest import ALL_DATABASES
from tests.factories import client_for
from tests.roles.helpers import custom_role, in_org, member_holding
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

EDITOR_KEYS = {catalog.MANAGE_ROLES, "connectors.read", "workflows.read"}
POWER_KEYS = {"connectors.read", "billing.read", "billing.manage", catalog.MANAGE_SETTINGS}


def _editor(world: World) -> Membership:
    return member_holding(world, custom_role(world, "Role editor", EDITOR_KEYS), "editor@acme.test")


def _power_role_held(world: World) -> tuple[Role, Membership]:
    power = custom_role(world, "Finance lead", POWER_KEYS)
    return power, member_holding(world, power, "finance@acme.test")


def _strip_post(role: Role) -> dict[str, object]:
    return {"name": role.name, "permissions": ["connectors.read"]}


def test_an_editor_cannot_strip_a_role_held_by_someone_above_them(shared_world) -> None:
    editor = _editor(shared_world)
    power, holder = _power_role_held(shared_world)
    client = client_for(editor.user)
    assert client.get(shared_world.settings_url(f"roles/{power.id}/edit/")).status_code == 403
    refused = client.post(shared_world.settings_url(f"roles/{power.id}/edit/"), _strip_post(power))
    assert refused.status_code == 403
    with in_org(shared_world.org):
        assert set(Role.objects.get(id=power.id).permissions) == POWER_KEYS
        assert has_permission(holder, "billing.manage", shared_world.org)


def test_the_service_refuses_it_too(shared_world) -> None:
    editor = _editor(shared_world)
    power, _ = _power_role_held(shared_world)
    with in_org(shared_world.org):
        with pytest.raises(ValidationError, match="held by someone above you"):
            role_update(acting_user=editor.user, role=power, name=power.name, permissions=[])
        with pytest.raises(ValidationError, match="held by someone above you"):
            role_delete(acting_user=editor.user, role=power)
        assert set(Role.objects.get(id=power.id).permissions) == POWER_KEYS


def test_an_editor_cannot_delete_a_role_held_by_someone_above_them(shared_world) -> None:
    editor = _editor(shared_world)
    power, _ = _power_role_held(shared_world)
    client = client_for(editor.user)
    assert client.get(shared_world.settings_url(f"roles/{power.id}/delete/")).status_code == 403
    assert client.post(shared_world.settings_url(f"roles/{power.id}/delete/")).status_code == 403
    with in_org(shared_world.org):
        assert Role.objects.filter(id=power.id).exists()


def test_edit_and_delete_are_not_offered_for_such_a_role(shared_world) -> None:
    editor = _editor(shared_world)
    power, _ = _power_role_held(shared_world)
    client = client_for(editor.user)
    edit_url = f"/o/{shared_world.org.slug}/settings/roles/{power.id}/edit/"
    delete_url = f"/o/{shared_world.org.slug}/settings/roles/{power.id}/delete/"
    detail = client.get(shared_world.settings_url(f"roles/{power.id}/")).content.decode()
    assert edit_url not in detail and delete_url not in detail
    assert edit_url not in client.get(shared_world.settings_url("roles/")).content.decode()


def test_a_role_held_only_by_people_at_or_below_the_editor_stays_editable(shared_world) -> None:
    editor = _editor(shared_world)
    reader = custom_role(shared_world, "Reader", {"connectors.read", "workflows.read"})
    holder = member_holding(shared_world, reader, "reader@acme.test")
    client = client_for(editor.user)
    detail = client.get(shared_world.settings_url(f"roles/{reader.id}/")).content.decode()
    assert f"/roles/{reader.id}/edit/" in detail
    saved = client.post(shared_world.settings_url(f"roles/{reader.id}/edit/"), _strip_post(reader))
    assert saved.status_code == 302
    with in_org(shared_world.org):
        assert Role.objects.get(id=reader.id).permissions == ["connectors.read"]
        assert not has_permission(holder, "workflows.read", shared_world.org)


def test_an_unassigned_role_above_the_editor_may_still_be_trimmed(shared_world) -> None:
    """Nobody holds it, so nobody is demoted (the existing rule: remove what you lack)."""
    editor = _editor(shared_world)
    power = custom_role(shared_world, "Finance lead", POWER_KEYS)
    saved = client_for(editor.user).post(
        shared_world.settings_url(f"roles/{power.id}/edit/"), _strip_post(power)
    )
    assert saved.status_code == 302
    with in_org(shared_world.org):
        assert Role.objects.get(id=power.id).permissions == ["connectors.read"]


def test_a_role_the_owner_holds_is_above_everyone(shared_world) -> None:
    """Even a role no wider than the editor's is out of reach while the Owner holds it."""
    admin = shared_world.members[catalog.ADMIN]
    modest = custom_role(shared_world, "Modest", {"connectors.read"})
    owner = shared_world.members[catalog.OWNER]
    with in_org(shared_world.org):
        # Only the transfer service sets the Owner's role; this test sets it directly to build
        # the state (an Owner on a custom role) that the rule must cover.
        Membership.objects.filter(id=owner.id).update(role=modest)
        with pytest.raises(ValidationError, match="held by someone above you"):
            role_update(acting_user=admin.user, role=modest, name="Modest", permissions=[])
