"""The session engine (settings.SESSION_ENGINE): Django's database sessions, each row also holding
its user's id in an indexed column (Django's "Extending database-backed session engines").

Django's own rows hold the user's id only inside their encoded data, so finding a user's sessions
meant reading and decoding every session: at national scale (issue 17: 50,000 responders, 30,000
connected) tens of thousands of rows for each logout, which asks whether another phone of theirs
is still logged in (backend/accounts/sessions.py: has_live_session, session_keys_of).

The model lives here beside its store (models.py imports it, so Django registers it): the model
names its store and the store its model, and apart they would import each other."""

from django.contrib import auth
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.base_session import AbstractBaseSession, BaseSessionManager
from django.db import models


def user_id_in(data) -> int | None:
    """The logged-in user's id in a session's data; None for a session with no login."""
    try:
        return int(data.get(auth.SESSION_KEY))
    except (TypeError, ValueError):
        return None


class UserSessionManager(BaseSessionManager):
    def save(self, session_key, session_dict, expire_date):
        """As Django's: saves the session, or deletes it when it holds no data; and keeps its user's
        id, which Django's would write as empty (it makes the row from the key, data and expiry)."""
        session = self.model(
            session_key=session_key,
            session_data=self.encode(session_dict),
            expire_date=expire_date,
            user_id=user_id_in(session_dict),
        )
        if session_dict:
            session.save()
        else:
            session.delete()
        return session


class UserSession(AbstractBaseSession):
    """A login session, as Django's, with its user's id beside the data: a user's sessions are one
    indexed query. Empty for a session with no login (before logging in, the second factor's)."""

    user_id = models.IntegerField(null=True, db_index=True, editable=False)

    objects = UserSessionManager()

    @classmethod
    def get_session_store_class(cls):
        return SessionStore


class SessionStore(DatabaseSessionStore):
    """Django's database store, writing UserSession rows with their user's id. Named SessionStore
    as Django's is: the class name salts the data's signature (SessionBase.key_salt), so sessions
    written by Django's store still decode (the migration copies them: accounts 0005)."""

    @classmethod
    def get_model_class(cls):
        return UserSession

    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        session.user_id = user_id_in(data)
        return session

    async def acreate_model_instance(self, data):
        session = await super().acreate_model_instance(data)
        session.user_id = user_id_in(data)
        return session
