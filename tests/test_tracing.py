import io
import json
from pathlib import Path

from promptlab import TraceRecorder, read_traces


def test_steps_stream_to_jsonl_as_they_happen(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    recorder = TraceRecorder("react", "Who?", sink=path)
    recorder.add("generate", prompt="p", completion="c", prompt_tokens=3)
    # Before finish, the step is already on disk.
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["event"] for e in events] == ["start", "step"]
    trace = recorder.finish("Paris", "ok")
    assert trace.prompt_tokens == 3
    [restored] = read_traces(path)
    assert restored.answer == "Paris" and restored.steps[0].completion == "c"


def test_a_crashed_run_reads_back_as_incomplete(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    recorder = TraceRecorder("cot", "q", sink=path)
    recorder.add("generate", completion="half")
    with path.open("a") as handle:
        handle.write('{"event": "step", "ind')  # torn write
    [restored] = read_traces(path)
    assert restored.status == "incomplete"
    assert len(restored.steps) == 1


def test_file_object_sink() -> None:
    sink = io.StringIO()
    TraceRecorder("cot", "q", sink=sink).finish("1", "ok")
    assert sink.getvalue().count("\n") == 2


def test_write_trace_round_trips_in_one_write(tmp_path: Path) -> None:
    from promptlab.tracing import write_trace

    recorder = TraceRecorder("react", "q", item_id="7")
    recorder.add("generate", prompt="p", completion="c", prompt_tokens=4, latency_s=0.5)
    recorder.add("action", action={"tool": "search", "argument": "x"}, observation="o")
    trace = recorder.finish("a", "ok")
    writes: list[str] = []

    class Sink(io.StringIO):
        def write(self, text: str) -> int:
            writes.append(text)
            return super().write(text)

    sink = Sink()
    write_trace(trace, sink)
    assert len(writes) == 1, "one write per trace, so concurrent traces never interleave"
    path = tmp_path / "t.jsonl"
    path.write_text(sink.getvalue() * 2)
    first, second = read_traces(path)
    assert first == second == trace
