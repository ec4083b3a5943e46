"""Per-role command menus and /help: admins and managers see their commands, owners the default.

The client's command menu is set per chat (BotCommandScopeChat) for every admin and manager at
start-up and whenever a role changes; a user who loses every role gets the default menu back.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from bot.i18n import N_, Translator, translator

if TYPE_CHECKING:
    from bot.context import Services
    from bot.services.access import Access

log = logging.getLogger(__name__)

# command → (arguments, description); arguments are shown in /help only.
MANAGER_COMMANDS: dict[str, tuple[str | None, str]] = {
    "myestates": (None, N_("The estates you manage")),
    "managers": (N_("[ESTATE_ID]"), N_("Managers of an estate")),
    "broadcast": (None, N_("Send a notice to your estate's firms")),
    "broadcasts": (None, N_("Your broadcasts: progress and cancel")),
    "dashboard": (N_("[ESTATE_ID]"), N_("Your estate's dashboard")),
    "export": (N_("[ESTATE_ID]"), N_("Your estate's firms as an Excel file")),
    "nudge": (N_("[ESTATE_ID]"), N_("Remind firms that have not answered")),
    "funnel": (N_("[ESTATE_ID]"), N_("Where firms give up in the round")),
    "onboard": (N_("[ESTATE_ID]"), N_("Invite your estate's firms from a list (CSV or Excel)")),
    "onboarding": (N_("[ESTATE_ID]"), N_("Invited firms: opened, registered, submitted")),
    "revokefirm": (N_("INVITATION_ID"), N_("Withdraw a firm's invitation link")),
}

ADMIN_COMMANDS: dict[str, tuple[str | None, str]] = {
    "rounds": (None, N_("Assessment rounds")),
    "newround": (None, N_("Create a round, step by step")),
    "editround": (None, N_("Change a round's title, dates or weights, step by step")),
    "openround": (N_("ID"), N_("Open a round now")),
    "closeround": (N_("ID"), N_("Close a round now")),
    "extend": (N_("ID DATE"), N_("Move a round's closing time later")),
    "reopenround": (N_("ID DATE"), N_("Open a round closed by mistake again (before publishing)")),
    "publish": (N_("ID"), N_("Publish a round's results")),
    "sensitivity": (N_("ID WEIGHTS"), N_("How ranks move under other weights")),
    "invite": (N_("[ESTATE_ID]"), N_("Invitation link for an estate manager")),
    "revoke": (N_("INVITATION_ID"), N_("Revoke an invitation")),
    "invitations": (None, N_("Open invitations")),
    "removemanager": (N_("USER_ID [ESTATE_ID]"), N_("Remove an estate manager")),
    "promote": (N_("USER_ID"), N_("Make a user an admin")),
    "demote": (N_("USER_ID"), N_("Take admin rights away")),
    "admins": (None, N_("Admins and blocked users")),
    "find": (N_("TEXT"), N_("Find a firm and its owner by name, national ID, phone or user id")),
    "block": (N_("USER_ID"), N_("Block a user")),
    "unblock": (N_("USER_ID"), N_("Unblock a user")),
    "estates": (N_("[TEXT]"), N_("List or search estates")),
    "moveestate": (N_("FIRM_ID ESTATE_ID"), N_("Correct the estate a firm registered in")),
    "estaterequests": (None, N_("Estates owners named that are not listed: add or merge them")),
    "addestate": (N_("[PROVINCE | NAME | KIND]"), N_("Add an estate (alone: step by step)")),
    "renameestate": (N_("ID | NEW NAME"), N_("Rename an estate")),
    "deactivateestate": (N_("ID"), N_("Deactivate an estate")),
    "reactivateestate": (N_("ID"), N_("Reactivate an estate")),
    "clusters": (N_("[TEXT]"), N_("List or search clusters")),
    "addcluster": (N_("[PROVINCE | NAME | SECTOR]"), N_("Add a cluster (alone: step by step)")),
    "renamecluster": (N_("ID | NEW NAME"), N_("Rename a cluster")),
    "deactivatecluster": (N_("ID"), N_("Deactivate a cluster")),
    "reactivatecluster": (N_("ID"), N_("Reactivate a cluster")),
    "import": (N_("estates|clusters"), N_("Import estates or clusters from a CSV or Excel file")),
    "audit": (N_("[USER_ID] [ACTION] [from DATE] [to DATE] [all]"),
              N_("The audit log, filtered and paged (/audit actions: the actions)")),
    "auditexport": (None, N_("The whole audit log as a CSV file")),
    "stats": (None, N_("National statistics")),
    "top": (N_("[ROUND_ID]"), N_("The national top 100")),
    "exportall": (None, N_("Everything as an Excel file")),
    "exportanswers": (N_("[ROUND_ID]"), N_("Every answer of a round as an Excel file")),
}


def role_commands(access: Access, t: Translator) -> list[BotCommand]:
    """The menu of an admin or manager: the owner's commands, then those of their roles."""
    from bot.application import COMMAND_DESCRIPTIONS, OWNER_COMMANDS

    commands = [BotCommand(c, t(COMMAND_DESCRIPTIONS[c])) for c in OWNER_COMMANDS]
    extra: dict[str, tuple[str | None, str]] = {}
    if access.is_manager or access.is_admin:
        extra.update(MANAGER_COMMANDS)
    if access.is_admin:
        extra.update(ADMIN_COMMANDS)
    commands += [BotCommand(c, t(desc)) for c, (_, desc) in extra.items()]
    return commands


