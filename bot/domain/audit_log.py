"""What the audit log's action codes are called, which of them only look at data, and the
filters ``/audit`` takes.

Every code the code base writes (``audit(action=…)``, ``refuse(…, "code")``) has a name here;
``tests/unit/test_audit_names.py`` finds the codes in the source and checks it. A refusal by the
role guard is recorded under the refused handler's name with the detail ``requires <role>``;
all of them are called by one name (``ROLE_REFUSAL``), the command tried being the entry's
target.

Filters, in any order (``/audit 7001 round از ۱۴۰۵/۰۹/۰۱ تا ۱۴۰۵/۰۹/۳۰ همه``):
a number is a user id; ``از`` / ``from`` DATE and ``تا`` / ``to`` DATE bound the Solar Hijri
days (a lone DATE is a start); a word of Latin letters is an action code or the start of one
(``round`` matches ``round_open``, ``round_close``…); ``همه`` / ``all`` shows the views too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache

from bot.domain.calendar import BadDate, parse_jalali_date
from bot.domain.text import normalize, parse_id
from bot.i18n import N_, translator

ACTION_NAMES: dict[str, str] = {
    # rounds
    "round_create": N_("created a round"),
    "round_edit": N_("edited a round"),
    "round_open": N_("opened a round"),
    "round_close": N_("closed a round"),
    "round_extend": N_("extended a round"),
    "round_reopen": N_("reopened a round"),
    "round_cancel": N_("cancelled a round"),
    "round_publish": N_("published a round's results"),
    # people and roles
    "invite": N_("invited an estate manager"),
    "revoke": N_("revoked an invitation"),
    "invite_open": N_("opened an invitation link"),
    "invite_accept": N_("accepted an invitation"),
    "invite_decline": N_("declined an invitation"),
    # onboarding firms from an estate's list (issue 10)
    "onboard": N_("started inviting an estate's firms"),
    "onboard_invite": N_("invited an estate's firms from a list"),
    "onboard_revoke": N_("withdrew a firm's invitation"),
    "onboarding": N_("viewed the onboarding of an estate's firms"),
    "firm_link_open": N_("opened a firm invitation link"),
    "firm_link_accept": N_("confirmed a firm invitation"),
    "firm_link_decline": N_("declined a firm invitation"),
    "remove_manager": N_("removed an estate manager"),
    "promote": N_("made an admin"),
    "demote": N_("took admin rights away"),
    "block": N_("blocked a user"),
    "unblock": N_("unblocked a user"),
    "list_admins": N_("viewed the admins"),
    "find_user": N_("looked a firm or person up"),
    "move_firm": N_("moved a firm to another estate"),
    "accept_estate": N_("added an estate an owner named to the list"),
    "merge_estate": N_("merged an estate an owner named into a listed one"),
    "claim_national_id": N_("asked the admins about a national ID registered by another account"),
    "list_managers": N_("viewed an estate's managers"),
    "my_estates": N_("viewed their estates"),
    # estates and clusters
    "list_estates": N_("viewed the estates"),
    "list_clusters": N_("viewed the clusters"),
    "add_estate": N_("added an estate"),
    "add_cluster": N_("added a cluster"),
    "rename_estate": N_("renamed an estate"),
    "rename_cluster": N_("renamed a cluster"),
    "deactivate_estate": N_("deactivated an estate"),
    "deactivate_cluster": N_("deactivated a cluster"),
    "reactivate_estate": N_("reactivated an estate"),
    "reactivate_cluster": N_("reactivated a cluster"),
    "import_estates": N_("imported estates"),
    "import_clusters": N_("imported clusters"),
    # dashboards, exports, nudges
    "dashboard": N_("viewed a dashboard"),
    "dash": N_("opened a dashboard"),
    "funnel": N_("viewed where firms give up"),
    "export": N_("exported an estate"),
    "exp": N_("exported an estate"),
    "nudge": N_("nudged an estate's firms"),
    "stats": N_("viewed the national statistics"),
    "top": N_("viewed the national top 100"),
    "exportall": N_("exported everything"),
    "exportanswers": N_("exported every answer of a round"),
    # broadcasts
    "broadcast": N_("composed a broadcast"),
    "broadcast_all": N_("chose all firms for a broadcast"),
    "broadcast_province": N_("chose a province for a broadcast"),
    "broadcast_estate": N_("chose an estate for a broadcast"),
    "broadcast_filter": N_("filtered a broadcast"),
    "broadcast_create": N_("created a broadcast"),
    "broadcast_start": N_("started sending a broadcast"),
    "broadcast_cancel": N_("cancelled a broadcast"),
    # the audit log, privacy
    "audit": N_("viewed the audit log"),
    "audit_export": N_("exported the audit log"),
    "my_data": N_("downloaded their data"),
    "delete_my_data": N_("deleted their data"),
}

#: A refusal by the role guard (its code is the refused handler's name).
ROLE_REFUSAL = N_("tried a command of another role")
#: A code written before this list knew it (an old database).
UNKNOWN = N_("other action ({code})")

#: Actions that only look at data: left out of /audit unless asked for (refusals are always shown).
VIEWS: frozenset[str] = frozenset({
    "list_admins", "list_managers", "my_estates", "list_estates", "list_clusters", "dashboard", "dash",
    "funnel", "export", "exp", "stats", "top", "exportall", "exportanswers", "audit", "audit_export", "my_data",
})

_CODE = re.compile(r"^[a-z][a-z_]{0,19}$")
#: The filter's key words, typed in either language (their translations).
FROM, TO, ALL = N_("audit filter: from"), N_("audit filter: to"), N_("audit filter: all")
LIST_ACTIONS = N_("audit filter: actions")


@cache
def keyword(msgid: str) -> frozenset[str]:
    """The words that mean ``msgid`` in Persian or English."""
    return frozenset(normalize(translator(lang)(msgid)).lower() for lang in ("fa", "en"))


def action_name(action: str, detail: str | None) -> str:
    """The msgid naming an entry's action (``UNKNOWN`` takes ``code``)."""
    if action in ACTION_NAMES:
        return ACTION_NAMES[action]
    if detail is not None and detail.startswith("requires "):
        return ROLE_REFUSAL
    return UNKNOWN


