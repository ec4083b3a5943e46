"""The callback-data grammar: every inline button's data is built, matched and read here.

Each kind of button is one ``Callback``: a fixed prefix and the shape of each field, so the
string a button carries, the pattern its handler is registered with and the parsing of a press
can never drift apart. Data is at most 64 bytes (the Bot API's limit): ``build`` refuses more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_BYTES = 64

_TOKEN = r"[A-Za-z0-9_-]{1,32}"
_ID = r"\d{1,12}"


@dataclass(frozen=True)
class Callback:
    """``Callback("bc:f", "cl|sec|size")`` builds ``bc:f:cl``, matches ``^bc:f:(cl|sec|size)$``
    and parses ``bc:f:cl`` back into ``("cl",)``."""

    prefix: str
    fields: tuple[str, ...] = ()
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __init__(self, prefix: str, *fields: str) -> None:
        object.__setattr__(self, "prefix", prefix)
        object.__setattr__(self, "fields", fields)
        object.__setattr__(self, "_regex", re.compile(self.pattern))

    @property
    def pattern(self) -> str:
        """The regular expression a CallbackQueryHandler is registered with."""
        return "^" + re.escape(self.prefix) + "".join(f":({f})" for f in self.fields) + "$"

    def build(self, *values: object) -> str:
        if len(values) != len(self.fields):
            raise ValueError(f"{self.prefix} takes {len(self.fields)} values, not {len(values)}")
        data = ":".join([self.prefix, *map(str, values)])
        if not self._regex.fullmatch(data):
            raise ValueError(f"{data!r} does not fit {self.pattern}")
        if len(data.encode("utf-8")) > MAX_BYTES:
            raise ValueError(f"{data!r} is longer than {MAX_BYTES} bytes")
        return data

    def parse(self, data: str | None) -> tuple[str, ...]:
        """The fields of a pressed button; ValueError if the data is not this button's."""
        match = self._regex.fullmatch(data or "")
        if match is None:
            raise ValueError(f"{data!r} is not {self.pattern}")
        return match.groups()

    def pattern_of(self, *values: object) -> str:
        """The pattern matching exactly the button ``build(*values)`` makes."""
        return "^" + re.escape(self.build(*values)) + "$"

    def parse_int(self, data: str | None) -> int:
        """The one numeric field of a pressed button."""
        (value,) = self.parse(data)
        return int(value)


def starts_with(prefix: str) -> str:
    """A pattern for every button whose data starts with ``prefix:`` (fallbacks only)."""
    return "^" + re.escape(prefix) + ":"


# -- everyone ---------------------------------------------------------------------------------
MENU = Callback("m:menu")
LANGUAGE = Callback("lang", "fa|en")
MENU_PREFIX = "m"

# -- firm owners --------------------------------------------------------------------------------
REGISTER = Callback("m:register")
PROFILE = Callback("m:profile")
ASSESS = Callback("m:assess")
MY_RANK = Callback("m:myrank")
SETTINGS = Callback("m:settings")
#: The role sections of the main menu: a command pressed instead of typed (each handled by the
#: command's own module, behind the command's own role guard).
MANAGER_TASKS = ("dashboard", "broadcast", "broadcasts", "export", "myestates", "onboard")
ADMIN_TASKS = ("rounds", "stats", "top", "exportall")
TASK = Callback("m:do", "|".join(MANAGER_TASKS + ADMIN_TASKS))
EXPORT_ANSWERS = Callback("x:ans")
SET_MUTE = Callback("set:mute", "[01]")
SET_LANGUAGE = Callback("set:lang")
REG_PROVINCE = Callback("reg:prov", _ID)
REG_ESTATE = Callback("reg:est", _ID)
REG_ESTATE_PAGE = Callback("reg:estp", r"\d{1,6}")
REG_ESTATE_SEARCH = Callback("reg:ests")
REG_CLUSTER = Callback("reg:cl", _ID)
REG_SECTOR = Callback("reg:sec", "[A-Z]")
REG_CONSENT = Callback("reg:consent", "[01]")
REG_EDIT = Callback("reg:edit", "[A-Z_]{1,30}")
REG_EDIT_PROVINCE = Callback("reg:edit:PROVINCE")
REG_EDIT_ESTATE = Callback("reg:edit:ESTATE")
REG_CONFIRM = Callback("reg:confirm")
REG_CONFIRM_CONSENT = Callback("reg:ok", "[01]")  # confirm, with the consent to be named (1) or not (0)
REG_SOLE = Callback("reg:sole")  # no legal-entity ID: the owner's national code and the licence instead
REG_LEGAL = Callback("reg:legal")  # back to the 11-digit national ID
REG_ESTATE_UNLISTED = Callback("reg:estnew")  # «my estate is not listed»
REG_CLAIM = Callback("reg:claim", r"\d{10,11}")  # a national ID (or national code) another account registered
REG_CLAIM_LICENCE = Callback("reg:claiml", r"[A-Z0-9/-]{3,30}")  # a licence number another account registered
REG_PREFIX = "reg"
QUESTION = Callback("q", _ID, r"[A-Za-z0-9_]{1,16}", r"[a-z][A-Za-z0-9_.-]{0,40}")  # op: o.OPTION, t.OPTION, done, back…
QUESTION_EDIT = Callback("q", _ID, r"[A-Za-z0-9_]{1,16}", "edit")
ASSESS_REOPEN = Callback("q:reopen")
PRIVACY_DATA = Callback("priv:data")
PRIVACY_DELETE = Callback("priv:delete")
PRIVACY_CONFIRM_DELETE = Callback("priv:del", _TOKEN)
PRIVACY_KEEP = Callback("priv:keep")

