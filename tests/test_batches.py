"""Batches: seeded mini-batches, reshuffled each epoch, resumable from a JSON-able state."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backprop_tui.engine.batches import Batches


def data(n: int = 10, d: int = 3) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(n * d, dtype=np.float64).reshape(n, d)
    t = np.arange(n) % 3
    return x, t


def take(b: Batches, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return [b.next() for _ in range(k)]


def same_batches(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        xa.dtype == xb.dtype and xa.tobytes() == xb.tobytes() and ta.tobytes() == tb.tobytes()
        for (xa, ta), (xb, tb) in zip(a, b, strict=True)
    )


def test_partial_last_batch_is_kept_and_every_sample_seen_once_per_epoch() -> None:
    x, t = data(10)
    b = Batches(x, t, 4, seed=1)
    assert len(b) == b.batches_per_epoch == 3
    epoch = take(b, 3)
    assert [len(xb) for xb, _ in epoch] == [4, 4, 2]
    rows = np.concatenate([xb[:, 0] for xb, _ in epoch]) // 3
    assert sorted(rows.astype(int).tolist()) == list(range(10))
    # targets travel with their inputs
    for xb, tb in epoch:
        np.testing.assert_array_equal(tb, (xb[:, 0] // 3).astype(int) % 3)


def test_drop_last() -> None:
    x, t = data(10)
    b = Batches(x, t, 4, seed=1, drop_last=True)
    assert len(b) == 2
    assert [len(xb) for xb, _ in take(b, 5)] == [4, 4, 4, 4, 4]
    assert b.epoch == 2


def test_reshuffled_every_epoch_and_epoch_rolls_lazily() -> None:
    x, t = data(50, 1)
    b = Batches(x, t, 50, seed=3)
    first = b.next()[0].ravel().copy()
    assert (b.epoch, b.position, b.epoch_done) == (0, 1, True)
    second = b.next()[0].ravel()
    assert (b.epoch, b.position) == (1, 1)
    assert sorted(first) == sorted(second) == list(range(50))
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, np.arange(50))


def test_same_seed_same_batches_bit_for_bit_and_other_seed_differs() -> None:
    x, t = data(23)
    a = take(Batches(x, t, 5, seed=7), 17)
    b = take(Batches(x, t, 5, seed=7), 17)
    c = take(Batches(x, t, 5, seed=8), 17)
    assert same_batches(a, b)
    assert not same_batches(a, c)


def test_generator_argument_is_used() -> None:
    x, t = data(23)
    a = take(Batches(x, t, 5, np.random.default_rng(7)), 9)
    b = take(Batches(x, t, 5, seed=7), 9)
    assert same_batches(a, b)


def test_unshuffled_batches_are_views_in_order() -> None:
    x, t = data(10)
    b = Batches(x, t, 4, seed=0, shuffle=False)
    got = take(b, 4)
    for xb, tb in got:
        assert np.shares_memory(xb, x) and np.shares_memory(tb, t)
    np.testing.assert_array_equal(got[0][0], x[:4])
    np.testing.assert_array_equal(got[2][0], x[8:])
    np.testing.assert_array_equal(got[3][0], x[:4])  # second epoch, same order
    assert b.state()["rng"] is None


def test_shuffled_batches_are_copies() -> None:
    x, t = data(10)
    xb, _ = Batches(x, t, 4, seed=0).next()
    assert not np.shares_memory(xb, x)


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("skip", [0, 1, 2, 3, 4, 5, 7, 12])
def test_state_round_trip_through_json_resumes_exactly(shuffle: bool, skip: int) -> None:
    x, t = data(11)
    ref = Batches(x, t, 4, seed=5, shuffle=shuffle)
    take(ref, skip)
    state = json.loads(json.dumps(ref.state()))
    expected = take(ref, 9)

    # a fresh object (seeded differently, even) resumes from the state
    other = Batches(x, t, 4, seed=99, shuffle=shuffle)
    take(other, 2)
    other.set_state(state)
    assert (other.epoch, other.position) == (state["epoch"], state["position"])
    assert same_batches(take(other, 9), expected)


def test_set_state_back_to_an_earlier_epoch() -> None:
    x, t = data(9)
    b = Batches(x, t, 4, seed=2)
    s0 = b.state()
    first = take(b, 7)
    b.set_state(s0)
    assert same_batches(take(b, 7), first)


def test_state_is_small_and_holds_no_permutation() -> None:
    x = np.zeros((60_000, 1))
    t = np.zeros(60_000, dtype=np.int64)
    b = Batches(x, t, 100, seed=0)
    assert len(json.dumps(b.state())) < 500


def test_state_must_match_the_data() -> None:
    x, t = data(10)
    state = Batches(x, t, 4, seed=0).state()
    with pytest.raises(ValueError, match="batch_size"):
        Batches(x, t, 5, seed=0).set_state(state)
    with pytest.raises(ValueError, match="n="):
        Batches(*data(12), 4, seed=0).set_state(state)
    with pytest.raises(ValueError, match="out of range"):
        Batches(x, t, 4, seed=0).set_state({**state, "position": 9})


def test_epoch_batches_yields_the_rest_of_the_epoch() -> None:
    x, t = data(10)
    b = Batches(x, t, 4, seed=0)
    b.next()
    assert len(list(b.epoch_batches())) == 2
    assert b.epoch_done
    assert len(list(b.epoch_batches())) == 3
    assert b.epoch == 1


def test_batch_size_larger_than_dataset_gives_one_batch() -> None:
    x, t = data(3)
    b = Batches(x, t, 100, seed=0)
    assert len(b) == 1 and len(b.next()[0]) == 3


def test_four_dimensional_inputs() -> None:
    x = np.arange(5 * 2 * 3 * 3, dtype=np.float32).reshape(5, 2, 3, 3)
    t = np.arange(5)
    xb, tb = Batches(x, t, 2, seed=0).next()
    assert xb.shape == (2, 2, 3, 3) and xb.dtype == np.float32
    np.testing.assert_array_equal(xb, x[tb])


@pytest.mark.parametrize(
    ("x", "t", "bs", "match"),
    [
        (np.zeros((3, 2)), np.zeros(4), 2, "t has 4"),
        (np.zeros((0, 2)), np.zeros(0), 2, "empty"),
        (np.zeros((3, 2)), np.zeros(3), 0, "at least 1"),
        (np.float64(1.0), np.zeros(3), 1, "leading sample axis"),
    ],
)
def test_bad_arguments(x: np.ndarray, t: np.ndarray, bs: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Batches(x, t, bs, seed=0)
