"""The sessions move to the new engine's table (backend/accounts/session_store.py) with their user's
id, so that deploying it logs nobody out: every unexpired row of django_session is copied, its user
id read from its data. A row whose data does not decode (or holds nothing) is left: it logs nobody in.
django_session itself is left as it was (going back to the old engine finds its sessions there)."""

from django.db import migrations
from django.utils import timezone

BATCH = 1000


def copy_unexpired_sessions(apps, schema_editor):
    # The engine's own store decodes: its name salts the signature as Django's store's does.
    from backend.accounts.session_store import SessionStore, user_id_in

    Session = apps.get_model("sessions", "Session")
    UserSession = apps.get_model("accounts", "UserSession")
    database = schema_editor.connection.alias
    store = SessionStore()
    batch = []
    for session in Session.objects.using(database).filter(expire_date__gt=timezone.now()).iterator(chunk_size=BATCH):
        data = store.decode(session.session_data)
        if not data:
            continue
        batch.append(
            UserSession(
                session_key=session.session_key,
                session_data=session.session_data,
                expire_date=session.expire_date,
                user_id=user_id_in(data),
            )
        )
        if len(batch) == BATCH:
            UserSession.objects.using(database).bulk_create(batch, ignore_conflicts=True)
            batch = []
    UserSession.objects.using(database).bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_usersession"),
        ("sessions", "0001_initial"),
    ]

    operations = [migrations.RunPython(copy_unexpired_sessions, migrations.RunPython.noop)]
