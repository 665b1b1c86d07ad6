"""Who the logged-in user is to the product: the look-ups every layer above accounts may use."""

from backend.accounts.models import Responder
from backend.errors import NotAllowed


def responder_of(user) -> Responder:
    """The responder profile of a logged-in firefighter, or NotAllowed for anyone else."""
    if not (user and user.is_authenticated and user.is_active):
        raise NotAllowed("Log in as a firefighter to do this.")
    try:
        return user.responder
    except Responder.DoesNotExist:
        raise NotAllowed("Only firefighters with a responder profile can do this.") from None
