"""Violation episodes: the persistence rules and order independence."""
from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.engine import Compliance, Episode, PersistenceRule, episodes, replay

V, C, U = Compliance.VIOLATING, Compliance.COMPLIANT, Compliance.UNCERTAIN


def track(*items: tuple[float, Compliance]) -> list[tuple[float, int, int]]:
    return [(t, i, s) for i, (t, s) in enumerate(items)]


def test_two_fixes_under_a_minute_do_not_open() -> None:
    assert episodes(track((0, V), (30, V))) == []
    assert episodes(track((0, V), (30, V), (59.9, V))) == []
    eps = episodes(track((0, V), (30, V), (60, V)))
    assert eps == [Episode(0, 0.0, None, (0, 1, 2))]


def test_one_fix_never_opens_however_long() -> None:
    assert episodes(track((0, V), (1000, C), (2000, V))) == []


def test_uncertain_fixes_never_open_and_do_not_break() -> None:
    assert episodes(track(*[(60 * i, U) for i in range(100)])) == []
    eps = episodes(track((0, V), (30, U), (60, U), (90, V)))
    assert eps == [Episode(0, 0.0, None, (0, 3))]


def test_compliant_fix_breaks_the_run() -> None:
    assert episodes(track((0, V), (61, C), (122, V), (150, V))) == []


def test_closing_hysteresis() -> None:
    obs = track((0, V), (60, V), (120, C), (150, V), (200, C), (230, C), (300, C), (400, V))
    eps = episodes(obs)
    # (120, C) alone does not close; (200, C)+(230, C) is too short; +(300, C) closes at 200.
    assert eps[0] == Episode(0, 0.0, 200.0, (0, 1), (4, 5, 6))
    # a single violating fix afterwards does not reopen
    assert len(eps) == 1


def test_rule_parameters() -> None:
    rule = PersistenceRule(min_fixes=3, min_seconds=0)
    assert episodes(track((0, V), (1, V)), rule) == []
    assert episodes(track((0, V), (1, V), (2, V)), rule)[0].opened_at == 0
    with pytest.raises(ValueError):
        PersistenceRule(min_fixes=0)


def test_ties_broken_by_fix_id_and_duplicates() -> None:
    a = [(0.0, 5, V), (0.0, 3, C), (60.0, 7, V), (60.0, 8, V)]
    assert episodes(a) == episodes(list(reversed(a))) == [Episode(0, 0.0, None, (5, 7))]
    assert episodes(a + a) == episodes(a)
    with pytest.raises(ValueError):
        episodes([(0.0, 1, V), (5.0, 1, V)])


def test_replay_refuses_fixes_at_or_before_the_checkpoint() -> None:
    _, state = replay(None, track((0, V), (60, V)))
    with pytest.raises(ValueError):
        replay(state, [(30.0, 99, C)])
    eps, _ = replay(state, [(120.0, 100, C), (200.0, 101, C)])
    assert eps == [Episode(0, 0.0, 120.0, (0, 1), (100, 101))]


statuses = st.sampled_from([V, V, C, C, U])
tracks = st.lists(
    st.tuples(st.integers(0, 40).map(lambda m: m * 30.0), statuses), min_size=0, max_size=60
).map(lambda items: [(t, i, int(s)) for i, (t, s) in enumerate(items)])
rules = st.builds(PersistenceRule, st.integers(1, 3), st.sampled_from([0.0, 30.0, 60.0, 90.0]))


def key(o: tuple[float, int, int]) -> tuple[float, int]:
    return (o[0], o[1])


@settings(max_examples=300, deadline=None)
@given(tracks, rules, st.randoms(use_true_random=False))
def test_permutation_invariance(obs, rule, rnd: random.Random) -> None:
    shuffled = obs[:]
    rnd.shuffle(shuffled)
    assert episodes(shuffled, rule) == episodes(obs, rule)


@settings(max_examples=300, deadline=None)
@given(tracks, rules, st.randoms(use_true_random=False), st.integers(1, 8))
def test_incremental_server_equals_full_recomputation(obs, rule, rnd: random.Random, n_batches: int) -> None:
    """A server receiving random batches in random order, using checkpoints, ends with the full answer."""
    arrival = obs[:]
    rnd.shuffle(arrival)
    cuts = sorted(rnd.randint(0, len(arrival)) for _ in range(n_batches - 1))
    batches = [arrival[a:b] for a, b in zip([0, *cuts], [*cuts, len(arrival)])]

    received: dict[int, tuple[float, int, int]] = {}
    checkpoints: list = []  # states in increasing as_of order, all still valid
    known: dict[int, Episode] = {}
    for batch in batches:
        if not batch:
            continue
        for o in batch:
            received[o[1]] = o
        earliest = min(key(o) for o in batch)
        checkpoints = [s for s in checkpoints if s.as_of < earliest]  # later ones are invalidated
        prior = checkpoints[-1] if checkpoints else None
        since = [o for o in received.values() if prior is None or key(o) > prior.as_of]
        eps, state = replay(prior, since, rule if prior is None else None)
        first_seq = prior.closed_count if prior else 0
        known = {s: e for s, e in known.items() if s < first_seq}
        known.update({e.seq: e for e in eps})
        checkpoints.append(state)
    assert [known[s] for s in sorted(known)] == episodes(obs, rule)
    assert sorted(known) == list(range(len(known)))


@settings(max_examples=200, deadline=None)
@given(tracks, rules, st.integers(0, 60))
def test_split_at_any_checkpoint(obs, rule, cut: int) -> None:
    ordered = sorted(obs, key=key)
    head, tail = ordered[:cut], ordered[cut:]
    first, state = replay(None, head, rule)
    rest, _ = replay(state, tail[::-1])
    final_first = [e for e in first if e.seq < state.closed_count]
    assert final_first + rest == episodes(obs, rule)
