"""The lead package, lead parts and the race (PROTOCOL.md §5, §8).

- Lead package: the first ``lead`` of (M, r) in blocks G_r + vrf_window + 1 …
  G_r + vrf_window + lead_window that passes the kem size/range checks and is signed by the
  elected lead; L is its height; later ones by the lead are ``duplicate``.
- Lead parts: by the elected lead, anywhere in the lead window, index < parts; first per
  index counts.
- Secondaries: an eligible non-lead's counting package is its first package at height
  ≥ L + race_offset that passes the kem checks; earlier ones are ``early``, later ones
  ``duplicate``. C, C_s, RS as §8 (:func:`first_reaching`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from drey.messages import Lead, LeadPart, Paillier, Secondary, check_kem
from drey.rules.common import Clock, verdict
from drey.rules.inputs import PositionedMessage
from drey.rules.results import MessageStatus

__all__ = [
    "LeadChoice",
    "PartsChoice",
    "RaceEntries",
    "choose_lead_package",
    "choose_lead_parts",
    "counting_secondaries",
    "first_reaching",
]


@dataclass(frozen=True, slots=True)
class LeadChoice:
    """The lead package (or ``None``) and the final status of every *other* lead message."""

    package: PositionedMessage | None
    statuses: tuple[MessageStatus, ...]


def choose_lead_package(
    messages: Sequence[PositionedMessage],
    *,
    elected: bytes,
    window: tuple[int, int],
    paillier: Paillier,
) -> LeadChoice:
    """§5 over the ``lead`` messages of (M, r) in chain order (the chosen package's own
    status comes later, from its reveal)."""
    lo, hi = window
    chosen: PositionedMessage | None = None
    statuses = []
    for pm in messages:
        msg = pm.message
        assert isinstance(msg, Lead)
        if msg.actuary != elected:
            statuses.append(verdict(pm, "quarantined", "not_lead", "not the elected lead"))
            continue
        q = check_kem(msg, paillier=paillier)
        if q is not None:
            statuses.append(verdict(pm, "quarantined", q.reason, q.detail))
            continue
        if chosen is not None:
            statuses.append(
                verdict(pm, "duplicate", None, f"lead package is {chosen.inscription_id}")
            )
        elif pm.height < lo:
            statuses.append(verdict(pm, "early", None, f"lead window opens at {lo}"))
        elif pm.height > hi:
            statuses.append(verdict(pm, "ignored", None, f"lead window closed at {hi}"))
        else:
            chosen = pm
    return LeadChoice(chosen, tuple(statuses))


@dataclass(frozen=True, slots=True)
class PartsChoice:
    """The counted ``lead_part`` per index and every part's status."""

    parts: dict[int, PositionedMessage]
    statuses: tuple[MessageStatus, ...]


def choose_lead_parts(
    messages: Sequence[PositionedMessage],
    *,
    elected: bytes,
    window: tuple[int, int],
    package: PositionedMessage | None,
) -> PartsChoice:
    """§5 over the ``lead_part`` messages of (M, r) in chain order, once the lead package is
    known (``None``: the round has none, so parts in the window are ``ignored``)."""
    lo, hi = window
    parts_count = None
    if package is not None:
        lead = package.message
        assert isinstance(lead, Lead)
        parts_count = lead.parts
    chosen: dict[int, PositionedMessage] = {}
    statuses = []
    for pm in messages:
        msg = pm.message
        assert isinstance(msg, LeadPart)
        if msg.actuary != elected:
            statuses.append(verdict(pm, "quarantined", "not_lead", "not the elected lead"))
            continue
        if package is not None and (parts_count is None or msg.index >= parts_count):
            statuses.append(
                verdict(
                    pm,
                    "quarantined",
                    "bad_part_index",
                    f"index {msg.index} outside 0 … {(parts_count or 0) - 1}",
                )
            )
            continue
        if msg.index in chosen:
            statuses.append(verdict(pm, "duplicate", None, f"part {msg.index} already counts"))
        elif pm.height < lo:
            statuses.append(verdict(pm, "early", None, f"lead window opens at {lo}"))
        elif pm.height > hi:
            statuses.append(verdict(pm, "ignored", None, f"lead window closed at {hi}"))
        elif package is None:
            statuses.append(verdict(pm, "ignored", None, "the round has no lead package"))
        else:
            chosen[msg.index] = pm
            statuses.append(verdict(pm, "valid"))
    return PartsChoice(chosen, tuple(statuses))


@dataclass(frozen=True, slots=True)
class RaceEntries:
    """Counting secondaries (chain order) and the final status of the non-counting ones."""

    counting: tuple[PositionedMessage, ...]
    statuses: tuple[MessageStatus, ...]


def counting_secondaries(
    messages: Sequence[PositionedMessage],
    *,
    elected: bytes,
    eligible: frozenset[bytes],
    race_open: int,
    paillier: Paillier,
) -> RaceEntries:
    """§8 over the ``secondary`` messages of (M, r) in chain order, given L."""
    counting: dict[bytes, PositionedMessage] = {}
    statuses = []
    for pm in messages:
        msg = pm.message
        assert isinstance(msg, Secondary)
        if msg.actuary not in eligible:
            statuses.append(verdict(pm, "quarantined", "not_eligible", "not eligible for M"))
            continue
        if msg.actuary == elected:
            statuses.append(verdict(pm, "quarantined", "not_secondary", "the elected lead"))
            continue
        q = check_kem(msg, paillier=paillier)
        if q is not None:
            statuses.append(verdict(pm, "quarantined", q.reason, q.detail))
            continue
        if msg.actuary in counting:
            first = counting[msg.actuary].inscription_id
            statuses.append(verdict(pm, "duplicate", None, f"counting package is {first}"))
        elif pm.height < race_open:
            statuses.append(verdict(pm, "early", None, f"race opens at {race_open}"))
        else:
            counting[msg.actuary] = pm
    return RaceEntries(tuple(counting.values()), tuple(statuses))


def first_reaching(
    heights: Sequence[int], *, start: int, end: int, target: int, clock: Clock
) -> int | None:
    """The first h in [start, end] at which #{heights ≤ h} ≥ ``target``, else ``end``;
    ``None`` while undecidable (fewer than ``target`` so far and ``end`` beyond the tip).
    ``heights`` must be sorted."""
    if target <= 0:
        return start
    if len(heights) >= target:
        h = max(start, heights[target - 1])
        if h <= end:
            return h
    return end if clock.reached(end) else None
