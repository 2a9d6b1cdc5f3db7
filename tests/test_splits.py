from collections import Counter

from sketchrnn_cli.data.splits import split_of


def test_split_depends_only_on_key_id_and_is_stable_across_runs():
    # Fixed expectations: these must never change, or drawings would move between splits.
    keys = ("5201136883597312", "1", "abc", "42")
    assert [split_of(k) for k in keys] == ["train", "valid", "train", "valid"]


def test_split_sizes_are_about_80_10_10():
    counts = Counter(split_of(str(4_000_000_000_000_000 + i * 7919)) for i in range(20000))
    assert abs(counts["train"] / 20000 - 0.8) < 0.02
    assert abs(counts["valid"] / 20000 - 0.1) < 0.02
    assert abs(counts["test"] / 20000 - 0.1) < 0.02
