"""What dispatch tells the apps built on top of it, without depending on them.

alerts_timed: sent inside the transaction, with `alerts` (a list of Alert, their rows locked by
the transaction or just made in it), when alerts are made or one of the times the reports count
(accepted_at, on_scene_at) is set; `created` is True when they were just made (with their incident
loaded, and nothing else recorded about them yet). The reports' summary of each
alert (backend.records.summaries) is kept up by it, in the same transaction, so it is never behind.
"""

from django.dispatch import Signal

alerts_timed = Signal()
