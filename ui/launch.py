"""`puyu ui`: start the Streamlit app with the settings given on the command line.

The page runs in Streamlit's own process, so the settings travel there as JSON in an environment variable.
`streamlit run ui/app.py` works too; the app then starts from the config file or the defaults.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from puyu.core.config import Settings
from puyu.ui.settings import SETTINGS_ENV

APP = Path(__file__).resolve().with_name("app.py")


def command(host: str, port: int, headless: bool | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", host, "--server.port", str(port),
           "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer"]
    if headless is not None:
        cmd += ["--server.headless", str(headless).lower()]
    return cmd


def launch(settings: Settings, host: str = "127.0.0.1", port: int = 8501) -> int:
    env = {**os.environ, SETTINGS_ENV: json.dumps(asdict(settings), ensure_ascii=False)}
    print(f"puyu ui: http://{host}:{port} (model {settings.model.name}, data {settings.data_dir})", flush=True)
    try:
        return subprocess.call(command(host, port), env=env, cwd=APP.parents[1])
    except KeyboardInterrupt:
        return 0
