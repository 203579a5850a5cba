"""Write routes of the shell: sign-in, sign-out, the language switch and one's own account."""

from tests.support.access import OK, ROLES, Route, everyone
from tests.support.auth import TEST_PASSWORD

OWN_PASSWORD = "a password of my own"

ROUTES = [
    Route("auth.login", lambda w: "/login",
          data=lambda w: {"username": "nobody", "password": "wrong password"},
          expect={**dict.fromkeys(ROLES, OK), "anonymous": 200}),
    Route("auth.logout", lambda w: "/logout",
          expect=everyone()),
    Route("account.password", lambda w: "/account/password",
          data=lambda w: {"current": TEST_PASSWORD, "password": OWN_PASSWORD,
                          "confirm": OWN_PASSWORD},
          expect=everyone()),
]
