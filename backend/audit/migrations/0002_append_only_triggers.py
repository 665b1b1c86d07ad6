"""The database itself refuses to change an audit entry, so no code path, admin action or bulk query
in the product can rewrite the trail. Deleting is refused by the model and its queryset instead
(backend/audit/models.py): a database trigger on DELETE would also refuse the test runner's flush
between tests. (A database administrator can still do either; the trail protects against the
application, not against the people who run the database.)"""

from django.db import migrations

SQLITE_FORWARD = [
    """CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_auditentry
       BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END""",
]
SQLITE_BACKWARD = ["DROP TRIGGER audit_entry_no_update"]

POSTGRES_FORWARD = [
    """CREATE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit entries are append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_auditentry
       FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()""",
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER audit_entry_no_update ON audit_auditentry",
    "DROP FUNCTION audit_entry_append_only()",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        )
    ]
