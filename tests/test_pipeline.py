"""Flat arrays of a dataset build and the NumPy batches made from them (no TensorFlow needed)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sketchrnn_cli.data.flat import FlatSplit, has_flat
from sketchrnn_cli.model.pipeline import (
    EpochPlan,
    Feed,
    augment,
    balanced_rows,
    bucket_bounds,
    make_batch,
    per_step_targets,
)

from conftest import SHAPES, dataset_rows


@pytest.fixture(scope="module")
def build(shapes_data):
    from sketchrnn_cli.data.datastore import dataset_dir

    return dataset_dir(shapes_data, "simplified")


def test_flat_split_gathers_the_drawings_the_build_holds(build, shapes_data):
    assert has_flat(build)
    rows = dataset_rows(shapes_data)
    for split in ("train", "valid", "test"):
        flat = FlatSplit.open(build, split, SHAPES)
        mine = sorted((SHAPES[label], flat.sequence(i, 10**6).tobytes()) for i, label in enumerate(flat.labels))
        assert mine == sorted((name, strokes) for s, _, name, strokes in rows if s == split)


def test_a_subset_of_categories_is_renumbered_in_the_order_asked(build):
    everything = FlatSplit.open(build, "train", SHAPES)
    subset = FlatSplit.open(build, "train", SHAPES, ("square", "circle"))
    assert len(subset) == np.isin(everything.labels, [0, 2]).sum()
    assert set(subset.labels.tolist()) == {0, 1}
    first_square = np.flatnonzero(everything.labels == 2)[0]
    assert np.array_equal(
        subset.sequence(np.flatnonzero(subset.labels == 0)[0], 999), everything.sequence(first_square, 999)
    )


def test_bucket_bounds_are_few_multiples_of_16_up_to_max_length():
    assert bucket_bounds(250).tolist() == [64, 128, 192, 256]
    assert bucket_bounds(20).tolist() == [16, 32]


def test_a_feed_refuses_a_batch_size_below_1(build):
    """Red team 3, also: bench_input.py gave Feed TrainConfig's batch size 0 ("auto"), and Feed
    divided by it (`range() arg 3 must not be zero`)."""
    split = FlatSplit.open(build, "train", SHAPES, SHAPES)
    with pytest.raises(ValueError, match="a Feed needs a batch size of at least 1, got 0"):
        Feed(split, 0, 250, seed=0, augment=False)


def test_every_batch_is_full_and_padded_to_its_bucket():
    lengths = np.random.default_rng(0).integers(2, 250, size=1000)
    plan = EpochPlan(lengths, 32, 250, seed=1)
    batches = plan.batches(0)
    assert len(batches) == plan.batches_per_epoch
    for rows, steps in batches:
        assert len(rows) == 32 and lengths[rows].max() <= steps and steps in bucket_bounds(250)
    assert {tuple(r) for r, _ in plan.batches(0)} == {tuple(r) for r, _ in EpochPlan(lengths, 32, 250, 1).batches(0)}
    assert [r.tolist() for r, _ in plan.batches(1)] != [r.tolist() for r, _ in batches]


def test_augmentation_keeps_the_unit_box_the_pen_ends_and_two_points():
    rng = np.random.default_rng(0)
    sequence = np.array([[0.1, 0.1, 0], [0.3, 0.2, 0], [0.2, 0.4, 1], [0.1, -0.3, 0], [0.2, 0.1, 1]], np.float32)
    strokes = np.zeros((200, 8, 3), np.float32)
    strokes[:, :5] = sequence
    strokes[1::2, 2:] = 0  # every other drawing: two points only, one stroke
    strokes[1::2, 1, 2] = 1
    lengths = np.where(np.arange(200) % 2, 2, 5).astype(np.int32)
    out, kept = augment(strokes, lengths, rng)
    assert out.dtype == np.float32 and (kept >= 2).all() and (kept <= lengths).all()
    for row, length in zip(out, kept):
        points = np.cumsum(row[:length, :2], axis=0)
        assert points.min() >= -1e-6 and abs(points.max() - 1) < 1e-5
        assert not row[length:].any()
    assert (out[np.arange(200), kept - 1, 2] == 1).all()  # a drawing still ends its last stroke


def test_augmentation_drops_points_and_strokes_sometimes_and_rotates():
    rng = np.random.default_rng(1)
    strokes = np.tile(
        np.array([[0.1, 0, 0]] * 9 + [[0.1, 0, 1]] + [[0, 0.1, 0]] * 9 + [[0, 0.1, 1]], np.float32), (100, 1, 1)
    )
    out, kept = augment(strokes, np.full(100, 20, np.int32), rng)
    assert kept.min() < 20 and kept.max() <= 20
    directions = {round(float(np.arctan2(row[1, 1], row[1, 0])), 4) for row in out}
    assert len(directions) > 50  # angles and stretches differ per drawing


def test_augmentation_mirrors_about_half_the_drawings_left_to_right():
    strokes = np.tile(np.array([[0.0, 0.0, 0], [0.5, 0.0, 0], [0.5, 0.0, 1]], np.float32), (400, 1, 1))
    lengths = np.full(400, 3, np.int32)
    plain = dict(rotation_degrees=0.0, stretch=0.0, drop_point=0.0, drop_stroke=0.0)
    out, _ = augment(strokes, lengths, np.random.default_rng(2), **plain)
    rightwards = out[:, 1, 0] > 0
    assert 150 < rightwards.sum() < 250 and np.allclose(np.abs(out[:, 1:, 0]), 0.5)
    never, _ = augment(strokes, lengths, np.random.default_rng(2), **plain, mirror=0.0)
    assert (never[:, 1, 0] > 0).all()


def test_make_batch_pads_with_zeros_and_per_step_targets_weight_real_steps(build):
    split = FlatSplit.open(build, "train", SHAPES)
    inputs, labels = make_batch(split, np.arange(4), 64, 250)
    assert inputs["strokes"].shape == (4, 64, 3) and inputs["length"].tolist() == split.lengths[:4].tolist()
    assert not inputs["strokes"][0, inputs["length"][0] :].any()
    targets, weights = per_step_targets(labels, np.array([3, 64, 1, 10]), 64, 2)
    assert targets.shape == (4, 32) and weights.sum(axis=1).tolist() == [2, 32, 1, 5]


def test_the_feed_makes_the_same_batches_whatever_its_threads(build):
    split = FlatSplit.open(build, "train", SHAPES)
    streams = [Feed(split, 16, 250, seed=3, augment=True, workers=w).stream() for w in (1, 4)]
    for _ in range(12):
        one, four = next(streams[0]), next(streams[1])
        assert np.array_equal(one[0]["strokes"], four[0]["strokes"]) and np.array_equal(one[1], four[1])


def test_a_feed_started_at_a_batch_goes_on_as_one_that_ran_there(build):
    split = FlatSplit.open(build, "train", SHAPES)
    whole = Feed(split, 16, 250, seed=5, augment=True, workers=1).stream()
    batches = [next(whole) for _ in range(20)]  # more than one epoch
    resumed = Feed(split, 16, 250, seed=5, augment=True, workers=1, start=11).stream()
    for expected in batches[11:]:
        got = next(resumed)
        assert np.array_equal(got[0]["strokes"], expected[0]["strokes"]) and np.array_equal(got[1], expected[1])


def test_the_shards_of_processes_in_step_make_up_the_whole_batch(build):
    """Each of two processes makes its own half of every batch the one-process feed makes."""
    split = FlatSplit.open(build, "train", SHAPES)
    whole = Feed(split, 16, 250, seed=2, augment=False, workers=1).stream()
    halves = [Feed(split, 16, 250, seed=2, augment=False, workers=1, shard=(i, 2)).stream() for i in (0, 1)]
    for _ in range(10):
        expected, first, second = next(whole), next(halves[0]), next(halves[1])
        assert len(first[1]) == len(second[1]) == 8
        assert np.array_equal(np.concatenate([first[0]["strokes"], second[0]["strokes"]]), expected[0]["strokes"])
        assert np.array_equal(np.concatenate([first[1], second[1]]), expected[1])


def test_balancing_repeats_a_few_own_drawings_to_weigh_as_a_median_category():
    labels = np.repeat([0, 1, 2, 3], [360, 360, 300, 29])
    rows = balanced_rows(labels, 1.0)
    counts = np.bincount(labels[rows])
    assert counts[:3].tolist() == [360, 360, 300]  # at or about the median: once each
    assert counts[3] == 29 * 11  # 330 / 29 = 11.4 -> 11 repeats, each of the 29
    assert np.array_equal(np.unique(rows), np.arange(len(labels)))  # every drawing still there
    assert np.bincount(labels[balanced_rows(labels, 0.5)])[3] == 29 * 6
    assert np.array_equal(balanced_rows(labels, 0.0), np.arange(len(labels)))


@given(st.lists(st.integers(0, 5), max_size=300), st.floats(0.0, 1.0))
def test_balancing_keeps_every_drawing_and_never_drops_one(labels, balance):
    labels = np.asarray(labels, np.int64)
    rows = balanced_rows(labels, balance)
    assert np.array_equal(np.unique(rows), np.arange(len(labels)))
    counts = np.bincount(labels, minlength=6)
    repeated = np.bincount(labels[rows], minlength=6)
    assert np.all(repeated % np.maximum(counts, 1) == 0)  # whole repeats of a category's drawings
    if len(labels):
        median = np.median(counts[counts > 0])
        assert np.all(repeated[counts > 0] <= np.maximum(counts[counts > 0], balance * median + counts[counts > 0] / 2))


def test_own_words_that_outnumber_the_official_categories_are_still_repeated():
    """Red team 3, cosmetic: with more own words (of a few drawings each) than official
    categories, the median was an own word's count, and --balance silently did nothing."""
    labels = np.concatenate([np.repeat([0, 1], 100), np.repeat(np.arange(2, 7), 5)])  # 2 official, 5 own
    assert len(balanced_rows(labels, 1.0)) == len(labels)  # the median of all: 5, nothing to repeat
    counts = np.bincount(labels[balanced_rows(labels, 1.0, among=np.array([0, 1]))])
    assert counts[0] == 100 and np.all(counts[2:] == 100)


