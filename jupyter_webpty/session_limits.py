"""The options that size each session: ``WebPtyApp`` inherits them, and they become the core's
``Limits`` (``limits()``). Config lives at the edge: this is part of the app's configuration,
kept apart only because it is one job of its own (defaults, bounds and the flow marks' check).

A ``HasTraits`` mixin and not a ``Configurable``: its traits are configured as ``WebPtyApp.*``
only, exactly as before the split (no second config section).
"""

from __future__ import annotations

from typing import Any

from traitlets import Float, HasTraits, Integer, TraitError, default, validate

from .core import Limits

#: The per-session defaults, written once in the core's ``Limits``; the traits below take theirs
#: from it (tests/test_config.py holds them equal).
_LIMITS = Limits()


class SessionLimits(HasTraits):
    """Per-session bounds: scrollback, flow-control marks, pending input, the closing grace."""

    scrollback_bytes = Integer(
        _LIMITS.scrollback_bytes,
        min=0,
        help="Output retained per session for resume and screen restore (bytes).",
    ).tag(config=True)
    flow_high_water = Integer(
        _LIMITS.high_water,
        min=1,  # 0 would hold every client before its first byte
        help="Unacknowledged output per client before delivery to it pauses (bytes).",
    ).tag(config=True)
    flow_low_water = Integer(
        min=0,
        help=(
            "Unacknowledged output below which a paused client resumes (bytes; at most "
            f"flow_high_water; default {_LIMITS.low_water}, or flow_high_water if lower)."
        ),
    ).tag(config=True)
    max_pending_input = Integer(
        _LIMITS.max_pending_input,
        min=1,
        help="Input waiting for a shell that does not read it, before input is refused (bytes).",
    ).tag(config=True)
    kill_grace = Float(
        _LIMITS.kill_grace,
        min=0.0,
        help="Wait between SIGHUP, SIGTERM and SIGKILL when closing a session (seconds).",
    ).tag(config=True)

    @default("flow_low_water")
    def _default_flow_low_water(self) -> int:
        # A lowered flow_high_water alone stays valid: the low mark follows it down.
        return min(_LIMITS.low_water, self.flow_high_water)

    @validate("flow_low_water", "flow_high_water")
    def _check_flow_marks(self, proposal: Any) -> int:
        # Checked once both are set (traitlets cross-validates config after loading it all).
        value = int(proposal["value"])
        if proposal["trait"].name == "flow_low_water":
            low, high = value, self.flow_high_water
        elif "flow_low_water" in self._trait_values:
            low, high = self.flow_low_water, value
        else:
            return value  # the low mark's default follows this one
        if low > high:
            msg = f"flow_low_water ({low}) must not exceed flow_high_water ({high})"
            raise TraitError(msg)
        return value

    def limits(self) -> Limits:
        """The per-session limits of this configuration."""
        return Limits(
            scrollback_bytes=self.scrollback_bytes,
            high_water=self.flow_high_water,
            low_water=self.flow_low_water,
            max_pending_input=self.max_pending_input,
            kill_grace=self.kill_grace,
        )
