"""The roles, as Django groups holding only the permissions each needs.

Firefighters need no model permission: what they may see and do is decided by owning a responder
profile (backend/dispatch/access.py). Coordinators are staff in the Coordinators group. Machine
clients (the ambulance CAD) are non-staff users in the Dispatch systems group with an API token.
"""

from django.contrib.auth.models import Group, Permission

COORDINATORS = "Coordinators"
DISPATCH_SYSTEMS = "Dispatch systems"

ROLE_PERMISSIONS = {
    COORDINATORS: [
        "accounts.view_board",
        "accounts.view_station",
        "accounts.view_responder",
        "accounts.change_responder",
        "dispatch.add_incident",
        "dispatch.view_incident",
        "dispatch.change_incident",
        "dispatch.view_alert",
        "dispatch.dispatch_incident",
        "dispatch.stand_down_incident",
        "dispatch.cancel_incident",
        "delivery.view_delivery",
        "delivery.view_pushdevice",
        "checklists.view_onsceneevent",
    ],
    DISPATCH_SYSTEMS: [
        "dispatch.add_incident",
        "dispatch.view_incident",
        "dispatch.dispatch_incident",
        "dispatch.stand_down_incident",
        "dispatch.cancel_incident",
    ],
}


def ensure_role_groups(**kwargs) -> None:
    """Create or correct the role groups. Runs after every migrate, so the permissions exist."""
    for group_name, permission_names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        permissions = [_permission(name) for name in permission_names]
        group.permissions.set([permission for permission in permissions if permission is not None])


def _permission(dotted: str) -> Permission | None:
    app_label, codename = dotted.split(".")
    return Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
