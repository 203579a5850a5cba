"""Password hashing with argon2id, and the one password policy every way of setting one uses."""

from __future__ import annotations

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from consult_hub.core.i18n import gettext as _

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
# zxcvbn refuses longer input; a longer password is judged by its first 72 characters.
_ZXCVBN_LENGTH = 72
# zxcvbn's 0–4 guessability score: below 2 is "too guessable" (common passwords, a dictionary
# word with digits, keyboard walks such as qwertyuiop).
_MIN_SCORE = 2
# Shorter usernames ("li") would match inside too many good passwords.
_MIN_CONTAINED_USERNAME = 3


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def is_usable_hash(password_hash: str) -> bool:
    """Whether ``password_hash`` is an argon2 hash (demo accounts without a login hold "!…")."""
    try:
        extract_parameters(password_hash)
    except (InvalidHashError, ValueError, TypeError):
        return False
    return True


def verify_password(password_hash: str, password: str) -> bool:
    """Check ``password``; an unusable stored hash costs as much as a real one, and fails.

    Otherwise a failed sign-in would answer at once for accounts that cannot sign in,
    telling a guesser which usernames are worth the effort.
    """
    if not is_usable_hash(password_hash):
        check_nothing(password)
        return False
    return _verify(password_hash, password)


def check_nothing(password: str) -> None:
    """Spend one real password check (for an unknown username): the same time as a real one."""
    global DUMMY_HASH
    if DUMMY_HASH is None:  # made at the first need, not at every process's start (0.1 s)
        DUMMY_HASH = _hasher.hash("not-a-real-password")
    _verify(DUMMY_HASH, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str | None, *, username: str | None = None,
                     name: str | None = None) -> str | None:
    """Why ``password`` may not be used, or None: the policy for create, reset and own change.

    At least MIN_PASSWORD_LENGTH characters, not the username nor containing it, and not one
    zxcvbn (Dropbox's estimator, with its lists of common passwords, names and words) rates
    as easy to guess.
    """
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("密码至少 %(n)s 位", n=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return _("密码不超过 %(n)s 个字符", n=MAX_PASSWORD_LENGTH)
    login = (username or "").strip().casefold()
    lowered = password.casefold()
    if login and (lowered == login
                  or (len(login) >= _MIN_CONTAINED_USERNAME and login in lowered)):
        return _("密码不能是用户名，也不能包含用户名")
    hints = [hint for hint in (username, name) if hint]
    if zxcvbn(password[:_ZXCVBN_LENGTH], user_inputs=hints)["score"] < _MIN_SCORE:
        return _("密码太常见或太容易猜到，请换一个：例如几个不相关的词加上数字")
    return None


# A valid hash to verify against when the username is unknown or its hash unusable, so that
# a failed login takes the same time whether or not the account exists (``check_nothing``).
DUMMY_HASH: str | None = None
