import pytest

from promptlab import StopMatcher, find_stop


def test_find_stop_trims_at_the_earliest_stop() -> None:
    match = find_stop("a b\nObservation 1: x END", ["END", "\nObservation"])
    assert match.text == "a b"
    assert match.stop == "\nObservation"


def test_find_stop_prefers_the_longer_stop_at_the_same_position() -> None:
    assert find_stop("xx\n\n\nyy", ["\n", "\n\n\n"]).stop == "\n\n\n"


def test_no_stop() -> None:
    assert find_stop("hello", ["x"]).stop is None
    assert find_stop("hello", []).text == "hello"


def _stream(chunks: list[str], stops: list[str]) -> tuple[str, str | None]:
    matcher = StopMatcher(stops)
    out = "".join(matcher.feed(c) for c in chunks)
    if not matcher.stopped:
        out += matcher.flush()
    return out, matcher.stop


@pytest.mark.parametrize(
    "chunks",
    [
        ["Thought: a\nObs", "ervation 1: b"],
        ["Thought: a\n", "O", "b", "s", "ervation", " 1", ": b"],
        ["Thought: a\nObservation 1: b"],
    ],
)
def test_stop_split_across_chunks(chunks: list[str]) -> None:
    assert _stream(chunks, ["\nObservation 1:"]) == ("Thought: a", "\nObservation 1:")


def test_partial_stop_is_held_back_then_released() -> None:
    matcher = StopMatcher(["\nObservation"])
    assert matcher.feed("abc\nObs") == "abc"
    assert matcher.feed("olete") == "\nObsolete"
    assert matcher.flush() == ""
    assert not matcher.stopped


def test_held_text_is_flushed_at_the_end() -> None:
    assert _stream(["value: \n\n"], ["\n\n\n"]) == ("value: \n\n", None)


def test_nothing_is_emitted_after_the_stop() -> None:
    matcher = StopMatcher(["X"])
    assert matcher.feed("aXb") == "a"
    assert matcher.feed("more") == ""
    assert matcher.stop == "X"


def test_streamed_and_whole_text_agree() -> None:
    text = "The answer is 42.\n\nQ: next question"
    stops = ["\n\nQ:", "Q:"]
    for size in range(1, 8):
        chunks = [text[i : i + size] for i in range(0, len(text), size)]
        streamed = _stream(chunks, stops)
        whole = find_stop(text, stops)
        assert streamed == (whole.text, whole.stop)
