import pytest

from trouter.llm.parse import ReplyError
from trouter.synth.qa import make_qa_id, parse_pairs


def test_pairs_from_json_or_blocks():
    parse = parse_pairs(2)
    assert parse('{"pairs": [{"question": "Q1?", "answer": "A1"}]}') == [("Q1?", "A1")]
    blocks = "QUESTION: What is 2+2?\nANSWER: 4\n\nQUESTION: Capital of Peru?\nANSWER: Lima"
    assert parse(blocks) == [("What is 2+2?", "4"), ("Capital of Peru?", "Lima")]


@pytest.mark.parametrize("text", [
    '{"pairs": []}',
    '{"pairs": [{"question": "Q?", "answer": ""}]}',
    '{"pairs": [{"question": "Q?"}]}',
    '{"pairs": [{"question": "a?", "answer": "1"}, {"question": "b?", "answer": "2"},'
    ' {"question": "c?", "answer": "3"}]}',
    "no pairs at all",
])
def test_bad_pairs_are_rejected(text):
    with pytest.raises(ReplyError):
        parse_pairs(2)(text)


def test_qa_ids_are_stable_and_distinct():
    assert make_qa_id("n1", 0, 0, "Q") == make_qa_id("n1", 0, 0, "Q")
    assert len({make_qa_id("n1", 0, 0, "Q"), make_qa_id("n1", 0, 1, "Q"),
                make_qa_id("n2", 0, 0, "Q")}) == 3
