"""The typed context every handler receives: settings, database, and the reader's language."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias

from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.clock import Clock
from bot.i18n import Translator, translator
from bot.services.access import Access
from bot.settings import Settings
from storage.database import Database

if TYPE_CHECKING:
    from bot.delivery.alerts import OperatorAlerts
    from bot.delivery.broadcasts import BroadcastKeeper
    from bot.delivery.pacer import Pacer
    from bot.delivery.worker import DeliveryWorker
    from bot.domain.quiet_hours import QuietHours
    from bot.intake.inbox import Intake
    from bot.intake.webhook import WebhookReceiver
    from bot.resident import ResidentUsers
    from bot.services.assessment import AssessmentService
    from bot.services.broadcasts import BroadcastService
    from bot.services.invitations import InvitationService
    from bot.services.menu import MenuService
    from bot.services.owner_settings import OwnerSettingsService
    from bot.services.places import PlacesService
    from bot.services.privacy import PrivacyService
    from bot.services.publishing import ResultsService
    from bot.services.registration import RegistrationService
    from bot.services.roles import RolesService
    from bot.services.rounds import RoundService
    from bot.services.users import UsersService


@dataclass
class Services:
    """What the application holds for its handlers; built once in ``build_application``."""

    settings: Settings
    db: Database
    clock: Clock
    pacer: Pacer
    quiet: QuietHours
    rounds: RoundService
    privacy: PrivacyService
    owner_settings: OwnerSettingsService
    menu: MenuService
    results: ResultsService
    assessment: AssessmentService
    registration: RegistrationService
    users: UsersService
    broadcasting: BroadcastService
    roles: RolesService
    invitations: InvitationService
    places: PlacesService
    worker: DeliveryWorker | None = None
    broadcasts: BroadcastKeeper | None = None
    intake: Intake | None = None
    # Failures told to the operators' chats (bot.delivery.alerts).
    alerts: OperatorAlerts | None = None
    # Only in webhook mode (KHOOSHE_WEBHOOK_URL): the HTTP server the platform posts updates to.
    webhook: WebhookReceiver | None = None
    # user id → language; filled on first contact so the language is known without a query
    # (and by ``owner_settings`` when the user switches).
    languages: dict[int, str] = field(default_factory=dict)
    # Users who blocked the bot; bulk messages skip them until they write again.
    unreachable: set[int] = field(default_factory=set)
    # Users an admin blocked (loaded from the database at start-up); they get one notice, then silence.
    blocked: set[int] = field(default_factory=set)
    # Blocked users who have had that one notice since start-up.
    blocked_noticed: set[int] = field(default_factory=set)
    # The users whose state is held in memory (bot.resident); set by ``build_application``.
    resident: ResidentUsers | None = None
    # Group chats already told that Khooshe works in private chats only.
    told_groups: set[int] = field(default_factory=set)


@dataclass(slots=True)
class UserData:
    """What the bot holds for one user between two updates: an action waiting for its confirm
    button, a broadcast being composed… One field per flow, so two flows of one user can never
    read each other's state. The flows' fields are written down with the updates that change
    them and come back after a restart (``bot.flows.FLOW_FIELDS``)."""

    #: A round action (create, close, cancel, publish…) waiting for the admin's confirmation.
    round_action: dict[str, Any] | None = None
    #: The guided /newround or /editround: the values given so far.
    round_wizard: dict[str, Any] | None = None
    #: An invitation link opened, waiting for accept or decline.
    invitation: dict[str, Any] | None = None
    #: A CSV file sent by an admin, waiting for the choice of estates or clusters.
    import_file: dict[str, Any] | None = None
    #: The estate or cluster an admin is adding step by step (/addestate, /addcluster).
    place_draft: dict[str, Any] | None = None
    #: A rename held back as a near-duplicate, waiting for «Rename anyway».
    place_rename: dict[str, Any] | None = None
    #: The search text of the /estates or /clusters list being paged.
    place_query: str | None = None
    #: The typed search of an admin choosing the estate of an invitation (/invite).
    invite_pick: dict[str, Any] | None = None
    #: The broadcast a manager or admin is composing.
    broadcast: dict[str, Any] | None = None
    #: The one-time token of the "delete my data" confirmation.
    delete_token: str | None = None
    #: The message of the assessment screen now shown: its buttons are taken away when a newer
    #: screen is sent below it, so only one live keyboard stays in the chat.
    screen: int | None = None

    def clear(self) -> None:
        """Forgets everything held for the user (after they deleted their data)."""
        for name in self.__dataclass_fields__:
            setattr(self, name, None)


class KhoosheContext(CallbackContext[ExtBot[dict[str, Any]], UserData, dict[Any, Any], Services]):
    """``context.services``, ``context.db`` and ``context.t`` instead of untyped bot_data lookups."""

    _access: Access | None = None

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def access(self) -> Access:
        """The sender's roles, set by ``handlers.common.privileged.requires`` once a privileged
        handler's role check has passed (so only guarded handlers may read it)."""
        if self._access is None:
            raise RuntimeError("context.access is read in a handler that is not guarded by requires")
        return self._access

    @access.setter
    def access(self, value: Access) -> None:
        self._access = value

    @property
    def user_data(self) -> UserData:
        """The sender's data: every handler here answers an update from a user."""
        data = super().user_data
        if data is None:
            raise RuntimeError("this update has no user, so it has no user_data")
        return data

    @user_data.setter
    def user_data(self, _: object) -> NoReturn:
        raise AttributeError("user_data cannot be replaced, only changed")

    @property
    def services(self) -> Services:
        return self.bot_data

    @property
    def db(self) -> Database:
        return self.bot_data.db

    @property
    def settings(self) -> Settings:
        return self.bot_data.settings

    @property
    def lang(self) -> str:
        if self._user_id is None:
            return "fa"
        return self.bot_data.languages.get(self._user_id, "fa")

    @property
    def t(self) -> Translator:
        return translator(self.lang)

    def now(self) -> datetime:
        return self.bot_data.clock.now()


#: The application ``build_application`` makes, as the handlers' ``register`` functions receive it.
KhoosheApp: TypeAlias = Application[
    ExtBot[dict[str, Any]], KhoosheContext, UserData, dict[Any, Any], Services, JobQueue[KhoosheContext]
]