# -- estate managers ----------------------------------------------------------------------------
DASHBOARD = Callback("dash", _ID)
DASHBOARD_ALL = Callback("dash:all")
NUDGE = Callback("nudge", _ID)
NUDGE_ALL = Callback("nudge:all")
EXPORT = Callback("exp", _ID)
EXPORT_ALL = Callback("exp:all")
#: A view of a round chosen with the round buttons: the estate (or all of the manager's), the round.
DASHBOARD_ROUND = Callback("dash:r", rf"{_ID}|all", _ID)
EXPORT_ROUND = Callback("exp:r", rf"{_ID}|all", _ID)
BC_ALL = Callback("bc:all")
BC_PROVINCE = Callback("bc:prov", _ID)
BC_WHOLE_PROVINCE = Callback("bc:provall", _ID)
BC_ESTATE = Callback("bc:est", rf"{_ID}|all")
BC_FILTER = Callback("bc:f", "cl|sec|size|sub")
BC_FILTER_VALUE = Callback("bc:f", "cl|sec|size", r"[\w+-]{1,20}")
BC_CONTINUE = Callback("bc:go")
BC_NOW = Callback("bc:now")
BC_SCHEDULE = Callback("bc:sched")
BC_LEAVE = Callback("bc:cancel")
#: A broadcast's sending time picked from the keyboard: a Solar Hijri day and Tehran time.
BC_AT = Callback("bc:at", r"\d{4}/\d{2}/\d{2}_\d{2}:\d{2}")
BC_CANCEL_BROADCAST = Callback("bcx", _ID)
# Onboarding firms (issue 10): the estate a firm list is for; a firm's confirm / decline of the
# details its invitation link opened (the link's token: only its holder has it).
ONB_ESTATE = Callback("onb:est", _ID)
ONB_ACCEPT = Callback("onb:ok", "[0-9a-f]{40}")
ONB_DECLINE = Callback("onb:no", "[0-9a-f]{40}")

# -- admins -------------------------------------------------------------------------------------
ESTATE_REQUEST_ADD = Callback("ereq:add", _ID)  # list an estate an owner named
ESTATE_REQUEST_MERGE = Callback("ereq:merge", _ID)  # choose the listed estate to merge it into
ESTATE_REQUEST_INTO = Callback("ereq:into", _ID, _ID)  # merge it (estate named, listed estate)
ESTATE_REQUEST_BACK = Callback("ereq:back", _ID)
ROLE_CHANGE = Callback("rl", "promote|demote|block|unmgr", _ID, r"\d{0,12}")  # action, user, estate (or none)
ROLE_KEEP = Callback("rl:keep")
ROUND_CONFIRM = Callback("adm:rc", _TOKEN)
ROUND_DISMISS = Callback("adm:rx", _TOKEN)
ROUND_CHOICE = Callback("adm", "r[cx]", _TOKEN)
#: The guided /newround and /editround (handlers/admin/round_wizard.py): a day from the date
#: keyboard (days after today or after the opening), ``now``, or the typed date kept (``ok``)
#: or typed again (``re``); a questionnaire version; equal weights; the round and the field to edit.
RW_START = Callback("rw:go", "new|edit")  # the buttons under /rounds
RW_DATE = Callback("rw:d", r"now|ok|re|\d{1,3}")
RW_VERSION = Callback("rw:v", r"\d{1,4}")
RW_WEIGHTS = Callback("rw:w", "eq")
RW_ROUND = Callback("rw:r", _ID)
RW_FIELD = Callback("rw:f", "title|opens|closes|weights")
RW_LEAVE = Callback("rw:x")
RW_PREFIX = "rw"
INVITATION = Callback("inv", "ok|no", _TOKEN)
IMPORT_KIND = Callback("imp", "[ecx]", _TOKEN)
#: The guided /addestate and /addcluster: a province page, a province, a kind or a sector
#: ("none": several or none), add (after a warning: anyway), another name, cancel.
PLACE_PROVINCE_PAGE = Callback("pl:pp", r"\d{1,3}")
# A page of /estates or /clusters (the search text is kept in the user's data).
PLACE_LIST_PAGE = Callback("pl:l", "estates|clusters", r"\d{1,4}")
PLACE_PROVINCE = Callback("pl:p", _ID)
PLACE_KIND = Callback("pl:k", "estate|zone|park")
PLACE_SECTOR = Callback("pl:s", "[A-Z]|none")
PLACE_ADD = Callback("pl:add", _TOKEN)
PLACE_OTHER_NAME = Callback("pl:name")
PLACE_LEAVE = Callback("pl:x")
PLACE_RENAME = Callback("pl:rn", _TOKEN)
PLACE_RENAME_KEEP = Callback("pl:rk")
#: The guided /invite: a page of provinces, a province's estates (province, page), a page of
#: the estates found by a typed search, the estate chosen, cancel.
INVITE_PROVINCES = Callback("ivp:pp", r"\d{1,3}")
INVITE_PROVINCE = Callback("ivp:p", _ID, r"\d{1,4}")
INVITE_FOUND = Callback("ivp:f", r"\d{1,4}")
INVITE_ESTATE = Callback("ivp:e", _ID)
INVITE_LEAVE = Callback("ivp:x")
#: An /audit page: page, user id, action code (or its start), from and to (Gregorian YYYYMMDD;
#: empty: unset), views included.
AUDIT_PAGE = Callback("aud", r"\d{1,5}", r"\d{0,12}", r"[a-z_]{0,20}", r"(?:\d{8})?", r"(?:\d{8})?", "[01]")
