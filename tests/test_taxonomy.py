import pytest

from trouter.llm.parse import ReplyError
from trouter.synth.taxonomy import (
    chain_of,
    names_signature,
    nest,
    node_id,
    parse_items,
    refine_until_stable,
)


def items(*names):
    return [{"name": n, "definition": f"{n} def", "example": f"{n} ex"} for n in names]


def scripted_review(sets):
    """A review function that returns the scripted sets in order (None = failed review)."""
    it = iter(sets)
    calls = []

    def review(current, rnd):
        calls.append(rnd)
        return next(it)

    review.calls = calls
    return review


def test_stops_after_patience_unchanged_rounds():
    review = scripted_review([items("A", "C"), items("A", "C"), items("C", "A"), items("X")])
    ref = refine_until_stable(lambda: items("A", "B"), review, patience=2, max_rounds=10)
    assert ref.stable and review.calls == [1, 2, 3]
    assert names_signature(ref.items) == ("a", "c")
    assert [r.get("changed") for r in ref.rounds[1:]] == [True, False, False]
    assert ref.rounds[1]["removed"] == ["b"] and ref.rounds[1]["added"] == ["c"]


def test_a_change_resets_the_count():
    review = scripted_review([items("A"), items("B"), items("B"), items("B")])
    ref = refine_until_stable(lambda: items("A"), review, patience=2, max_rounds=10)
    assert ref.stable and review.calls == [1, 2, 3, 4]


def test_rewording_is_not_a_change_but_is_adopted():
    reworded = [{"name": "a!", "definition": "sharper", "example": "e"}]
    ref = refine_until_stable(lambda: items("A"), scripted_review([reworded]), patience=1,
                              max_rounds=3)
    assert ref.stable and ref.items[0]["definition"] == "sharper"


def test_round_cap_marks_unstable():
    review = scripted_review([items("A"), items("B"), items("A"), items("B")])
    ref = refine_until_stable(lambda: items("B"), review, patience=2, max_rounds=4)
    assert not ref.stable and len(review.calls) == 4


def test_failed_review_neither_changes_nor_confirms():
    review = scripted_review([None, items("A"), None, items("A")])
    ref = refine_until_stable(lambda: items("A"), review, patience=2, max_rounds=10)
    assert ref.stable and ref.failures == 2 and review.calls == [1, 2, 3, 4]


def test_failed_proposal():
    ref = refine_until_stable(lambda: None, scripted_review([]), patience=1, max_rounds=3)
    assert not ref.stable and ref.items == [] and ref.failures == 1


def test_parse_items_validates():
    parse = parse_items(2, 3, exclude=("seed",))
    ok = '{"items": [{"name": "A", "definition": "d", "example": "e"},' \
         ' {"name": "B", "definition": "d", "example": "e"}]}'
    assert [i["name"] for i in parse(ok)] == ["A", "B"]
    bad = {
        "too few": '{"items": [{"name": "A", "definition": "d", "example": "e"}]}',
        "repeated": '{"items": [{"name": "A", "definition": "d", "example": "e"},'
                    ' {"name": "a ", "definition": "d", "example": "e"}]}',
        "excluded": '{"items": [{"name": "Seed", "definition": "d", "example": "e"},'
                    ' {"name": "B", "definition": "d", "example": "e"}]}',
        "empty field": '{"items": [{"name": "A", "definition": "", "example": "e"},'
                       ' {"name": "B", "definition": "d", "example": "e"}]}',
        "not json": "A, B",
    }
    for why, text in bad.items():
        with pytest.raises(ReplyError):
            parse(text)
            pytest.fail(why)


def test_node_ids_stable_and_tree_helpers():
    assert node_id("", "Math") == node_id("", "  math ") != node_id("p", "Math")
    d = {"id": "d", "parent_id": "", "level": "domain", "name": "D", "definition": "",
         "example": ""}
    s = {**d, "id": "s", "parent_id": "d", "level": "subcategory", "name": "S"}
    k = {**d, "id": "k", "parent_id": "s", "level": "difficulty", "name": "K"}
    by_id = {n["id"]: n for n in (d, s, k)}
    assert [n["id"] for n in chain_of(k, by_id)] == ["d", "s", "k"]
    tree = nest([d, s, k])
    assert tree[0]["children"][0]["children"][0]["name"] == "K"
