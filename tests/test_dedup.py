import numpy as np
import pytest

from trouter.synth.dedup import KEPT, NEAR_DUPLICATE, SURPLUS, NodeDeduper, dedup_rows


def unit_at_cos(c: float) -> np.ndarray:
    """A unit vector whose cosine with e1 is exactly c."""
    return np.array([c, np.sqrt(1 - c * c), 0.0])


E1 = np.array([1.0, 0.0, 0.0])


@pytest.mark.parametrize("cos,status", [
    (0.9, KEPT),            # equal to the threshold: not above it, kept
    (0.9000001, NEAR_DUPLICATE),
    (0.95, NEAR_DUPLICATE),
    (0.8999999, KEPT),
    (1.0, NEAR_DUPLICATE),  # exact duplicate
])
def test_threshold_is_strict(cos, status):
    d = NodeDeduper(0.9)
    assert d.offer("a", "first", E1).status == KEPT
    dec = d.offer("b", "second", unit_at_cos(cos))
    assert dec.status == status
    assert dec.max_sim == pytest.approx(cos)
    assert dec.nearest_qa_id == "a" and dec.nearest_question == "first"


def test_compares_with_accepted_only():
    d = NodeDeduper(0.9)
    d.offer("a", "A", E1)
    dup = unit_at_cos(0.95)
    assert d.offer("b", "B", dup).status == NEAR_DUPLICATE
    # c is close to the dropped b but not to a: kept
    c = np.array([np.cos(np.radians(40)), np.sin(np.radians(40)), 0.0])
    assert float(c @ dup) > 0.9 and float(c @ E1) < 0.9
    assert d.offer("c", "C", c).status == KEPT


def test_nearest_is_the_most_similar_accepted():
    d = NodeDeduper(0.99)
    d.offer("a", "A", E1)
    d.offer("b", "B", np.array([0.0, 1.0, 0.0]))
    dec = d.offer("c", "C", unit_at_cos(0.3))
    assert dec.nearest_qa_id == "b" and dec.max_sim == pytest.approx(np.sqrt(1 - 0.09))


def test_target_turns_the_rest_into_surplus():
    d = NodeDeduper(0.9, target=2)
    vecs = np.eye(4)
    statuses = [d.offer(str(i), str(i), v).status for i, v in enumerate(vecs)]
    assert statuses == [KEPT, KEPT, SURPLUS, SURPLUS]
    assert d.full and d.accepted == 2


def test_duplicate_is_reported_as_duplicate_even_when_full():
    d = NodeDeduper(0.9, target=1)
    d.offer("a", "A", E1)
    assert d.offer("b", "B", E1).status == NEAR_DUPLICATE


def test_dedup_rows_uses_the_encoder_once_in_order():
    calls = []

    def enc(texts):
        calls.append(list(texts))
        table = {"x": E1, "x again": E1, "y": np.array([0.0, 1.0, 0.0])}
        return np.stack([table[t] for t in texts])

    rows = [{"qa_id": i, "question": q} for i, q in enumerate(["x", "x again", "y"])]
    out = dedup_rows(rows, enc, 0.9, None)
    assert [d.status for d in out] == [KEPT, NEAR_DUPLICATE, KEPT]
    assert calls == [["x", "x again", "y"]]


def test_bad_threshold():
    with pytest.raises(ValueError):
        NodeDeduper(1.5)


def test_real_encoder_flags_paraphrase_not_different_question():
    from trouter.embed import encode

    q = ["What is the capital of France?", "What is the capital city of France?",
         "How many legs does a spider have?"]
    v = encode(q)
    assert v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert float(v[0] @ v[1]) > 0.9 > float(v[0] @ v[2])


def test_truncation_is_measured_in_word_pieces():
    from trouter.embed import load_encoder, truncated

    limit = load_encoder().max_seq_length  # 256 word pieces for all-MiniLM-L6-v2
    # "cat" is one word piece; [CLS] and [SEP] take two places
    fits, cut = " ".join(["cat"] * (limit - 2)), " ".join(["cat"] * (limit - 1))
    assert truncated(["What is 2 + 2?", fits, cut]).tolist() == [False, False, True]


def test_long_questions_are_read_whole_in_query_mode():
    import pandas as pd
    from hydra import compose, initialize_config_dir

    from tests.test_config import CONF
    from trouter.embed import encode, encode_in_windows
    from trouter.stages.embed_queries import embed_texts

    passage = " ".join(["The river floods in spring."] * 60)  # far beyond 256 word pieces
    long_q = f"{passage} Which season brings the floods?"
    texts = pd.DataFrame({"dataset": ["a", "a", "b"],
                          "question": ["What is 2 + 2?", long_q, "Who wrote Hamlet?"],
                          "text": ["What is 2 + 2?", long_q, f"Who wrote Hamlet?\n\n{passage}"]})
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        query = compose("config", overrides=["routing.embed=query"])
        prompt = compose("config", overrides=["routing.embed=prompt"])
    vecs, report = embed_texts(query, texts)
    assert report["a"] == {"queries": 2, "text_truncated": 0.0, "questions_in_windows": 0.5,
                           "question_truncated": 0.0}
    assert report["b"]["text_truncated"] == 1.0 and report["b"]["question_truncated"] == 0.0
    assert np.allclose(vecs[1], encode_in_windows([long_q])[0], atol=1e-5)
    assert not np.allclose(vecs[1], encode([long_q])[0], atol=1e-3)  # the tail was read
    # the whole prompt with the question after a long passage: the question is cut
    moved = texts.assign(text=[f"{passage}\n{q}" for q in texts["question"]])
    _, report = embed_texts(prompt, moved)
    assert report["a"]["question_truncated"] == 1.0 and report["a"]["questions_in_windows"] == 0
