"""One transport per channel. Each sends one job and either returns the service's status or raises
TransportError saying whether trying again could help."""

import datetime
from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    """What a transport needs to send one delivery, copied out of the database at claim time so that
    sending touches no ORM objects."""

    delivery_id: int
    channel: str
    attempts: int
    round: int
    alert_id: int | None  # None for a test of the device (kind "test")
    incident_id: int | None
    alerted_at: datetime.datetime  # for a test, when the check began: a retry never outlives the TTL
    kind: str = "alert"
    incident_status: str = "open"
    stood_down_reason: str = ""
    # The responder was on scene at some time (Alert.on_scene_at): a stand-down push then never says
    # "you are not needed", as they may be doing CPR (docs/hazard-log.md, H04 control 7).
    attended: bool = False
    subscription_id: int | None = None
    endpoint: str = ""
    p256dh: str = ""
    auth: str = ""
    phone_number: str = ""
    receipt_token: str = ""  # for the phone's receipt (backend/delivery/receipts.py); alert and test pushes
    check_id: int | None = None  # the DeviceCheck a test push belongs to (backend/delivery/readiness.py)


class TransportError(Exception):
    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status: int | None = None,
        retry_after: float | None = None,
        gone: bool = False,
    ):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.status = status
        self.retry_after = retry_after
        self.gone = gone  # the subscription no longer exists: forget it


class Transport:
    channel: str

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return None

    async def send(self, job: Job) -> int:
        raise NotImplementedError
