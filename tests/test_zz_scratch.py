from __future__ import annotations
import asyncio
from typing import Any
from .conftest import PROMPT


async def test_explore(connect: Any, jp_serverapp: Any) -> None:
    async with connect() as a, connect() as b:
        print("star str", await a.call("*", "owner:server-owner"))
        await asyncio.sleep(0.5)
        print("a errors", a.errors, "b errors", b.errors)
        for args in [None, {"x": 1}, 5]:
            try:
                print(args, await a.sio.call("*", args, timeout=2))
            except Exception as e:
                print(args, "->", repr(e))
        print("message", await a.call("message", {"x": 1}))
