"""WebPtyApp's options: defaults written once (the core's ``Limits``), bounds checked by traitlets."""

from __future__ import annotations

import pytest
from traitlets import TraitError
from traitlets.config import Config

from jupyter_webpty.app import WebPtyApp
from jupyter_webpty.core import MAX_COMMANDS, Limits


def app(**options: object) -> WebPtyApp:
    return WebPtyApp(config=Config({"WebPtyApp": options}))


def test_the_defaults_are_the_cores() -> None:
    assert app().limits() == Limits()
    assert app().max_commands == MAX_COMMANDS


@pytest.mark.parametrize(
    "option",
    [
        {"scrollback_bytes": -1},
        {"flow_high_water": 0},
        {"flow_low_water": -1},
        {"max_pending_input": 0},
        {"max_sessions": -1},
        {"max_sessions_per_user": -1},
        {"max_retained_bytes": -1},
        {"cull_inactive_timeout": -5},
        {"kill_grace": -0.5},
        {"max_commands": 0},
        {"flow_high_water": 1000, "flow_low_water": 1001},
    ],
)
def test_values_out_of_bounds_are_refused_with_the_reason(option: dict[str, object]) -> None:
    with pytest.raises(TraitError, match=r"flow_low_water \(|should not be less than"):
        app(**option)


def test_the_low_mark_follows_a_lowered_high_mark_unless_set() -> None:
    assert app(flow_high_water=32 * 1024).limits().low_water == 32 * 1024
    limits = app(flow_low_water=1024, flow_high_water=4096).limits()
    assert (limits.low_water, limits.high_water) == (1024, 4096)
    configured = app(flow_high_water=4096)
    configured.flow_low_water = 4096  # equal is allowed: a client resumes as soon as it acks
    with pytest.raises(TraitError):
        configured.flow_high_water = 2048
