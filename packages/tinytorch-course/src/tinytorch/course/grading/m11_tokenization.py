"""Module 11 (Tokenization): a character tokenizer and the BPE merge step."""

from __future__ import annotations

import numpy as np

from . import check_raises, grading_test

TEXT = "to be, or not to be: that is the question"


@grading_test(points=1)
def char_fit_builds_sorted_vocabulary(student):
    """CharTokenizer.fit learns the distinct characters, in sorted order."""
    tok = student.CharTokenizer().fit(TEXT)
    expected = sorted(set(TEXT))
    assert tok.chars == expected, f"vocabulary should be {expected}, got {tok.chars}"
    assert tok.get_vocab_size() == len(expected)


@grading_test(points=2)
def char_encode_decode_round_trip(student):
    """encode maps each character to its index in the vocabulary; decode inverts it."""
    tok = student.CharTokenizer().fit(TEXT)
    vocab = sorted(set(TEXT))
    ids = tok.encode("not to be")
    assert ids == [vocab.index(c) for c in "not to be"], f"encode('not to be') gave {ids}"
    arr = tok.encode_array("question")
    assert arr.dtype == np.int64, f"encode_array should give int64 ids, got {arr.dtype}"
    assert tok.decode(ids) == "not to be", "decode(encode(s)) must give s back"
    assert tok.decode(np.array([[vocab.index("t"), vocab.index("o")]])) == "to", \
        "decode accepts any shape of integer ids"


@grading_test(points=1)
def char_unknown_characters_are_refused(student):
    """Encoding a character never seen in fit raises a ValueError naming it."""
    tok = student.CharTokenizer().fit(TEXT)
    assert tok.encode("be") == [sorted(set(TEXT)).index(c) for c in "be"]
    check_raises(ValueError, lambda: tok.encode("bez"), "encode('bez')", "'z'")


@grading_test(points=2)
def merge_pair_left_to_right(student):
    """_merge_pair replaces non-overlapping (a, b) pairs left to right."""
    merge = student._merge_pair
    for seq, pair, expected in (([1, 2, 3, 1, 2], (1, 2), [9, 3, 9]),
                                ([2, 2, 2], (2, 2), [9, 2]),
                                ([2, 2, 2, 2], (2, 2), [9, 9]),
                                ([1, 3, 2], (1, 2), [1, 3, 2]),
                                ([], (1, 2), [])):
        got = merge(list(seq), *pair, 9)
        assert got == expected, f"_merge_pair({seq}, {pair}, 9) should be {expected}, got {got}"
