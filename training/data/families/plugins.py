"""Plugin calls to puyu's own tools, with their real schemas, really run on generated files.

The prompt lists 1-4 tool schemas, always including the one called, so the model learns to read the list.
Uploaded files appear as the app announces them (a `user name=file` turn after the question, under the app's
conversation folder); the tools run on real images made here and their output is rewritten to those paths.
OCR is slow (about a second an image), so images come from a pool per split (ASSETS: large enough that an answer
must be copied from the tool, not remembered) and each is read once.
"""
from __future__ import annotations

import ast
import json
import random
import re
import tempfile
import warnings
from pathlib import Path

from puyu.core.messages import ToolCall
from puyu.core.records import Record, Turn
from puyu.tools.registry import default_tools
from puyu.training.data.conversation import Dialog, Drop
from puyu.training.data.families import PROBLEMS
from puyu.training.data.families.base import output_matches
from puyu.training.data.families.plugin_assets import ASSETS, Asset
from puyu.training.data.phrasing import OPEN, join, noisy, phrasebook

CANON = "/home/user/.local/share/puyu/conversations"
"""Where the app keeps a conversation's files (<data_dir>/conversations/<id>); paths in the data use it."""

WEIGHTS = {"calculator": 3, "solve": 3, "ocr": 2.5, "image_info": 2, "image_edit": 2, "qr_read": 1.5, "qr_make": 0.6,
           "plot": 1, "plot_data": 1, "knowledge_search": 3}
IMAGE_TOOLS = {"ocr", "image_info", "image_edit", "qr_read"}

_BOOK = phrasebook("plugins")
ASK = _BOOK.slots("ask")
"""Requests by (tool, intent, language)."""
REPLY = _BOOK.table("reply")
"""Replies from the tool's result by tool, intent and language."""
NO_CODE = _BOOK.table("no_code")
NO_FILE_ASK = _BOOK.slots("no_file_ask")
NO_FILE_REPLY = _BOOK.table("no_file_reply")
SUPERSCRIPT_FIX = _BOOK.table("superscript_fix")
FUNCTIONS = _BOOK.table("functions")
LABELS = _BOOK.table("labels")


def load_tools(workdir: Path, kb_dir: Path, enabled: set[str] | None = None) -> list:
    """puyu's registered tools (tools/registry.py)."""
    return list(default_tools(workdir, kb_dir, enabled))


class _Inline(ast.NodeTransformer):
    def __init__(self, env: dict):
        self.env = env

    def visit_Name(self, node):
        return self.env.get(node.id, node)


def inline_expression(code: str) -> str | None:
    """A straight-line program as one expression for the calculator (`rate = 7.2`, `cny = 350 * rate`,
    `print(round(cny, 2))` -> `350 * 7.2`), or None when the program is not that simple."""
    env: dict[str, ast.expr] = {}
    result = None
    for node in ast.parse(code).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            env[node.targets[0].id] = _Inline(env).visit(node.value)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and \
                getattr(node.value.func, "id", "") == "print" and len(node.value.args) == 1:
            arg = node.value.args[0]
            if isinstance(arg, ast.Call) and getattr(arg.func, "id", "") == "round":
                arg = arg.args[0]
            result = _Inline(env).visit(arg)
        else:
            return None
    if result is None:
        return None
    text = ast.unparse(result).replace("math.sqrt", "sqrt")
    return None if re.search(r"[A-Za-z_]", text.replace("sqrt", "")) else text


def file_turn(path: str, size: int) -> Turn:
    """The `user name=file` turn that announces an upload, as ui/uploads.py writes it."""
    shown = f"{size / 2**20:.1f}M" if size >= 2**20 else f"{max(1, size // 1024)}K"
    return Turn("user", json.dumps([{"path": path, "size": shown}], ensure_ascii=False), "file")


