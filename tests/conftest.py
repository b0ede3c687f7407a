"""Fixtures shared by the test modules."""
from __future__ import annotations

import pytest

from puyu.ui import backend
from puyu.ui.settings import SETTINGS_ENV


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A fresh data dir for the app (and no user config file), with the app's runtimes reset around the test."""
    monkeypatch.setenv("PUYU_DATA_DIR", str(tmp_path))
    monkeypatch.delenv(SETTINGS_ENV, raising=False)
    monkeypatch.setenv("PUYU_CONFIG", str(tmp_path / "no-config.yaml"))
    backend.reset()
    yield tmp_path
    backend.reset()