def test_an_epoch_plan_of_a_balanced_pool_batches_the_repeats(build):
    lengths = np.random.default_rng(0).integers(2, 250, size=100)
    pool = np.concatenate([np.arange(100), np.repeat(np.arange(90, 100), 4)])  # the last ten 5 times
    plan = EpochPlan(lengths, 10, 250, seed=1, pool=pool)
    seen = np.concatenate([rows for rows, _ in plan.batches(0)])
    assert np.all(np.bincount(seen, minlength=100)[90:] >= 1) and np.bincount(seen).max() <= 5
    for rows, steps in plan.batches(0):
        assert lengths[rows].max() <= steps


def test_streaming_holds_batches_not_the_dataset(tmp_path):
    """A 96 MB memory-mapped split streams with a few MB of allocations (NumPy reports its
    allocations to tracemalloc): no cache of the drawings, whatever the dataset's size."""
    import tracemalloc

    lengths = np.full(200_000, 40)
    strokes = np.lib.format.open_memmap(tmp_path / "strokes.npy", "w+", np.float32, (int(lengths.sum()), 3))
    strokes[:] = 0.01
    strokes.flush()
    split = FlatSplit(
        np.load(tmp_path / "strokes.npy", mmap_mode="r"),
        np.arange(len(lengths)) * 40,
        lengths,
        np.zeros(len(lengths), np.int64),
    )
    stream = Feed(split, 64, 250, seed=0, augment=True, workers=2).stream()
    tracemalloc.start()
    for _ in range(400):  # 25,600 drawings
        next(stream)
    stream.close()  # its threads finish before tracing stops
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert strokes.nbytes > 90e6 and peak < 20e6
