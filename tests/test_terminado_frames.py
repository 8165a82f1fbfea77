"""terminado's client frames: our parser against terminado's own reading of them (the oracle)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from jupyter_webpty.terminado_frames import FrameError, Resize, parse_frame


def terminado_reads(message: str) -> Any:
    """What terminado's ``TermSocket.on_message`` does with a frame (terminado 0.18)."""
    command = json.loads(message)
    if command[0] == "stdin":
        return command[1]
    if command[0] == "set_size":
        rows, cols = command[1:3]
        return Resize(rows=rows, cols=cols)
    return None


def random_text(rng: random.Random) -> str:
    alphabet = 'abc \r\n\t\x1b\x03\x7fé€😀\u200b"\\'
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))


def test_frames_clients_send_read_as_terminado_reads_them() -> None:
    rng = random.Random(12)
    for _ in range(2000):
        kind = rng.choice(["stdin", "set_size", "set_size_px", "other"])
        if kind == "stdin":
            frame: list[Any] = ["stdin", random_text(rng)]
        elif kind == "set_size":
            frame = ["set_size", rng.randrange(1, 1001), rng.randrange(1, 1001)]
        elif kind == "set_size_px":  # JupyterLab adds the pixel height and width
            frame = ["set_size", rng.randrange(1, 200), rng.randrange(1, 400), 600.5, 800]
        else:
            frame = [random_text(rng) or "x", random_text(rng)]
        message = json.dumps(frame, ensure_ascii=rng.random() < 0.5)
        assert parse_frame(message) == terminado_reads(message), message


@pytest.mark.parametrize(
    "message",
    ["", "not json", "{}", "[]", "[1]", '["stdin"]', '["stdin", 5]', '["set_size", 24]',
     '["set_size", "24", 80]', '["set_size", 24.0, 80]', '["set_size", true, 80]',
     '["set_size", 24, ' + "9" * 5000 + "]", "[" * 100_000],
)  # fmt: skip
def test_frames_terminado_would_choke_on_are_refused_with_a_reason(message: str) -> None:
    with pytest.raises(FrameError):
        parse_frame(message)


def test_sizes_out_of_range_are_clamped() -> None:
    assert parse_frame('["set_size", 0, 100000]') == Resize(rows=1, cols=1000)
