"""Settings, read from the environment."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

# The checkout: holds templates/, migrations/ and the default instance/ folder.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SECRET_KEY = "dev-only-change-me"
# The development server's address: SITE_URL in debug mode and tests when none is set.
DEFAULT_SITE_URL = "http://127.0.0.1:5000"


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _ints(name: str, default: str) -> list[int]:
    raw = os.environ.get(name, default)
    try:
        return sorted({int(part) for part in raw.split(",") if part.strip()})
    except ValueError:
        raise ValueError(f"{name} must be comma-separated whole numbers, not {raw!r}") from None


def _names(name: str) -> list[str]:
    """A comma-separated list of names; empty when unset."""
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


def _limit(name: str, default: str) -> str:
    """A rate limit in the ``limits`` syntax ("10 per 15 minutes;50 per day"), checked now:
    a typo must stop the start, not quietly switch the limit off."""
    from limits import parse_many

    raw = os.environ.get(name, default)
    try:
        parse_many(raw)
    except ValueError:
        raise ValueError(f"{name} must be a rate limit such as '10 per 15 minutes', "
                         f"not {raw!r}") from None
    return raw


def _check_tile_urls(raw: str, key: str, subdomains: list[str]) -> None:
    """A tile template that cannot work stops the start (as a rate-limit typo does) instead of
    hiding every map without saying why."""
    for template in raw.split():
        if not template.lower().startswith(("https://", "http://")):
            raise ValueError(f"MAP_TILE_URL must be http(s) addresses, not {template!r}")
        missing = [name for name in ("{z}", "{x}", "{y}") if name not in template]
        if missing:
            raise ValueError(f"MAP_TILE_URL {template!r} lacks {', '.join(missing)}")
        if "{s}" in template and not subdomains:
            raise ValueError("MAP_TILE_URL uses {s}: set MAP_TILE_SUBDOMAINS (e.g. 0,1,2,3)")
        if "{key}" in template and not key:
            raise ValueError("MAP_TILE_URL uses {key}: set MAP_TILE_KEY")


class Config:
    """Every setting the application reads, each from an environment variable."""

    def __init__(self) -> None:
        self.INSTANCE_PATH = os.environ.get("INSTANCE_PATH", str(PROJECT_ROOT / "instance"))
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or DEFAULT_SECRET_KEY
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
            os.environ.get("DATABASE_URL")
            or f"sqlite:///{Path(self.INSTANCE_PATH) / 'consult_hub.db'}"
        )
        self.SQLALCHEMY_ENGINE_OPTIONS: dict[str, object] = {}
        if not self.SQLALCHEMY_DATABASE_URI.startswith("sqlite"):
            # A server restarts and drops connections: each is tried when taken from the pool.
            # A SQLite file cannot drop one; trying cost a query on every request.
            self.SQLALCHEMY_ENGINE_OPTIONS["pool_pre_ping"] = True
        if self.SQLALCHEMY_DATABASE_URI.startswith("postgresql"):
            # Short queries only: PostgreSQL's JIT spent 40 ms compiling a 2 ms tally query.
            self.SQLALCHEMY_ENGINE_OPTIONS["connect_args"] = {"options": "-c jit=off"}
        self.TIMEZONE = os.environ.get("TIMEZONE", "Asia/Shanghai")
        self.BABEL_DEFAULT_LOCALE = "zh"
        self.BABEL_DEFAULT_TIMEZONE = self.TIMEZONE
        self.LANGUAGES = ["zh", "en"]
        # Prefix of public problem references, e.g. WH24-00123.
        self.CITY_CODE = os.environ.get("CITY_CODE", "WH")
        self.CITY_NAME = os.environ.get("CITY_NAME", "武汉市")
        # The city's name on English pages (another city without it: its Chinese name).
        self.CITY_NAME_EN = os.environ.get("CITY_NAME_EN") or (
            self.CITY_NAME if "CITY_NAME" in os.environ else "Wuhan")
        # The public address: every absolute link (feeds, API, receipts, emails) is built on it,
        # never on the request's Host header. Required outside debug mode and tests.
        self.SITE_URL = (os.environ.get("SITE_URL") or DEFAULT_SITE_URL).rstrip("/")
        # Host names requests may name (Flask answers any other with 400); unset: SITE_URL's
        # host (plus localhost for probes on the machine) in production, any in development.
        self.TRUSTED_HOSTS: list[str] | None = _names("TRUSTED_HOSTS") or None
        # Outgoing email: reminders are emailed only when MAIL_SERVER is set.
        self.MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
        self.MAIL_PORT = int(os.environ.get("MAIL_PORT", 25))
        self.MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
        self.MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
        self.MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)  # STARTTLS
        self.MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
        self.MAIL_FROM = os.environ.get("MAIL_FROM", "consult-hub@localhost")
        self.MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", 20))
        self.MAIL_MAX_ATTEMPTS = int(os.environ.get("MAIL_MAX_ATTEMPTS", 6))
        # Text messages to residents who ask for them (notifications/sms.py): "log" writes
        # them to the log, "off" queues none, "module:Class" names a provider's adapter.
        self.SMS_SENDER = os.environ.get("SMS_SENDER", "log")
        self.SMS_MAX_ATTEMPTS = int(os.environ.get("SMS_MAX_ATTEMPTS", 6))
        # What residents are told to expect (tracking page): a submission is reviewed (受理)
        # within this many working days.
        self.REVIEW_WORKING_DAYS = int(os.environ.get("REVIEW_WORKING_DAYS", 3))
        # Photos a resident may send with a problem.
        self.SUBMISSION_MAX_PHOTOS = int(os.environ.get("SUBMISSION_MAX_PHOTOS", 3))
        # Reminder offsets (comma-separated): hours before an event; days after its end
        # while minutes are missing; days before a problem's due date.
        self.EVENT_REMINDER_HOURS = _ints("EVENT_REMINDER_HOURS", "72,24")
        self.MINUTES_REMINDER_DAYS = _ints("MINUTES_REMINDER_DAYS", "2,7")
        self.DUE_SOON_DAYS = int(os.environ.get("DUE_SOON_DAYS", 3))
        self.ESCALATE_AFTER_DAYS = int(os.environ.get("ESCALATE_AFTER_DAYS", 7))
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        # "Keep me signed in" lasts this long; signing out ends it on every device.
        self.REMEMBER_COOKIE_DAYS = int(os.environ.get("REMEMBER_COOKIE_DAYS", 14))
        self.REMEMBER_COOKIE_DURATION = timedelta(days=self.REMEMBER_COOKIE_DAYS)
        # Failed sign-ins allowed per account and per client address (limits syntax, ";" for
        # several) before /login answers 429; counted in RATELIMIT_STORAGE_URI.
        self.LOGIN_ACCOUNT_LIMIT = _limit("LOGIN_ACCOUNT_LIMIT", "10 per 15 minutes")
        self.LOGIN_ADDRESS_LIMIT = _limit("LOGIN_ADDRESS_LIMIT", "30 per hour")
        # API tokens expire this many days after they are made.
        self.API_TOKEN_DAYS = int(os.environ.get("API_TOKEN_DAYS", 180))
        self.WTF_CSRF_TIME_LIMIT = None  # a long form typed on a phone must not expire
        self.MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 16 * 1024 * 1024))
        self.PER_PAGE = 30
        # Event photos live outside static/ and are served through a view that checks access.
        self.UPLOAD_FOLDER = os.environ.get(
            "UPLOAD_FOLDER", str(Path(self.INSTANCE_PATH) / "uploads"))
        self.MAX_PHOTO_BYTES = int(os.environ.get("MAX_PHOTO_BYTES", 8 * 1024 * 1024))
        # Photos are stored with their long edge at most this many pixels (a 4,000 × 3,000
        # phone photo becomes 2,560 × 1,920: sharp on any screen, a fifth of the bytes); a
        # photo whose header claims more than MAX_PHOTO_PIXELS is refused before decoding.
        self.PHOTO_MAX_EDGE = int(os.environ.get("PHOTO_MAX_EDGE", 2560))
        self.MAX_PHOTO_PIXELS = int(os.environ.get("MAX_PHOTO_PIXELS", 50_000_000))
        # Spreadsheet imports stop reading at this many data rows and refuse the file: a
        # 200,000-row sheet took a worker past gunicorn's 30 s timeout (core/sheets.py).
        self.IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", 20_000))
        # Flask-Limiter: in-memory by default (one process); a Redis URI (redis://…) wherever
        # several processes serve: the app refuses to start under several gunicorn workers
        # with memory:// unless RATELIMIT_PER_WORKER_OK accepts limits counted per worker.
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_PER_WORKER_OK = _bool("RATELIMIT_PER_WORKER_OK", False)
        # Prefix of the limit counters' keys, for several sites sharing one Redis.
        self.RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "consult_hub")
        self.RATELIMIT_HEADERS_ENABLED = True
        self.SUBMISSION_RATE_LIMIT = os.environ.get("SUBMISSION_RATE_LIMIT",
                                                    "5 per hour;20 per day")
        self.TRACKING_RATE_LIMIT = os.environ.get("TRACKING_RATE_LIMIT", "10 per hour;30 per day")
        # Failed look-ups of one receipt code, from all addresses together: four phone digits
        # cannot be guessed by spreading the tries over many addresses.
        self.TRACKING_REFERENCE_RATE_LIMIT = _limit(
            "TRACKING_REFERENCE_RATE_LIMIT", "10 per hour;20 per day")
        self.API_READ_RATE_LIMIT = os.environ.get("API_READ_RATE_LIMIT", "600 per minute")
        self.API_WRITE_RATE_LIMIT = os.environ.get("API_WRITE_RATE_LIMIT", "120 per minute")
        # Open311 submissions with an integrating system's API key: the limit a new key gets
        # (each key keeps its own, set when issued), counted per key instead of per address.
        self.OPEN311_KEY_RATE_LIMIT = _limit("OPEN311_KEY_RATE_LIMIT", "600 per hour")
        # Reverse proxies in front of the app (each sets X-Forwarded-For/-Proto); 0 = none.
        # Rate limits and audit IPs need the real client address behind a proxy.
        self.TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", 0))
        # The footer of a government site (templates/base.html): the organiser (主办单位;
        # unset: the city's CPPCC), a contact line (unset: go to a platform or write online),
        # and the registration lines, each shown only when set: 网站标识码 (the government
        # site's code), ICP备案 (links to beian.miit.gov.cn) and 公安备案 (to beian.gov.cn).
        self.SITE_ORGANISER = os.environ.get("SITE_ORGANISER", "").strip()
        self.SITE_CONTACT = os.environ.get("SITE_CONTACT", "").strip()
        self.SITE_ID_CODE = os.environ.get("SITE_ID_CODE", "").strip()
        self.SITE_ICP_NUMBER = os.environ.get("SITE_ICP_NUMBER", "").strip()
        self.SITE_PSB_NUMBER = os.environ.get("SITE_PSB_NUMBER", "").strip()
        # Maps on the platform and outcome pages (public/maps.py): off unless MAP_TILE_URL is
        # set. The server fetches a few tiles from that provider, composes one image, keeps it
        # in INSTANCE_PATH/maps and serves it itself: a visitor's browser never asks a third
        # party. MAP_TILE_URL: one tile template, or several separated by spaces (layers drawn
        # in order: 天地图's vec_w, then its labels cva_w), with {z} {x} {y}, {s} (one of
        # MAP_TILE_SUBDOMAINS) and {key} (MAP_TILE_KEY); http(s) only. MAP_ATTRIBUTION is
        # printed under each map (the provider and its 审图号).
        self.MAP_TILE_URL = " ".join(os.environ.get("MAP_TILE_URL", "").split())
        self.MAP_TILE_KEY = os.environ.get("MAP_TILE_KEY", "").strip()
        self.MAP_TILE_SUBDOMAINS = _names("MAP_TILE_SUBDOMAINS")
        _check_tile_urls(self.MAP_TILE_URL, self.MAP_TILE_KEY, self.MAP_TILE_SUBDOMAINS)
        self.MAP_ATTRIBUTION = os.environ.get("MAP_ATTRIBUTION", "").strip()
        self.MAP_ZOOM = int(os.environ.get("MAP_ZOOM", 16))
        self.MAP_FOLDER = os.environ.get("MAP_FOLDER", str(Path(self.INSTANCE_PATH) / "maps"))
        # Seconds allowed for all of one map's tiles; a slower or failing provider hides the
        # map, and it is not asked again for that map for MAP_RETRY_SECONDS.
        self.MAP_FETCH_TIMEOUT = float(os.environ.get("MAP_FETCH_TIMEOUT", 4))
        self.MAP_RETRY_SECONDS = float(os.environ.get("MAP_RETRY_SECONDS", 900))
        # New maps composed per hour by one process (each asks the provider for up to 6 tiles
        # a layer): a crawler walking every platform must not spend the key's daily quota.
        self.MAP_BUILDS_PER_HOUR = int(os.environ.get("MAP_BUILDS_PER_HOUR", 200))
        # Public pages for anonymous visitors are kept in memory this long (0 = off); another
        # process's write shows within PAGE_CACHE_RECHECK_SECONDS (core/pagecache.py).
        self.PAGE_CACHE_SECONDS = float(os.environ.get("PAGE_CACHE_SECONDS", 60))
        self.PAGE_CACHE_RECHECK_SECONDS = float(os.environ.get("PAGE_CACHE_RECHECK_SECONDS", 1))
        # Reports read the scheduler's count of the current month (every 10 min) while it is
        # younger than this; older (scheduler down), they count the month themselves.
        self.TALLY_LIVE_MAX_AGE_MINUTES = int(os.environ.get("TALLY_LIVE_MAX_AGE_MINUTES", 15))
        # The scheduler counts as stopped when no job has finished for this long (its email
        # job runs every minute): /healthz answers 503 and the staff dashboard warns.
        self.SCHEDULER_STALE_MINUTES = float(os.environ.get("SCHEDULER_STALE_MINUTES", 15))
        # A platform with no held event for this many days counts as inactive (the dashboards,
        # the monthly digest to district and city staff). The default follows the programme's
        # pace: about 1.2 events per platform a year, a mean gap of about 300 days, so 90 days
        # flagged two platforms in three; a year flags the ones that held nothing in the last
        # 12 months (docs/design.md, "Reminders and tallies").
        self.INACTIVE_DAYS = int(os.environ.get("INACTIVE_DAYS", 365))
        if self.INACTIVE_DAYS < 1:
            raise ValueError(f"INACTIVE_DAYS must be a whole number of days, 1 or more, "
                             f"not {self.INACTIVE_DAYS}")
        # Residents' contact details (name, phone; phone and ID numbers in their own words)
        # are erased this many months after their problem closes (issues/retention.py, daily);
        # the privacy notice (/privacy) states it.
        self.CONTACT_RETENTION_MONTHS = int(os.environ.get("CONTACT_RETENTION_MONTHS", 12))
        if self.CONTACT_RETENTION_MONTHS < 1:
            raise ValueError("CONTACT_RETENTION_MONTHS must be a whole number of months, 1 or "
                             f"more, not {self.CONTACT_RETENTION_MONTHS}")


def normalise_database_url(url: str) -> str:
    """Accept the ``postgres://`` and ``postgresql://`` spellings; use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