class PluginMaker:
    """Makes plugin conversations; holds the tools, a scratch folder and the pool of generated files."""

    def __init__(self, pool_scale: float = 1.0, only: list[str] | None = None):
        from puyu.tools.base import Toolbox
        self._scratch = tempfile.TemporaryDirectory(prefix="puyu-data-")  # removed by close() or at exit
        self.tmp = Path(self._scratch.name)
        self.work = self.tmp / "work"
        self.work.mkdir()
        tools = load_tools(self.work, self.tmp / "kb")
        if not tools:
            raise RuntimeError("no plugin tools found")
        self.box = Toolbox(tools, workdir=self.work)
        self.schemas = self.box.schemas()
        names = {s["name"] for s in self.schemas}
        self.weights = {n: w for n, w in WEIGHTS.items() if n in names and (only is None or n in only)}
        if not self.weights:
            raise RuntimeError(f"none of the registered tools ({', '.join(sorted(names))}) has a data maker")
        self.pool_scale = pool_scale
        self._assets: dict[tuple, tuple[Path, Asset]] = {}
        self._ran: dict[str, tuple[str, bool]] = {}
        self._kb = None

    def knowledge(self):
        """The knowledge bases (built on first use: loading the embedding model takes a while)."""
        if self._kb is None:
            from puyu.tools.base import Toolbox
            from puyu.training.data.families.knowledge import KnowledgeBase
            base = KnowledgeBase(self.tmp / "kbs", self.tmp / "docs")
            boxes = {split: Toolbox(load_tools(self.work, self.tmp / "kbs" / split, {"knowledge_search"}),
                                    workdir=self.work) for split in ("train", "heldout")}
            self._kb = (base, boxes)
        return self._kb

    def close(self) -> None:
        self._scratch.cleanup()

    # ---- running tools and files ------------------------------------------------------------------------

    def run(self, name: str, args: dict, real_args: dict, conv_dir: str, key: str) -> tuple[str, bool]:
        """Run a tool for real on `real_args`; the text comes back as if it had run on `args` in `conv_dir`."""
        box = self.box
        if name == "knowledge_search":  # each split searches its own base
            box = self.knowledge()[1][key.split(":")[0]]
        cache_key = json.dumps([name, real_args, key.split(":")[0]], sort_keys=True)
        if cache_key in self._ran:
            text, ok = self._ran[cache_key]
        else:
            with warnings.catch_warnings():  # e.g. matplotlib's missing-glyph notes: the tool's business
                warnings.simplefilter("ignore")
                result = box.run(ToolCall(name, real_args))
            text, ok = result.text, result.ok
            self._ran[cache_key] = (text, ok)  # tools are functions of their inputs: run each input once
        for k, v in real_args.items():
            if isinstance(v, str) and v != args.get(k):
                text = text.replace(v, str(args[k]))
        text = text.replace(str(self.work), conv_dir)
        # Output files are numbered in the order the shared scratch folder got them (ocr-1.png, ocr-2.png, ...);
        # in the app, this one call would be the conversation's first: show it so.
        return re.sub(re.escape(conv_dir) + r"/(\w+)-\d+(\.\w+)\b", rf"{conv_dir}/\1-1\2", text), ok

    def asset(self, d: Dialog, kind: str) -> tuple[str, str, Asset, str]:
        """A file for this item: (path the data shows, real path, its facts, the conversation folder)."""
        spec = ASSETS[kind]
        index = d.rng.randrange(max(2, round(spec.pool[d.split] * self.pool_scale)))
        key = (kind, d.split, index)
        if key not in self._assets:
            folder = self.work / "assets"  # tools open only files inside their work dir (not uploads/: no substitutes)
            folder.mkdir(exist_ok=True)
            self._assets[key] = spec.make(random.Random(f"asset:{kind}:{d.split}:{index}"),
                                          folder / f"{kind}-{d.split}-{index}")
        real, facts = self._assets[key]
        conv_dir = f"{CANON}/{d.rng.getrandbits(48):012x}"
        shown = f"{conv_dir}/uploads/{d.rng.choice(spec.names)}{real.suffix}"
        return shown, str(real), facts, conv_dir

    # ---- one conversation -------------------------------------------------------------------------------

    def tool_list(self, rng: random.Random, called: str) -> list[dict]:
        others = [s for s in self.schemas if s["name"] != called]
        shown = [s for s in self.schemas if s["name"] == called]
        # each schema costs ~200-270 tokens of a ~1024-token context: mostly short lists
        shown += rng.sample(others, min(len(others), rng.choice([0, 0, 1, 1, 1, 2, 3])))
        rng.shuffle(shown)
        return shown

    def make(self, d: Dialog) -> Record:
        name = d.rng.choices(list(self.weights), list(self.weights.values()))[0]
        d.tools = self.tool_list(d.rng, name)
        if name in IMAGE_TOOLS and d.split == "train" and d.rng.random() < 0.08:
            return self._no_file(d, name)
        extra = getattr(self, f"_{name}")(d) or {}
        return d.record(f"plugin_{name}", "tool", expect_tool=name, **extra)

    def _call(self, d: Dialog, name: str, args: dict, real: dict | None = None, conv_dir: str = "",
              thought: str = "") -> tuple[str, bool]:
        conv_dir = conv_dir or f"{CANON}/{d.rng.getrandbits(48):012x}"
        out, ok = self.run(name, args, real or args, conv_dir, key=f"{d.split}:{d.rng.getrandbits(32)}")
        d.plugin(name, args, out, thought)
        return out, ok

    def _ask(self, d: Dialog, slot: tuple, shown: str | None = None, real: str | None = None, **fields) -> None:
        text = d.ph(ASK[slot + (d.lang,)], key=True, **fields)
        d.user(noisy(join(d.ph(OPEN[d.lang]), text), d.rng, d.lang, rate=0.2))
        if shown:
            d.turns.append(file_turn(shown, Path(real).stat().st_size))

    def _say(self, d: Dialog, slot: tuple, answer, **fields) -> None:
        tool, intent = slot
        d.say(d.rng.choice(REPLY[tool][intent][d.lang]).format(**fields))
        d.answers.append(answer)

    def _no_file(self, d: Dialog, name: str) -> Record:
        """Asked about an image that was never uploaded: ask for it rather than call with an invented path."""
        d.user(noisy(d.ph(NO_FILE_ASK[(name, d.lang)], key=True), d.rng, d.lang, rate=0.2))
        d.say(d.rng.choice(NO_FILE_REPLY[d.lang]))
        return d.record("plugin_no_file", "chat", expect_tool=None, answer=None)

    # ---- math tools: the same problems the interpreter items use ---------------------------------------

    def _calculator(self, d: Dialog):
        for _ in range(10):
            family = d.rng.choice(["arithmetic", "arithmetic", "percent", "units", "currency"])
            fn = d.rng.choices([m for m, _ in PROBLEMS[family]], [w for _, w in PROBLEMS[family]])[0]
            p = fn(d.ctx())
            expr = inline_expression(p.code)
            if expr and isinstance(p.expected, float):
                break
        else:
            raise Drop("no_calculator_problem")
        d.user(p.question)
        out, ok = self._call(d, "calculator", {"expression": expr})
        if not ok or not output_matches(out, p.expected):
            raise Drop("calculator_disagrees")
        value = out.split("≈")[-1].strip()
        d.say(p.reply(value))
        d.answers.append(p.answer(value))

    def _solve(self, d: Dialog):
        fn = d.rng.choices([m for m, _ in PROBLEMS["algebra"]], [w for _, w in PROBLEMS["algebra"]])[0]
        p = fn(d.ctx())
        form = p.plugin
        d.user(p.question)
        if form.verbatim and d.rng.random() < 0.5:  # x² copied from the question: the tool says why it fails
            _, ok = self._call(d, "solve", {**form.args, "expression": form.verbatim})
            if ok:
                raise Drop("verbatim_expression_parsed")
            out, ok = self._call(d, "solve", form.args, thought=SUPERSCRIPT_FIX[d.lang])
            extra = {"mistake": "superscript"}
        else:
            out, ok = self._call(d, "solve", form.args)
            extra = {}
        result = json.loads(out).get("result", "") if ok else ""
        if not ok or not output_matches(result, p.expected):
            raise Drop("solve_disagrees")
        d.say(form.reply(result))
        d.answers.append(p.expected)
        return extra

    # ---- image tools -------------------------------------------------------------------------------------

    def _ocr(self, d: Dialog):
        kind = d.rng.choice(["receipt", "sign", "notice_zh"] + (["notice_zh"] if d.lang == "zh" else ["receipt"]))
        shown, real, asset, conv = self.asset(d, kind)
        intent = d.rng.choice(["read", "fact"])
        self._ask(d, ("ocr", kind if intent == "fact" else "read"), shown, real)
        out, ok = self._call(d, "ocr", {"image": shown}, {"image": real}, conv)
        text = json.loads(out.split("\n[image:")[0])["text"] if ok else ""
        if intent == "read":
            if not text.strip():
                raise Drop("ocr_read_nothing")
            self._say(d, ("ocr", "read"), text, text=text)
            return {"answer_kind": "text"}
        pattern, fact = {"receipt": (r"TOTAL\s+([\d.]+)", "total"), "sign": (r"PASSWORD:?\s*(\S+)", "password"),
                         "notice_zh": (r"时间[:：]\s*(\S+)", "time")}[kind]
        m = re.search(pattern, text)
        if not m or m.group(1) != asset.facts[fact]:
            raise Drop("ocr_misread")
        self._say(d, ("ocr", kind), float(m.group(1)) if kind == "receipt" else m.group(1), value=m.group(1))

    def _image_info(self, d: Dialog):
        shown, real, asset, conv = self.asset(d, "photo")
        facts = asset.facts
        intent = d.rng.choice(["size", "size", "format", "colour"] + (["taken", "camera"] if "make" in facts else []))
        self._ask(d, ("info", intent), shown, real)
        out, ok = self._call(d, "image_info", {"image": shown}, {"image": real}, conv)
        info = json.loads(out) if ok else {}
        if not info or (info["width"], info["height"]) != (facts["width"], facts["height"]):
            raise Drop("image_info_disagrees")
        exif = info.get("exif", {})
        values = {"size": f"{info['width']}x{info['height']}", "format": info.get("format", ""),
                  "colour": info["dominant_colours"][0]["hex"], "taken": exif.get("DateTime", ""),
                  "camera": f"{exif.get('Make', '')} {exif.get('Model', '')}".strip()}
        value = values[intent]
        if not value:
            raise Drop("image_info_missing_field")
        answer = [float(info["width"]), float(info["height"])] if intent == "size" else value
        self._say(d, ("info", intent), answer, value=value, w=info["width"], h=info["height"])

    def _image_edit(self, d: Dialog):
        shown, real, asset, conv = self.asset(d, "photo")
        w, h = asset.facts["width"], asset.facts["height"]
        op = d.rng.choice(["rotate", "crop", "resize", "grayscale", "edges"])
        args: dict = {"image": shown, "operation": op}
        fields: dict = {}
        if op == "rotate":
            args["angle"] = fields["angle"] = d.rng.choice([90, 180, 270, 45, 30, -90])
        elif op == "crop":
            x0, y0 = d.rng.randrange(0, w // 2, 10), d.rng.randrange(0, h // 2, 10)
            x1, y1 = d.rng.randrange(x0 + 20, w + 1, 10), d.rng.randrange(y0 + 20, h + 1, 10)
            args.update(x0=x0, y0=y0, x1=x1, y1=y1)
            fields.update(x0=x0, y0=y0, x1=x1, y1=y1)
        elif op == "resize":
            side = d.rng.choice(["width", "height"])
            args[side] = fields["n"] = d.rng.choice([100, 200, 256, 300, 400, 500, 640, 800])
            op = f"resize_{side}"
        self._ask(d, ("edit", op), shown, real, **fields)
        out, ok = self._call(d, "image_edit", args, {**args, "image": real}, conv)
        m = re.search(r"-> (\d+)x(\d+)", out)
        if not ok or not m:
            raise Drop("image_edit_failed")
        size = f"{m.group(1)}x{m.group(2)}"
        self._say(d, ("edit", "done"), [float(m.group(1)), float(m.group(2))], size=size)

    def _qr_read(self, d: Dialog):
        empty = d.rng.random() < 0.12
        shown, real, asset, conv = self.asset(d, "photo" if empty else "qr")
        self._ask(d, ("qr", "read"), shown, real)
        out, ok = self._call(d, "qr_read", {"image": shown}, {"image": real}, conv)
        codes = json.loads(out).get("codes", []) if ok else None
        if codes is None:
            raise Drop("qr_read_failed")
        if empty:
            if codes:
                raise Drop("qr_found_in_photo")
            d.say(d.rng.choice(NO_CODE[d.lang]))
            d.answers.append(None)
            return {"answer_kind": "none"}
        if len(codes) != 1 or codes[0]["data"] != asset.facts["data"]:
            raise Drop("qr_misread")
        self._say(d, ("qr", "read"), codes[0]["data"], value=codes[0]["data"])

    def _qr_make(self, d: Dialog):
        from puyu.training.data.families.plugin_assets import qr_data
        data = qr_data(d.rng)
        self._ask(d, ("qr", "make"), data=data)
        out, ok = self._call(d, "qr_make", {"text": data})
        m = re.search(r"\[image: ([^\]]+)\]", out)
        if not ok or not m:
            raise Drop("qr_make_failed")
        self._say(d, ("qr", "made"), None, path=m.group(1))  # the file name is the tool's to choose
        return {"answer_kind": "image"}

    # ---- charts and documents ---------------------------------------------------------------------------

    def _plot(self, d: Dialog):
        """Functions of x: `plot`."""
        rng = d.rng
        f = rng.choice(FUNCTIONS)
        a, b = (-rng.choice([2, 5, 10]), rng.choice([2, 5, 10])) if "log" not in f and "sqrt" not in f \
            else (rng.choice([0.1, 1]), rng.choice([5, 10, 20]))
        ranged = rng.random() < 0.6 or a > 0
        args = {"expression": f, "x_min": a, "x_max": b} if ranged else {"expression": f}
        self._ask(d, ("plot", "range" if ranged else "function"), f=f, a=a, b=b)
        return self._chart(d, "plot", args)

    def _plot_data(self, d: Dialog):
        """Numbers and categories: `plot_data`."""
        rng = d.rng
        labels = rng.sample(LABELS[d.lang], rng.randint(3, 5))
        values = [rng.randint(1, 60) for _ in labels]
        bar = rng.random() < 0.5
        if bar:
            shown = ("、" if d.lang == "zh" else ", ").join(f"{k} {v}" for k, v in zip(labels, values))
            args = {"data": json.dumps(dict(zip(labels, values)), ensure_ascii=False), "kind": "bar"}
        else:
            shown, args = ", ".join(map(str, values)), {"data": json.dumps(values)}
        self._ask(d, ("plot", "bar" if bar else "line"), data=shown)
        return self._chart(d, "plot_data", args)

    def _chart(self, d: Dialog, name: str, args: dict):
        out, ok = self._call(d, name, args)
        m = re.search(r"\[image: ([^\]]+)\]", out)
        if not ok or not m:
            raise Drop(f"{name}_failed")
        self._say(d, ("plot", "done"), None, path=m.group(1), what=out.splitlines()[0])
        return {"answer_kind": "image"}

    def _knowledge_search(self, d: Dialog):
        from puyu.training.data.families.knowledge import QUESTION, sentence_with
        from puyu.training.data.families.knowledge import REPLY as KB_REPLY
        base, _ = self.knowledge()
        fact = d.rng.choice([f for f in base.facts[d.split] if f.lang == d.lang])
        d.user(noisy(join(d.ph(OPEN[d.lang]), d.ph(QUESTION[fact.key], key=True)), d.rng, d.lang, rate=0.2))
        out, ok = self._call(d, "knowledge_search", {"query": fact.query, "top_k": 2})
        sentence = sentence_with(out, fact.doc, fact.value) if ok else None
        if not sentence:
            raise Drop("knowledge_search_missed")
        d.say(d.rng.choice(KB_REPLY[d.lang]).format(doc=fact.doc, sentence=sentence))
        d.answers.append(float(fact.value) if re.fullmatch(r"[\d.]+", fact.value) else fact.value)
