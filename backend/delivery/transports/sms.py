"""SMS fallback through GOV.UK Notify's Python client (the UK public sector's messaging service).

The text carries no patient details: the template says there is an unanswered alert and gives the
app's link. Notify's client is synchronous, so each send runs in a thread.
"""

import asyncio

import requests
from django.conf import settings
from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient

from backend.delivery.transports import Job, Transport, TransportError

RETRYABLE_STATUSES = {429, 500, 502, 503, 504}


def sms_personalisation(job: Job) -> dict:
    return {"url": f"{settings.PUBLIC_BASE_URL}/#/alerts/{job.alert_id}"}


class NotifySmsTransport(Transport):
    channel = "sms"

    def __init__(self, *, api_key: str | None = None, template_id: str | None = None, base_url: str | None = None):
        self.api_key = api_key or settings.NOTIFY_API_KEY
        self.base_url = base_url or settings.NOTIFY_BASE_URL
        self.client = self._new_client()  # checks the key's format at start-up
        self.template_id = template_id or settings.NOTIFY_SMS_TEMPLATE_ID

    def _new_client(self) -> NotificationsAPIClient:
        return NotificationsAPIClient(self.api_key, base_url=self.base_url, timeout=settings.PUSH_TIMEOUT_SECONDS)

    async def send(self, job: Job) -> int:
        try:
            await asyncio.to_thread(
                # A client per text: the Notify client is not thread-safe, and texts go out at once.
                self._new_client().send_sms_notification,
                phone_number=job.phone_number,
                template_id=self.template_id,
                personalisation=sms_personalisation(job),
                reference=f"delivery-{job.delivery_id}",
            )
        except APIError as exc:
            if exc.response is None:
                # No answer at all (timeout, refused connection): the client reports these as a 503
                # it made up; record what happened instead.
                cause = type(exc.__cause__ or exc).__name__
                raise TransportError(f"Could not reach Notify: {cause}.", permanent=False) from None
            status = exc.status_code
            raise TransportError(
                f"Notify refused the text ({status}): {exc.message}"[:250],
                permanent=status not in RETRYABLE_STATUSES,
                status=status,
            ) from None
        except requests.RequestException as exc:
            raise TransportError(f"Could not reach Notify: {type(exc).__name__}.", permanent=False) from None
        return 201
