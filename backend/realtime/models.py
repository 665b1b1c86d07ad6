from django.db import models

from backend.accounts.models import Responder


class ResponderEvent(models.Model):
    """A message a responder must see, stored before it is sent.

    The database is the record; sockets are hints. A client that reconnects sends the highest id
    it has seen and is replayed every later event of its own, in id order. Ids increase in commit
    order for one responder because writers lock the responder's row before inserting (see
    realtime/events.py), so a replay can never skip an event that commits late.
    """

    # Indexed by (responder, id) below, which every read of a responder's events uses.
    responder = models.ForeignKey(Responder, on_delete=models.CASCADE, related_name="events", db_index=False)
    type = models.CharField(max_length=40)
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["responder", "id"])]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk} for {self.responder_id}"


class ReplayHorizon(models.Model):
    """How far the stored events have been pruned (one row): every event with an id at or below
    `pruned_through_id` is gone. A phone whose last seen id is below it may have missed some of
    them, so it is told to reload its state rather than be replayed with a hole in the middle."""

    pruned_through_id = models.BigIntegerField(default=0)
    pruned_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"events pruned through #{self.pruned_through_id}"