@dataclass(frozen=True)
class AuditFilter:
    user_id: int | None = None
    #: An action code, or the start of codes (``round`` → ``round_…``).
    action: str | None = None
    since: date | None = None
    until: date | None = None
    include_views: bool = False

    @property
    def is_empty(self) -> bool:
        return self == AuditFilter(include_views=self.include_views)


class BadFilter(ValueError):
    """A word /audit cannot read; ``args[0]`` is the word."""


def parse_filter(words: list[str]) -> AuditFilter:
    """Reads /audit's arguments (see the module's doc); BadFilter names the first unreadable word."""
    user_id: int | None = None
    action: str | None = None
    since: date | None = None
    until: date | None = None
    include = False
    bound: str | None = None
    for raw in words:
        # Bale shows an underscore outside code as a look-alike (bot.domain.formatting); read it back.
        word = normalize(raw).lower().replace("\u02cd", "_")
        if word in keyword(FROM) or word in keyword(TO):
            if bound is not None:
                raise BadFilter(raw)
            bound = "to" if word in keyword(TO) else "from"
            continue
        if "/" in word or bound is not None:
            try:
                day = parse_jalali_date(word)
            except BadDate:
                raise BadFilter(raw) from None
            if bound == "to":
                until = day
            else:
                since = day
            bound = None
            continue
        if word in keyword(ALL):
            include = True
        elif (number := parse_id(word)) is not None and user_id is None:
            user_id = number
        elif _CODE.match(word) and action is None:
            action = word
        else:
            raise BadFilter(raw)
    if bound is not None:
        raise BadFilter(words[-1])
    return AuditFilter(user_id=user_id, action=action, since=since, until=until, include_views=include)
