"""Module 11 (Tokenization): a character tokenizer and the BPE merge step.

The property-based tests draw texts over an alphabet with spaces, newlines, accents, CJK
and emoji (characters outside the Basic Multilingual Plane), characters the vocabulary
lacks, and id sequences full of repeated and overlapping pairs for the merge step."""

from __future__ import annotations

import numpy as np

from . import check_equal, check_raises, grading_test

ALPHABET = "ab z\n.,é中😀"

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


def _text_cases(h):
    st = h.st
    return st.fixed_dictionaries({"text": st.text(ALPHABET, min_size=1, max_size=30),
                                  "probe": st.text(ALPHABET, max_size=12)})


@grading_test(points=2, cases=_text_cases)
def char_tokenizer_any_text(student, case):
    """For any text (whitespace at the ends, accents, CJK, emoji): the vocabulary is its
    distinct characters sorted by code point, encode numbers them, decode(encode(s)) == s,
    and a string with characters outside the vocabulary is refused naming them."""
    text, probe = case["text"], case["probe"]
    tok = student.CharTokenizer().fit(text)
    vocab = sorted(set(text))
    check_equal(tok.chars, vocab, "the vocabulary of fit(text)")
    ids = tok.encode(text)
    check_equal(ids, [vocab.index(c) for c in text], "encode(text)")
    check_equal(tok.decode(ids), text, "decode(encode(text))")
    check_equal(tok.decode(np.array(ids, dtype=np.int64)), text, "decode of an id array")
    unknown = sorted(set(probe) - set(text))
    if unknown:
        check_raises(ValueError, lambda: tok.encode(probe), f"encode({probe!r})",
                     repr(unknown[0]))
    else:
        check_equal(tok.encode(probe), [vocab.index(c) for c in probe], f"encode({probe!r})")


def _merge_cases(h):
    st = h.st
    symbol = st.integers(0, 3)
    return st.fixed_dictionaries({"seq": st.lists(symbol, max_size=14),
                                  "pair": st.tuples(symbol, symbol), "at": st.integers(0, 14)})


def _merged(seq, a, b, new):
    out, i = [], 0
    while i < len(seq):
        if i + 1 < len(seq) and (seq[i], seq[i + 1]) == (a, b):
            out.append(new)
            i += 2
        else:
            out.append(seq[i])
            i += 1
    return out


@grading_test(points=2, cases=_merge_cases)
def merge_pair_any_sequence(student, case):
    """_merge_pair on any sequence, with repeated and self-overlapping pairs (a, a):
    each leftmost non-overlapping occurrence becomes the new id, the input is unchanged."""
    (a, b), at = case["pair"], case["at"] % (len(case["seq"]) + 1)
    seq = case["seq"][:at] + [a, b] + case["seq"][at:]  # the pair occurs at least once
    original = list(seq)
    got = student._merge_pair(seq, a, b, 9)
    check_equal(list(got), _merged(original, a, b, 9), f"_merge_pair({original}, ({a}, {b}), 9)")
    check_equal(seq, original, "the input sequence after _merge_pair")
