"""The web chat's routes against a running playground (its own demo world in a tmp folder):
the page's files, a chat's history, actions, downloads, the clock and refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from bot.playground import demo
from bot.playground.runner import Playground
from bot.playground.web import web_app
from tests.support.clock import TestClock

# One demo world for the module: seeding it takes about a second.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[TestClient[object, object], Playground]]:
    playground = Playground(tmp_path_factory.mktemp("web") / "playground.db", clock=TestClock())
    await playground.start()
    async with TestClient(TestServer(web_app(playground))) as test_client:
        yield test_client, playground
    await playground.stop()


async def test_the_page_and_its_script_are_served(client: tuple[TestClient[object, object], Playground]) -> None:
    http, _ = client
    page, script = await http.get("/"), await http.get("/static/app.js")
    assert (page.status, page.content_type, script.status, script.content_type) == (
        200, "text/html", 200, "text/javascript")


async def test_no_other_file_is_served(client: tuple[TestClient[object, object], Playground]) -> None:
    http, _ = client
    assert (await http.get("/static/..%2F..%2Fsettings.py")).status == 404


async def test_a_document_downloads_under_its_own_name(client: tuple[TestClient[object, object], Playground]) -> None:
    http, playground = client
    assert playground.api is not None
    stored = playground.api.add_file(b"PK\x03\x04", "گزارش شهرک.xlsx", None)
    response = await http.get(f"/files/{stored.file_id}")
    assert (response.headers["Content-Disposition"], await response.read()) == (
        "attachment; filename*=UTF-8''%DA%AF%D8%B2%D8%A7%D8%B1%D8%B4%20%D8%B4%D9%87%D8%B1%DA%A9.xlsx", b"PK\x03\x04")


async def test_an_action_in_a_chat_that_is_no_personas_is_refused(client: tuple[TestClient[object, object], Playground]) -> None:
    http, _ = client
    response = await http.post("/api/chats/123", json={"type": "text", "text": "/start"})
    assert response.status == 404


async def test_an_unknown_action_is_refused(client: tuple[TestClient[object, object], Playground]) -> None:
    http, _ = client
    response = await http.post(f"/api/chats/{demo.ADMIN}", json={"type": "forward"})
    assert (response.status, (await response.json())["error"]) == (400, "unknown action 'forward'")


async def test_the_owner_with_a_result_finds_it_in_the_chat(client: tuple[TestClient[object, object], Playground]) -> None:
    http, playground = client
    assert playground.services.worker is not None
    await playground.services.worker.drain()
    items = (await (await http.get(f"/api/chats/{demo.RESULT_OWNER}")).json())["items"]
    assert [item["kind"] for item in items] == ["text", "photo"]


async def test_a_new_owner_is_a_new_person_each_time(client: tuple[TestClient[object, object], Playground]) -> None:
    http, _ = client
    first = await (await http.post("/api/personas/new", json={})).json()
    second = await (await http.post("/api/personas/new", json={})).json()
    status = await (await http.get("/api/status")).json()
    owners = [p["id"] for p in status["personas"] if p["role"] == "owner"]
    assert (owners[-2:], first["id"] == second["id"]) == ([first["id"], second["id"]], False)


async def test_the_clock_moves_a_day(client: tuple[TestClient[object, object], Playground]) -> None:
    http, playground = client
    before = playground.clock.now()
    await http.post("/api/clock", json={"step": "day"})
    assert playground.clock.now() - before >= timedelta(days=1)
