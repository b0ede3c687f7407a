"""puyu's configuration: one tree of dataclasses that the CLI, YAML files, environment variables, the app's settings
panel, `puyu serve` and eval all read."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The checkout puyu runs from (an editable install); relative defaults such as runs/ and data/ live here."""


def shared_data_dir() -> Path:
    """The shared benchmark data (GSM8K, T-Eval, CMMLU): $PUYU_SHARED_DATA, else `<checkout>/../shared/data`."""
    env = os.environ.get("PUYU_SHARED_DATA")
    return Path(env) if env else (REPO_ROOT.parent / "shared" / "data").resolve()
