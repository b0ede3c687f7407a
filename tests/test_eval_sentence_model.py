"""T-Eval's sentence model: all-mpnet-base-v2 joined from its split PyPI archive and loaded offline, MiniLM when
it is missing, and every plan score says which one scored it."""
import hashlib
import io
import zipfile

import pytest

from puyu.eval import sentence_model as sm
from puyu.eval.benchmarks.teval_plan import TEvalPlan
from puyu.eval.data import DataMissing


def split_archive(tmp_path, weights: bytes, pieces: int = 3):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr(f"{sm.OFFICIAL}/model.safetensors", weights)
        z.writestr(f"{sm.OFFICIAL}/config.json", "{}")
    data, size = buffer.getvalue(), -(-len(buffer.getvalue()) // pieces)
    paths = []
    for k in range(pieces):
        path = tmp_path / f"part{k}" / f"{sm.OFFICIAL}.zip.{k + 1:03d}"
        path.parent.mkdir()
        path.write_bytes(data[k * size:(k + 1) * size])
        paths.append(path)
    return paths


def test_the_split_archive_is_joined_checked_and_unpacked_once(tmp_path, monkeypatch):
    weights = b"not really weights" * 100
    monkeypatch.setattr(sm, "_archive_parts", lambda: split_archive(tmp_path, weights))
    monkeypatch.setattr(sm, "WEIGHTS_SHA256", hashlib.sha256(weights).hexdigest())
    target = tmp_path / "cache" / sm.OFFICIAL
    assert sm.unpack_official(target) == target
    assert (target / "model.safetensors").read_bytes() == weights
    assert [p.name for p in target.parent.iterdir()] == [sm.OFFICIAL]  # no temporary folder left behind
    monkeypatch.setattr(sm, "_archive_parts", lambda: pytest.fail("unpacked twice"))
    assert sm.unpack_official(target) == target


def test_a_damaged_archive_is_refused_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(sm, "_archive_parts", lambda: split_archive(tmp_path, b"weights"))
    target = tmp_path / "cache" / sm.OFFICIAL
    with pytest.raises(DataMissing, match="SHA-256"):
        sm.unpack_official(target)
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_without_the_parts_plans_are_scored_with_minilm_and_say_so(monkeypatch):
    monkeypatch.setattr(sm, "unpack_official", lambda: None)
    sm.plan_encoder.cache_clear()
    try:
        encoder = sm.plan_encoder()
    finally:
        sm.plan_encoder.cache_clear()
    assert encoder.name == sm.FALLBACK and encoder.encode(["a plan step"]).shape[0] == 1
    parity = TEvalPlan(encoder).parity()
    assert not parity.comparable and f"{sm.OFFICIAL} is not installed" in parity.scorer


def test_the_installed_parts_load_offline_as_the_official_model():
    if sm._archive_parts() is None:
        pytest.skip(f"{sm.INSTALL_HINT} (scripts/setup.sh does it)")
    encoder = sm.plan_encoder()
    assert encoder.name == sm.OFFICIAL
    vectors = encoder.encode(["FilmSearch.search_movie", "MovieSearch.search_film", "WeatherAPI.get_weather"])
    assert vectors.shape == (3, 768)
    assert TEvalPlan(encoder).parity().comparable
