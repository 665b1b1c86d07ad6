"""The roles, as Django groups holding only the permissions each needs.

Firefighters need no model permission: what they may see and do is decided by owning a responder
profile (backend/dispatch/access.py); a crew lead is a firefighter with the crew-lead skill, who
submits the crew's outcome form. Coordinators are staff in the Coordinators group. Welfare leads
(often not coordinators) read crews' welfare check-ins, which coordinators as such may not. Machine
clients (the ambulance CAD) are non-staff users in the Dispatch systems group with an API token.
"""

from django.contrib.auth.models import Group, Permission

COORDINATORS = "Coordinators"
DISPATCH_SYSTEMS = "Dispatch systems"
WELFARE_LEADS = "Welfare leads"
# Approve or withdraw a version of the on-scene checklist (the clinical sign-off, DCB0129/0160):
# membership of this group, not a permission a superuser holds by default (see
# is_clinical_safety_officer).
CLINICAL_SAFETY_OFFICERS = "Clinical safety officers"

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
        "checklists.view_checklistversion",
        "records.view_attendance",
        "records.view_outcome",
        "records.view_cadtimes",
        "records.amend_record",
        "records.view_reports",
        "records.export_reports",
        "records.export_registry",
        # The CAD's times, entered by hand when the CAD link cannot send them.
        "records.record_cad_times",
        "audit.view_auditentry",
        # The imported defibrillators, read-only (backend/places/admin.py).
        "places.view_defibrillator",
    ],
    WELFARE_LEADS: [
        "records.view_welfarecheckin",
    ],
    CLINICAL_SAFETY_OFFICERS: [
        "checklists.view_checklistversion",
        "checklists.approve_checklistversion",
        "audit.view_auditentry",
    ],
    DISPATCH_SYSTEMS: [
        "dispatch.add_incident",
        "dispatch.view_incident",
        "dispatch.dispatch_incident",
        "dispatch.stand_down_incident",
        "dispatch.cancel_incident",
        "records.record_cad_times",
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


def role_of(user) -> str:
    """The role a user acts in, for the audit trail: the most privileged one they hold."""
    if user is None or not user.is_authenticated:
        return "anonymous"
    group_names = getattr(user, "_group_names", None)  # read by the token check with its permissions
    if group_names is None:
        group_names = set(user.groups.values_list("name", flat=True))
    if user.is_superuser:
        return "superuser"
    if CLINICAL_SAFETY_OFFICERS in group_names:
        return "clinical_safety_officer"
    if COORDINATORS in group_names:
        return "coordinator"
    if WELFARE_LEADS in group_names:
        return "welfare_lead"
    if DISPATCH_SYSTEMS in group_names:
        return "dispatch_system"
    responder = getattr(user, "responder", None)  # None when the user has no profile
    if responder is not None:
        return "crew_lead" if "crew_lead" in (responder.skills or []) else "firefighter"
    return "none"


# Members of these groups see other people's data: like staff, they need the second factor and get
# the short staff session, whether or not someone also ticked "staff status" for them.
PRIVILEGED_GROUPS = (COORDINATORS, WELFARE_LEADS, CLINICAL_SAFETY_OFFICERS)


def is_privileged(user) -> bool:
    """Staff, superusers, coordinators and welfare leads: who needs the second factor. Asked by the
    session middleware and again by the API's authentication in one request, so the answer is kept
    on the user object (which lives for one request or one socket)."""
    if user is None or not user.is_authenticated:
        return False
    if not hasattr(user, "_is_privileged"):
        user._is_privileged = bool(
            user.is_staff or user.is_superuser or user.groups.filter(name__in=PRIVILEGED_GROUPS).exists()
        )
    return user._is_privileged


def is_welfare_lead(user) -> bool:
    """Membership of the Welfare leads group, not a permission check: a superuser holds every
    permission, and welfare check-ins are for their author and the welfare leads only."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.groups.filter(name=WELFARE_LEADS).exists()


def is_clinical_safety_officer(user) -> bool:
    """Membership of the Clinical safety officers group, not a permission check: a superuser holds
    every permission, and a clinical sign-off must come from the person the trust named for it."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.groups.filter(name=CLINICAL_SAFETY_OFFICERS).exists()