def help_lines(access: Access, t: Translator) -> list[str]:
    """/help sections for the user's roles (empty for a firm owner)."""
    lines: list[str] = []

    def section(title: str, commands: dict[str, tuple[str | None, str]]) -> None:
        lines.append("")
        lines.append(title)
        for command, (args, desc) in commands.items():
            usage = f"/{command} {t(args)}" if args else f"/{command}"
            lines.append(t("{usage} – {description}", usage=usage, description=t(desc)))

    if access.is_manager or access.is_admin:
        section(t("<b>Estate managers</b>"), MANAGER_COMMANDS)
    if access.is_admin:
        section(t("<b>Admins</b>"), ADMIN_COMMANDS)
    return lines


async def language_of(services: Services, user_id: int) -> str:
    if user_id in services.languages:
        return services.languages[user_id]
    async with services.db.read() as repo:
        user = await repo.users.get(user_id)
    return user.language if user else "fa"


async def publish_for(bot: Bot, services: Services, user_id: int, *, privileged_only: bool = False) -> None:
    """Sets (or clears) one user's command menu to match their roles, in their language; with
    ``privileged_only`` a firm owner's menu is left alone (a language change)."""
    from bot.services.access import access_of

    if not services.settings.messenger.command_menus:
        return  # Bale: /help carries the role's commands instead
    async with services.db.read() as repo:
        access = await access_of(repo, services.settings.admins, user_id)
    scope = BotCommandScopeChat(user_id)
    if privileged_only and not (access.is_admin or access.is_manager):
        return
    try:
        if access.is_admin or access.is_manager:
            t = translator(await language_of(services, user_id))
            await bot.set_my_commands(role_commands(access, t), scope=scope)
        else:
            await bot.delete_my_commands(scope=scope)
    except TelegramError as exc:
        # The user may never have opened a chat with the bot; the menu is set when they do.
        log.info("could not set the command menu of user %s: %s", user_id, exc)


async def publish_all(bot: Bot, services: Services) -> None:
    """Sets the menu of every admin and manager (at start-up)."""
    async with services.db.read() as repo:
        people = set(services.settings.admins) | await repo.access.promoted_admins()
        people |= await repo.access.all_managers()
    for user_id in sorted(people):
        await publish_for(bot, services, user_id)
