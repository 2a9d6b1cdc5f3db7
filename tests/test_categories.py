import pytest

from sketchrnn_cli.data.categories import UnknownCategoryError, all_categories, parse_list, resolve


def test_the_canonical_list_has_345_names_as_google_spells_them():
    names = all_categories()
    assert len(names) == 345 and len(set(names)) == 345
    assert {"paint can", "The Eiffel Tower", "zigzag"} <= set(names)


def test_names_resolve_forgiving_case_and_underscores_and_keep_order():
    assert resolve(["Paint_Can", "cat", "the eiffel tower", "cat"]) == ["paint can", "cat", "The Eiffel Tower"]


def test_unknown_names_suggest_the_closest_real_ones():
    with pytest.raises(UnknownCategoryError, match=r"unknown category 'airplan' \(did you mean 'airplane'"):
        resolve(["cat", "airplan"])


def test_lists_and_files_of_names_parse_alike():
    assert parse_list("cat, airplane,paint can") == ["cat", "airplane", "paint can"]
    assert parse_list("cat\n# a comment\npaint can  # trailing\n\n") == ["cat", "paint can"]
