"""puyu.core.answers: the one rule for "does this text state that number", used by training's data checks and
eval's lenient scoring alike."""
import pytest

from puyu.core.answers import answer_matches, decimals, numbers_in, numbers_match, states_number, written_numbers


def test_numbers_are_read_as_written():
    assert written_numbers("Total: 1,234.50 (was -3, now .5 or 2.5e-3)") == [
        ("1234.50", 1234.5), ("-3", -3.0), (".5", 0.5), ("2.5e-3", 0.0025)]
    assert numbers_in("no digits") == []
    assert [decimals(w) for w in ("3.14", "1200", "1,200.5", "2.5e-3", "1e5", "0.0")] == [2, 0, 1, 4, 0, 1]


@pytest.mark.parametrize("written, want", [
    ("18", 18), ("18.0", 18), ("17.999999999999996", 18),   # equal, or float noise
    ("33.33", 100 / 3), ("33.3", 100 / 3),                  # the reference rounded to the decimals written
    ("3.14", 3.14159), ("3.1", 3.14159),
    ("6.43", 6.425), ("6.42", 6.425),                        # a half either way: float rounding decides which
    ("105.85", 105.845), ("4189146.98", 4189146.975),
])
def test_a_number_states_the_reference_it_rounds_to(written, want):
    assert numbers_match(float(written), want, written)


@pytest.mark.parametrize("written, want", [
    ("33", 100 / 3),            # a whole number gets no rounding allowance
    ("1234567", 1234567.3),
    ("34", 33.0), ("17", 18),
    ("3.2", 3.14159),           # more than half a unit of the last written place away
    ("105.85", 105.84),         # a rounded reference is not the value: 105.85 would be 105.845 rounded
    ("18.0000001", 18),         # as many places as written, not float noise
])
def test_a_number_does_not_state_what_it_does_not_round_to(written, want):
    assert not numbers_match(float(written), want, written)


def test_without_the_written_text_only_float_noise_is_forgiven():
    assert numbers_match(18.000000000000004, 18) and numbers_match(0.30000000000000004, 0.3)
    assert not numbers_match(33.33, 100 / 3)
    assert not numbers_match(None, 18) and not numbers_match(18, None)


def test_answer_matching():
    assert answer_matches("The answer is 1,234.5.", 1234.5)
    assert answer_matches("It is 33.33%.", 33.333333)
    assert not answer_matches("It is 33.33%, not 34.", 33.333333)  # the last number is the answer
    assert not answer_matches("It is 34.", 33.0)
    assert answer_matches("x = 2 or x = 3", [3.0, 2.0]) and not answer_matches("x = 2", [3.0, 2.0])
    assert answer_matches("It was a Friday.", "friday") and answer_matches("True, it is.", True)
    assert answer_matches("anything", None)
    assert states_number("width 640\nheight 480.0", 480) and not states_number("width 640", 480)
