"""Settings → Advanced → Roles: list, matrix, create, duplicate, edit, delete (SPEC §4, §9)."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import Group
from guardian.models import GroupObjectPermission

from audit.models import AuditLogEntry
from roles import catalog
from roles.models import Role
from roles.selectors import has_permission
from roles.services import membership_role_change, role_group_name
from tests.conftest import ALL_DATABASES
from tests.factories import client_for, make_member, make_user
from tests.roles.helpers import custom_role, in_org, org_role

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

READ_KEYS = ["connectors.read", "workflows.read"]


def _custom_role(world, name="Support", permissions=READ_KEYS) -> Role:
    return custom_role(world, name, permissions)


def _role_count(world) -> int:
    with in_org(world.org):
        return Role.objects.count()


# --- Reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", [catalog.OWNER, catalog.ADMIN, catalog.DEVELOPER, catalog.OPERATOR, catalog.VIEWER]
)
def test_every_organization_wide_member_can_read_the_role_list(shared_world, key) -> None:
    response = shared_world.client(key).get(shared_world.settings_url("roles/"))
    assert response.status_code == 200
    body = response.content.decode()
    for name, count in (
        ("Owner", 39),
        ("Admin", 39),
        ("Developer", 34),
        ("Operator", 18),
        ("Viewer", 7),
        ("End User", 9),
    ):
        assert name in body
        assert f"{count} of 39" in body
    assert body.count("Built in") >= 6


def test_end_user_cannot_open_the_role_list(shared_world) -> None:
    assert (
        shared_world.client(catalog.END_USER).get(shared_world.settings_url("roles/")).status_code
        == 404
    )


def test_role_list_searches_and_says_when_nothing_matches(shared_world) -> None:
    _custom_role(shared_world, "Support desk")
    client = shared_world.client(catalog.VIEWER)
    found = client.get(shared_world.settings_url("roles/"), {"q": "support"})
    assert b"Support desk" in found.content
    assert b"Developer" not in found.content
    assert (
        b"No role matches" in client.get(shared_world.settings_url("roles/"), {"q": "zzz"}).content
    )


def test_role_page_shows_the_matrix_with_descriptions(shared_world) -> None:
    role = shared_world.role(catalog.OPERATOR)
    response = shared_world.client(catalog.VIEWER).get(
        shared_world.settings_url(f"roles/{role.id}/")
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "18 of 39" in body
    for permission in catalog.PERMISSIONS:
        assert permission.key in body
        assert permission.description in body
    assert body.count("Granted</span>") == 18
    assert body.count("Not granted</span>") == 21


def test_manage_buttons_are_shown_only_to_members_who_may_manage_roles(shared_world) -> None:
    custom = _custom_role(shared_world)
    admin_page = (
        shared_world.client(catalog.ADMIN)
        .get(shared_world.settings_url(f"roles/{custom.id}/"))
        .content
    )
    viewer_page = (
        shared_world.client(catalog.VIEWER)
        .get(shared_world.settings_url(f"roles/{custom.id}/"))
        .content
    )
    for label in (b"Duplicate as Custom", b"/edit/", b"/delete/"):
        assert label in admin_page
        assert label not in viewer_page
    assert (
        b"Create Custom Role"
        in shared_world.client(catalog.ADMIN).get(shared_world.settings_url("roles/")).content
    )
    assert (
        b"Create Custom Role"
        not in shared_world.client(catalog.DEVELOPER)
        .get(shared_world.settings_url("roles/"))
        .content
    )


def test_built_in_role_page_offers_no_edit_or_delete(shared_world) -> None:
    role = shared_world.role(catalog.VIEWER)
    body = (
        shared_world.client(catalog.OWNER)
        .get(shared_world.settings_url(f"roles/{role.id}/"))
        .content
    )
    assert b"Duplicate as Custom" in body
    assert b"/edit/" not in body
    assert b"/delete/" not in body


# --- Create ----------------------------------------------------------------------------------


def _create_post(**extra):
    return {
        "name": "Support",
        "description": "Answers tickets",
        "permissions": ["connectors.read", "executions.read"],
        **extra,
    }


def test_admin_can_create_a_custom_role_and_its_grants_follow(shared_world) -> None:
    response = shared_world.client(catalog.ADMIN).post(
        shared_world.settings_url("roles/new/"), _create_post()
    )
    assert response.status_code == 302
    with in_org(shared_world.org):
        role = Role.objects.get(name="Support")
        assert not role.is_system
        assert sorted(role.permissions) == ["connectors.read", "executions.read"]
        entry = AuditLogEntry.objects.get(action="role.create")
    assert entry.actor == shared_world.members[catalog.ADMIN].user
    assert entry.after["permissions"] == ["connectors.read", "executions.read"]
    group = Group.objects.get(name=role_group_name(role))
    assert set(
        GroupObjectPermission.objects.filter(group=group).values_list(
            "permission__codename", flat=True
        )
    ) == {"connectors__read", "executions__read"}


def test_create_form_shows_checkboxes_grouped_by_category(shared_world) -> None:
    body = (
        shared_world.client(catalog.ADMIN)
        .get(shared_world.settings_url("roles/new/"))
        .content.decode()
    )
    assert body.count('type="checkbox" name="permissions"') == 39
    for label, _ in catalog.by_category():
        assert f"> {label}</label></legend>" in body


@pytest.mark.parametrize("key", [catalog.DEVELOPER, catalog.OPERATOR, catalog.VIEWER])
def test_members_without_manage_roles_cannot_create_a_role(shared_world, key) -> None:
    client = shared_world.client(key)
    assert client.get(shared_world.settings_url("roles/new/")).status_code == 403
    assert client.post(shared_world.settings_url("roles/new/"), _create_post()).status_code == 403
    with in_org(shared_world.org):
        assert not Role.objects.filter(name="Support").exists()


def test_duplicate_role_name_is_a_form_error(shared_world) -> None:
    response = shared_world.client(catalog.ADMIN).post(
        shared_world.settings_url("roles/new/"), _create_post(name="developer")
    )
    assert response.status_code == 200
    assert "A role named “developer” already exists." in response.content.decode()
    assert _role_count(shared_world) == 6


def test_unknown_permission_key_is_a_400_and_nothing_is_saved(shared_world) -> None:
    response = shared_world.client(catalog.ADMIN).post(
        shared_world.settings_url("roles/new/"),
        _create_post(permissions=["connectors.read", "roles.godmode"]),
    )
    assert response.status_code == 400
    assert _role_count(shared_world) == 6


def test_form_errors_keep_what_was_entered(shared_world) -> None:
    response = shared_world.client(catalog.ADMIN).post(
        shared_world.settings_url("roles/new/"), _create_post(name="", description="Keeps this")
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Keeps this" in body
    assert 'value="executions.read" checked' in body


def _billing_less_editor(world):
    """A member holding a custom role derived from Admin but without billing.manage."""
    keys = sorted(catalog.ALL_KEYS - {"billing.manage"})
    role = _custom_role(world, "Admin without billing", keys)
    return make_member(world.org, catalog.VIEWER, user=make_user("editor@acme.test")), role


def _give_role(world, membership, role) -> None:
    with in_org(world.org):
        membership_role_change(acting_user=world.org.owner, membership=membership, role=role)


def test_nobody_creates_a_role_with_a_permission_they_lack(shared_world) -> None:
    editor, role = _billing_less_editor(shared_world)
    _give_role(shared_world, editor, role)
    response = client_for(editor.user).post(
        shared_world.settings_url("roles/new/"), _create_post(permissions=["billing.manage"])
    )
    assert response.status_code == 200
    assert "You cannot grant permissions you do not hold: billing.manage." in (
        response.content.decode()
    )
    with in_org(shared_world.org):
        assert not Role.objects.filter(name="Support").exists()


def test_permissions_the_editor_lacks_are_disabled_in_the_form(shared_world) -> None:
    editor, role = _billing_less_editor(shared_world)
    _give_role(shared_world, editor, role)
    body = client_for(editor.user).get(shared_world.settings_url("roles/new/")).content.decode()
    assert 'value="billing.manage"  disabled' in body
    assert 'value="billing.read"  >' in body


# --- Duplicate -------------------------------------------------------------------------------


def test_duplicate_prefills_copy_of_name_and_permissions(shared_world) -> None:
    source = shared_world.role(catalog.OPERATOR)
    body = (
        shared_world.client(catalog.ADMIN)
        .get(shared_world.settings_url(f"roles/{source.id}/duplicate/"))
        .content
    )
    assert b'value="Copy of Operator"' in body
    assert body.decode().count(" checked") == 18


def test_admin_can_duplicate_a_built_in_role(shared_world) -> None:
    source = shared_world.role(catalog.OPERATOR)
    response = shared_world.client(catalog.ADMIN).post(
        shared_world.settings_url(f"roles/{source.id}/duplicate/"),
        {"name": "Copy of Operator", "permissions": sorted(source.permissions)},
    )
    assert response.status_code == 302
    with in_org(shared_world.org):
        copy = Role.objects.get(name="Copy of Operator")
        assert set(copy.permissions) == set(source.permissions)
        assert not copy.is_system
        assert AuditLogEntry.objects.get(action="role.duplicate").after["copied_from"] == "Operator"


def test_duplicate_name_is_numbered_when_copy_exists(shared_world) -> None:
    _custom_role(shared_world, "Copy of Viewer")
    source = shared_world.role(catalog.VIEWER)
    body = (
        shared_world.client(catalog.ADMIN)
        .get(shared_world.settings_url(f"roles/{source.id}/duplicate/"))
        .content
    )
    assert b'value="Copy of Viewer (2)"' in body


def test_duplicate_of_end_user_stays_customer_restricted(shared_world) -> None:
    source = shared_world.role(catalog.END_USER)
    shared_world.client(catalog.OWNER).post(
        shared_world.settings_url(f"roles/{source.id}/duplicate/"),
        {"name": "Portal user", "permissions": ["connectors.read"]},
    )
    with in_org(shared_world.org):
        assert Role.objects.get(name="Portal user").customer_restricted


def test_viewer_cannot_duplicate_a_role(shared_world) -> None:
    source = shared_world.role(catalog.VIEWER)
    client = shared_world.client(catalog.VIEWER)
    assert client.get(shared_world.settings_url(f"roles/{source.id}/duplicate/")).status_code == 403
    response = client.post(
        shared_world.settings_url(f"roles/{source.id}/duplicate/"),
        {"name": "Mine", "permissions": ["connectors.read"]},
    )
    assert response.status_code == 403
    assert _role_count(shared_world) == 6


def test_duplicating_a_role_leaves_out_permissions_the_editor_lacks(shared_world) -> None:
    editor, role = _billing_less_editor(shared_world)
    _give_role(shared_world, editor, role)
    source = shared_world.role(catalog.ADMIN)
    client = client_for(editor.user)
    body = client.get(shared_world.settings_url(f"roles/{source.id}/duplicate/")).content.decode()
    assert "left out of the copy: <code>billing.manage</code>" in body
    refused = client.post(
        shared_world.settings_url(f"roles/{source.id}/duplicate/"),
        {"name": "Copy of Admin", "permissions": sorted(catalog.ALL_KEYS)},
    )
    assert refused.status_code == 200
    assert "billing.manage" in refused.content.decode()
    with in_org(shared_world.org):
        assert not Role.objects.filter(name="Copy of Admin").exists()


# --- Edit ------------------------------------------------------------------------------------


def test_admin_can_edit_a_custom_role_and_grants_follow(shared_world) -> None:
    role = _custom_role(shared_world)
    member = make_member(shared_world.org, catalog.VIEWER)
    _give_role(shared_world, member, role)
    with in_org(shared_world.org):
        assert not has_permission(member, "workflows.execute", shared_world.org)
    response = shared_world.client(catalog.ADMIN).post(
        shared_world.settings_url(f"roles/{role.id}/edit/"),
        {"name": "Support+", "permissions": ["workflows.read", "workflows.execute"]},
    )
    assert response.status_code == 302
    with in_org(shared_world.org):
        role.refresh_from_db()
        assert role.name == "Support+"
        assert sorted(role.permissions) == ["workflows.execute", "workflows.read"]
        assert has_permission(member, "workflows.execute", shared_world.org)
        assert not has_permission(member, "connectors.read", shared_world.org)
        entry = AuditLogEntry.objects.get(action="role.update")
    assert entry.before["permissions"] == READ_KEYS
    assert entry.after["name"] == "Support+"


@pytest.mark.parametrize("key", [catalog.DEVELOPER, catalog.VIEWER])
def test_members_without_manage_roles_cannot_edit_a_role(shared_world, key) -> None:
    role = _custom_role(shared_world)
    client = shared_world.client(key)
    assert client.get(shared_world.settings_url(f"roles/{role.id}/edit/")).status_code == 403
    response = client.post(
        shared_world.settings_url(f"roles/{role.id}/edit/"),
        {"name": "Hijacked", "permissions": sorted(catalog.ALL_KEYS)},
    )
    assert response.status_code == 403
    with in_org(shared_world.org):
        assert Role.objects.get(id=role.id).name == "Support"


def test_built_in_roles_cannot_be_edited(shared_world) -> None:
    role = shared_world.role(catalog.VIEWER)
    response = shared_world.client(catalog.OWNER).post(
        shared_world.settings_url(f"roles/{role.id}/edit/"),
        {"name": "Viewer", "permissions": ["billing.read"]},
    )
    assert response.status_code == 403
    with in_org(shared_world.org):
        assert "billing.read" not in Role.objects.get(id=role.id).permissions


def test_editor_cannot_add_a_permission_they_lack_but_may_keep_or_remove_it(shared_world) -> None:
    editor, editor_role = _billing_less_editor(shared_world)
    _give_role(shared_world, editor, editor_role)
    target = _custom_role(shared_world, "Finance", ["billing.read", "billing.manage"])
    other = _custom_role(shared_world, "Reader", ["billing.read"])
    client = client_for(editor.user)
    refused = client.post(
        shared_world.settings_url(f"roles/{other.id}/edit/"),
        {"name": "Reader", "permissions": ["billing.read", "billing.manage"]},
    )
    assert refused.status_code == 200
    assert "You cannot grant permissions you do not hold: billing.manage." in (
        refused.content.decode()
    )
    kept = client.post(
        shared_world.settings_url(f"roles/{target.id}/edit/"),
        {"name": "Finance shared_world", "permissions": ["billing.read", "billing.manage"]},
    )
    assert kept.status_code == 302
    removed = client.post(
        shared_world.settings_url(f"roles/{target.id}/edit/"),
        {"name": "Finance shared_world", "permissions": ["billing.read"]},
    )
    assert removed.status_code == 302
    with in_org(shared_world.org):
        assert Role.objects.get(id=other.id).permissions == ["billing.read"]
        assert Role.objects.get(id=target.id).permissions == ["billing.read"]


def test_editing_to_a_taken_name_is_a_form_error(shared_world) -> None:
    role = _custom_role(shared_world)
    response = shared_world.client(catalog.ADMIN).post(
        shared_world.settings_url(f"roles/{role.id}/edit/"),
        {"name": "Admin", "permissions": READ_KEYS},
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()


# --- Delete ----------------------------------------------------------------------------------


def test_admin_can_delete_an_unassigned_custom_role_with_its_group(shared_world) -> None:
    role = _custom_role(shared_world)
    group_name = role_group_name(role)
    response = shared_world.client(catalog.ADMIN).post(
        shared_world.settings_url(f"roles/{role.id}/delete/")
    )
    assert response.status_code == 302
    with in_org(shared_world.org):
        assert not Role.objects.filter(id=role.id).exists()
        assert AuditLogEntry.objects.get(action="role.delete").before["name"] == "Support"
    assert not Group.objects.filter(name=group_name).exists()


def test_deleting_an_assigned_role_is_refused_naming_the_members(shared_world) -> None:
    role = _custom_role(shared_world)
    first = make_member(shared_world.org, catalog.VIEWER, user=make_user("ann@acme.test"))
    second = make_member(shared_world.org, catalog.VIEWER, user=make_user("bob@acme.test"))
    _give_role(shared_world, first, role)
    _give_role(shared_world, second, role)
    client = shared_world.client(catalog.ADMIN)
    page = client.get(shared_world.settings_url(f"roles/{role.id}/delete/")).content.decode()
    assert "ann@acme.test" in page and "bob@acme.test" in page
    response = client.post(shared_world.settings_url(f"roles/{role.id}/delete/"))
    assert response.status_code == 409
    assert "Support is still assigned to ann@acme.test, bob@acme.test" in (
        response.content.decode()
    )
    with in_org(shared_world.org):
        assert Role.objects.filter(id=role.id).exists()


@pytest.mark.parametrize("key", [catalog.DEVELOPER, catalog.OPERATOR])
def test_members_without_manage_roles_cannot_delete_a_role(shared_world, key) -> None:
    role = _custom_role(shared_world)
    assert (
        shared_world.client(key)
        .post(shared_world.settings_url(f"roles/{role.id}/delete/"))
        .status_code
        == 403
    )
    with in_org(shared_world.org):
        assert Role.objects.filter(id=role.id).exists()


def test_built_in_roles_cannot_be_deleted(shared_world) -> None:
    role = shared_world.role(catalog.VIEWER)
    assert (
        shared_world.client(catalog.OWNER)
        .post(shared_world.settings_url(f"roles/{role.id}/delete/"))
        .status_code
        == 403
    )


# --- Outsiders -------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "edit/", "duplicate/", "delete/"])
def test_outsider_gets_404_for_every_role_url(shared_world, suffix) -> None:
    role = _custom_role(shared_world)
    assert (
        shared_world.outsider_client()
        .get(shared_world.settings_url(f"roles/{role.id}/{suffix}"))
        .status_code
        == 404
    )
    assert (
        shared_world.outsider_client()
        .post(shared_world.settings_url(f"roles/{role.id}/{suffix}"))
        .status_code
        == 404
    )


@pytest.mark.parametrize("suffix", ["", "edit/", "duplicate/", "delete/"])
def test_another_organizations_role_under_own_slug_is_404(shared_world, suffix) -> None:
    foreign = org_role(shared_world.other_org, "Theirs", READ_KEYS)
    client = shared_world.client(catalog.OWNER)
    assert client.get(shared_world.settings_url(f"roles/{foreign.id}/{suffix}")).status_code == 404
    assert (
        client.post(
            shared_world.settings_url(f"roles/{foreign.id}/{suffix}"),
            {"name": "Mine", "permissions": READ_KEYS},
        ).status_code
        == 404
    )
    with in_org(shared_world.other_org):
        assert Role.objects.get(id=foreign.id).name == "Theirs"


def test_unknown_role_id_is_404(shared_world) -> None:
    assert (
        shared_world.client(catalog.OWNER)
        .get(shared_world.settings_url(f"roles/{uuid.uuid4()}/"))
        .status_code
        == 404
    )
