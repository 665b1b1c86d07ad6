"""The JSON shape of an on-scene event (schema: backend/schemas/onscene_event.schema.json)."""

from backend.checklists.models import OnSceneEvent


def onscene_event(event: OnSceneEvent) -> dict:
    return {
        "id": event.pk,
        "alert_id": event.alert_id,
        "idempotency_key": str(event.idempotency_key),
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat(),
        "data": event.data,
        "received_at": event.received_at.isoformat(),
    }
