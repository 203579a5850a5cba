"""Write routes of the shell: sign-in, sign-out and the language switch."""

from tests.access import LOGIN, OK, Route

ROUTES = [
    Route("auth.login", lambda w: "/login",
          data=lambda w: {"username": "nobody", "password": "wrong password"},
          expect={"anonymous": 200, "admin": OK, "district_admin": OK,
                  "other_district_admin": OK, "coordinator": OK, "other_coordinator": OK}),
    Route("auth.logout", lambda w: "/logout",
          expect={"anonymous": LOGIN, "admin": OK, "district_admin": OK,
                  "other_district_admin": OK, "coordinator": OK, "other_coordinator": OK}),
]
