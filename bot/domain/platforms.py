"""What differs between the messengers Khooshe runs on, as data the rest of the bot asks.

Bale's Bot API (https://tapi.bale.ai/bot<token>/METHOD) copies Telegram's, with differences
learnt from Bale's documentation and from open-source Bale clients run against the live API.
Where a fact is uncertain, the profile assumes the less forgiving answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

PlatformName = Literal["telegram", "bale"]


@dataclass(frozen=True)
class Platform:
    name: PlatformName
    # Where deep links (invitations) point: https://t.me/<bot>?start=… or https://ble.ir/<bot>?start=…
    deep_link_host: str
    # Telegram's parse_mode=HTML; without it every text is read as the platform's Markdown.
    html: bool
    # setMyCommands and its scopes; Bale has none (an unknown method answers 404).
    command_menus: bool
    # Telegram answers an edit with the edited message; Bale with a stub ({"message_id": 0}).
    edit_returns_message: bool
    # Telegram checks X-Telegram-Bot-Api-Secret-Token on webhook requests; Bale sends none.
    webhook_secret_token: bool
    # Ports the platform delivers webhooks to; None: any.
    webhook_ports: tuple[int, ...] | None

    def deep_link(self, username: str, payload: str) -> str:
        return f"{self.deep_link_host}/{username}?start={payload}"


TELEGRAM = Platform(
    name="telegram", deep_link_host="https://t.me", html=True, command_menus=True,
    edit_returns_message=True, webhook_secret_token=True, webhook_ports=(443, 80, 88, 8443),
)
BALE = Platform(
    name="bale", deep_link_host="https://ble.ir", html=False, command_menus=False,
    edit_returns_message=False, webhook_secret_token=False, webhook_ports=(443, 88),
)
PLATFORMS: dict[str, Platform] = {"telegram": TELEGRAM, "bale": BALE}


def platform_for(api_url: str, chosen: PlatformName | None = None) -> Platform:
    """The platform named in the configuration, else the one whose host serves ``api_url``."""
    if chosen is not None:
        return PLATFORMS[chosen]
    host = (urlsplit(api_url).hostname or "").lower()
    return BALE if host == "bale.ai" or host.endswith(".bale.ai") else TELEGRAM
