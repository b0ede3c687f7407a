"""tool-tasks: held-out agent records (puyu/core/records.py) replayed through the real agent and scored."""
import json

import pytest

from puyu.core.records import Record
from puyu.eval.benchmarks.base import Item, LoadOptions
from puyu.eval.benchmarks.tool_tasks import ToolTasks
from puyu.eval.config import EvalConfig
from puyu.eval.data import DataMissing
from puyu.eval.runner import run_eval
from tests.test_eval_fakes import (
    DictInterpreter,
    PromptModel,
    code_call,
    last_output,
    last_user,
    plugin_call,
    reference_replayer,
    steps_taken,
)

CONVERT = {"name": "unit_convert", "description": "Convert a length.",
           "parameters": [{"name": "value", "type": "NUMBER", "description": "how much"},
                          {"name": "unit", "type": "STRING", "description": "its unit"}],
           "required": ["value", "unit"]}


def user(text):
    return {"role": "user", "content": text}


def said(text):
    return {"role": "assistant", "content": text}


def calls(code, out):
    return [{"role": "assistant", "content": "", "tool_call": {"name": "python", "arguments": {"code": code}}},
            {"role": "environment", "name": "interpreter", "content": out}]


RECORDS = [
    {"conversation": [user("What is 12 times 7?"), *calls("print(12*7)", "84"), said("It is 84.")],
     "meta": {"id": "tool-1", "category": "tool", "answer": 84, "expect_tool": "python", "unseen_phrasing": False}},
    {"conversation": [user("Multiply twelve by seven, please"), *calls("print(12*7)", "84"), said("84")],
     "meta": {"id": "tool-2", "category": "tool", "answer": 84, "expect_tool": "python", "unseen_phrasing": True}},
    {"conversation": [user("Hi there!"), said("Hello!")],
     "meta": {"id": "chat-1", "category": "chat", "answer": None, "expect_tool": None}},
    {"conversation": [user("Book me a flight"), said("I cannot book flights.")],
     "meta": {"id": "oos-1", "category": "out_of_scope", "answer": None, "expect_tool": None}},
    {"conversation": [user("Let x be 5 squared."), *calls("x = 5**2\nprint(x)", "25"), said("x is 25."),
                      user("Now double x."), *calls("print(x*2)", "50"), said("50")],
     "meta": {"id": "multi-1", "category": "multi_turn", "answer": 50, "answers": [25, 50], "expect_tool": "python",
              "unseen_phrasing": False}},
    {"conversation": [user("Convert 3 km to m"),
                      {"role": "assistant", "content": "", "tool_call": {"name": "unit_convert",
                                                                         "arguments": {"value": 3, "unit": "km"}}},
                      {"role": "environment", "name": "plugin", "content": "3000 m"}, said("3000 m")],
     "tools": [CONVERT],
     "meta": {"id": "plugin-1", "category": "tool", "answer": 3000, "expect_tool": "unit_convert"}},
]


@pytest.fixture
def heldout(tmp_path):
    path = tmp_path / "heldout.jsonl"
    for r in RECORDS:
        Record.from_dict(r).validate()  # the fixture is a record training/data could have written
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    return path


def good_agent(prompt: str) -> str:
    """Uses the right tool, then answers from its output; chats without tools."""
    q, step = last_user(prompt), steps_taken(prompt)
    if step > 0:
        return f"The result is {last_output(prompt).split()[0]}."
    if "12" in q or "twelve" in q:
        return code_call("print(12*7)")
    if "5 squared" in q:
        return code_call("x = 5**2\nprint(x)")
    if "double x" in q:
        return code_call("print(x*2)")  # only works if the first turn's variable is still there
    if "Convert" in q:
        return plugin_call("unit_convert", '{"value": 3, "unit": "km"}')
    return "Hello! I can't do that, but I can help with maths."


def run(heldout, tmp_path, model, **kw):
    cfg = EvalConfig(model="fake", bench=["tool-tasks"], heldout=heldout, out=tmp_path / "run", progress=False,
                     concurrency=3, **kw)
    return run_eval(cfg, model=model, make_interpreter=DictInterpreter, log=lambda m: None)["benchmarks"]["tool-tasks"]


def test_a_good_agent_scores_full_marks(heldout, tmp_path):
    s = run(heldout, tmp_path, PromptModel(good_agent))
    assert s["n"] == 6
    for metric in ("answer_acc", "call_valid", "tool_choice", "no_tool_chat", "multi_turn_acc", "unseen_acc",
                   "seen_acc", "grounded", "tool_answer_acc"):
        assert s[metric] == 100, metric
    assert s["by_subject"]["tool"]["n"] == 3


