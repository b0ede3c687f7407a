"""Predictions cached per item in JSONL, so an interrupted run resumes where it stopped.

One file per benchmark; each line is one finished item's record, appended and flushed as soon as the item is
done. A last line cut short by a kill is dropped on reading (its item simply runs again).
"""
from __future__ import annotations

import json
import threading
from pathlib import Path


class PredictionCache:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.records: dict[str, dict] = {}
        self._lock = threading.Lock()
        if self.path.exists():
            self._read()

    def _read(self) -> None:
        lines = self.path.read_text("utf-8").splitlines()
        for n, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                if n == len(lines) - 1:  # the run was killed mid-write: drop the stump before appending
                    self.path.write_text("".join(x + "\n" for x in lines[:n]), "utf-8")
                    continue
                raise ValueError(f"{self.path}:{n + 1}: not a prediction record; delete the file to start over")
            self.records[str(record["id"])] = record

    def __contains__(self, item_id: str) -> bool:
        return item_id in self.records

    def get(self, item_id: str) -> dict | None:
        return self.records.get(item_id)

    def add(self, record: dict) -> None:
        line = json.dumps(record, ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
                f.flush()
            self.records[str(record["id"])] = record
