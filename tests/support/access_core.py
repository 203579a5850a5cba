"""Write routes of the shell: sign-in, sign-out, the language switch and one's own account."""

from tests.support.access import LOGIN, OK, Route
from tests.support.auth import TEST_PASSWORD

OWN_PASSWORD = "a password of my own"

ROUTES = [
    Route("auth.login", lambda w: "/login",
          data=lambda w: {"username": "nobody", "password": "wrong password"},
          expect={"anonymous": 200, "admin": OK, "district_admin": OK,
                  "other_district_admin": OK, "coordinator": OK, "other_coordinator": OK}),
    Route("auth.logout", lambda w: "/logout",
          expect={"anonymous": LOGIN, "admin": OK, "district_admin": OK,
                  "other_district_admin": OK, "coordinator": OK, "other_coordinator": OK}),
    Route("account.password", lambda w: "/account/password",
          data=lambda w: {"current": TEST_PASSWORD, "password": OWN_PASSWORD,
                          "confirm": OWN_PASSWORD},
          expect={"anonymous": LOGIN, "admin": OK, "district_admin": OK,
                  "other_district_admin": OK, "coordinator": OK, "other_coordinator": OK}),
]