def guesser(prompt: str) -> str:
    """Never calls a tool; knows 84 by heart, guesses the rest; calls a tool on chat."""
    q = last_user(prompt)
    if "Hi" in q:
        return code_call("print('hi')") if steps_taken(prompt) == 0 else "hi"
    return "It is 84." if ("12" in q or "twelve" in q) else "It is 7."


def test_guesses_and_misplaced_calls_are_scored_down(heldout, tmp_path):
    s = run(heldout, tmp_path, PromptModel(guesser))
    assert s["answer_acc"] == pytest.approx(200 / 4)  # the two 84s of the four items with an answer
    assert s["no_tool_chat"] == 50 and s["multi_turn_acc"] == 0
    assert s["grounded"] == 0  # right answers, but none came from a tool
    assert s["tool_choice"] == pytest.approx(100 / 6, abs=0.01)  # only the out-of-scope request was handled right


def test_score_details(heldout):
    bench = ToolTasks(heldout)
    items = {i.data["record"]["meta"]["id"]: i for i in bench.load(None, LoadOptions())}

    def rec(final, events, turns=1):
        return {"id": "x", "turns": [{"final": final, "events": events}] * turns}

    wrong_tool = {"type": "tool_call", "call": {"name": "calculator", "arguments": {"x": 1}, "id": "1"}}
    s = bench.score(items["plugin-1"], rec("3000", [wrong_tool]))
    assert s["call_valid"] == 0 and s["tool_choice"] == 0 and s["answer_acc"] == 1 and s["grounded"] == 0
    bad_args = {"type": "tool_call", "call": {"name": "unit_convert", "arguments": {"value": "3"}, "id": "1"}}
    assert bench.score(items["plugin-1"], rec("", [bad_args]))["call_valid"] == 0
    malformed = {"type": "error", "message": "bad json", "recoverable": True}
    assert bench.score(items["tool-1"], rec("84", [malformed]))["call_valid"] == 0
    empty = bench.score(items["tool-1"], {"id": "x", "turns": []})
    assert empty["answer_acc"] == 0 and empty["call_valid"] is None
    assert bench.score(items["chat-1"], rec("Hello", []))["answer_acc"] is None


def test_recorded_plugin_results_need_the_recorded_arguments(heldout):
    from puyu.core.messages import ToolCall
    from puyu.tools.base import Toolbox

    bench = ToolTasks(heldout)
    item = next(i for i in bench.load(None, LoadOptions()) if i.data["record"]["meta"]["id"] == "plugin-1")
    box = Toolbox(bench.tools(item))
    assert box.run(ToolCall("unit_convert", {"value": 3.0, "unit": " KM"})).text == "3000 m"
    assert not box.run(ToolCall("unit_convert", {"value": 4, "unit": "km"})).ok


def test_turns_replay_each_user_turn(heldout):
    bench = ToolTasks(heldout)
    item = next(i for i in bench.load(None, LoadOptions()) if i.data["record"]["meta"]["id"] == "multi-1")
    assert [[m.content for m in g] for g in bench.turns(item)] == [["Let x be 5 squared."], ["Now double x."]]


def test_categories_filter_and_missing_file(heldout, tmp_path):
    items = ToolTasks(heldout).load(None, LoadOptions(subjects=["chat", "out_of_scope"]))
    assert sorted(i.data["record"]["meta"]["id"] for i in items) == ["chat-1", "oos-1"]
    with pytest.raises(DataMissing, match="nothing.jsonl"):
        ToolTasks(tmp_path / "nothing.jsonl").load(None, LoadOptions())
    assert isinstance(Item("a", {}), Item)


def test_interpreter_state_survives_between_turns_with_the_real_sandbox(heldout, tmp_path):
    """The agent runs each tool call on a new thread; the kernel must still outlive it (see _PinnedInterpreter)."""
    from puyu.tools.interpreter import PythonInterpreter

    cfg = EvalConfig(model="fake", bench=["tool-tasks"], heldout=heldout, out=tmp_path / "run", progress=False,
                     subjects=["multi_turn"])
    s = run_eval(cfg, model=PromptModel(good_agent), make_interpreter=PythonInterpreter,
                 log=lambda m: None)["benchmarks"]["tool-tasks"]
    assert s["n"] == 1 and s["multi_turn_acc"] == 100


def test_replaying_the_references_of_a_built_split_scores_full_marks(tmp_path):
    """Contract with training/data: its held-out records load, replay and score as their own answers say."""
    from puyu.tools.interpreter import PythonInterpreter
    from puyu.training.data.build import main as build

    assert build(["--out", str(tmp_path / "data"), "--n-train", "10", "--n-heldout", "20", "--gsm8k", "none",
                  "--progress", "false"]) == 0
    path = tmp_path / "data" / "heldout.jsonl"
    cfg = EvalConfig(model="fake", bench=["tool-tasks"], heldout=path, out=tmp_path / "run", progress=False,
                     concurrency=4)
    s = run_eval(cfg, model=PromptModel(reference_replayer(path)), make_interpreter=PythonInterpreter,
                 log=lambda m: None)["benchmarks"]["tool-tasks"]
    assert s["n"] == 20
    for metric in ("answer_acc", "call_valid", "tool_choice", "no_tool_chat", "multi_turn_acc", "grounded"):
        assert s.get(metric, 100) == 100, metric


def test_a_garbled_upload_path_is_replayed_as_the_app_reads_it(tmp_path):
    """The app's tools read a path to no file as the upload it most likely means (tools/files.py); the replay
    does the same, so the score is what the app would give. Other arguments must still be the recorded ones."""
    from puyu.core.messages import ToolCall
    from puyu.tools.base import Toolbox

    info = {"name": "image_info", "description": "Size of an image.",
            "parameters": [{"name": "image", "type": "STRING", "description": "path"}], "required": ["image"]}
    upload = "/home/user/.local/share/puyu/conversations/cb26c20661f3/uploads/picture.png"
    record = {"conversation": [user("How big is this picture?"),
                               {"role": "user", "name": "file", "content": json.dumps([{"path": upload, "size": "8K"}])},
                               {"role": "assistant", "content": "", "tool_call": {"name": "image_info",
                                                                                  "arguments": {"image": upload}}},
                               {"role": "environment", "name": "plugin", "content": "640x480"}, said("640x480")],
              "tools": [info], "meta": {"id": "plugin-2", "category": "tool", "answer": None,
                                        "expect_tool": "image_info"}}
    path = tmp_path / "heldout.jsonl"
    path.write_text(json.dumps(record) + "\n")
    bench = ToolTasks(path)
    box = Toolbox(bench.tools(bench.load(None, LoadOptions())[0]))

    def run(image):
        return box.run(ToolCall("image_info", {"image": image}))

    assert run(upload).text == "640x480"
    garbled = run(upload.replace("cb26c20661f3", "cb26c2661f3"))
    assert garbled.ok and garbled.text == (f"(There is no file {upload.replace('cb26c20661f3', 'cb26c2661f3')}; "
                                           "used the upload picture.png.)\n640x480")
    assert run("photo.jpg").ok  # another name: the latest uploaded image, as in the app
    no_image = Toolbox([type(box.actions["image_info"])(info, [({"image": upload}, "640x480")])])
    assert not no_image.run(ToolCall("image_info", {"image": "photo.jpg"})).ok  # nothing uploaded to fall back on


def test_a_fresh_clone_evaluates_on_the_shipped_split(monkeypatch, tmp_path):
    """Without a data build of one's own, tool-tasks runs on the bundled model's held-out split, which puyu ships:
    `puyu eval` with its default benchmarks works on a fresh clone."""
    from puyu.eval.benchmarks import tool_tasks

    monkeypatch.setattr(tool_tasks, "DEFAULT_FILE", tmp_path / "data" / "agent" / "heldout.jsonl")
    bench = ToolTasks()
    assert bench.path == tool_tasks.SHIPPED_FILE
    items = bench.load(None, LoadOptions())
    assert len(items) == 500 and {i.subject for i in items} == {"tool", "multi_turn", "gsm8k", "chat", "out_of_scope"}
    assert sum(bool(i.data["record"]["meta"].get("unseen_phrasing")) for i in items) == 334
    own = tmp_path / "data" / "agent" / "heldout.jsonl"  # a build of one's own wins
    own.parent.mkdir(parents=True)
    own.write_text(tool_tasks.SHIPPED_FILE.read_text().splitlines()[0] + "\n")
    assert ToolTasks().path == own and len(ToolTasks().load(None, LoadOptions())) == 1
