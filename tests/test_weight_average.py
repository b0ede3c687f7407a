"""The weight average `puyu train` exports with ema_decay > 0: its arithmetic, its checkpoint, its export."""
from __future__ import annotations

import json

import pytest
import torch
from puyu.training.averaging import WeightAverage
from puyu.training.pretrain import main
from safetensors.torch import load_file
from training_fixtures import tiny_run_args

torch.set_num_threads(1)


def test_average_follows_the_warmed_up_decay_and_applied_restores_the_weights():
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    average = WeightAverage(model, decay=0.5)
    for value, expected in ((11.0, 9.0), (1.0, 3.0)):  # decays 2/11 then 3/12: below 0.5 while warming up
        with torch.no_grad():
            model.weight.fill_(value)
        average.update()
        assert average.average[0].item() == pytest.approx(expected)
    with average.applied():
        assert model.weight.item() == pytest.approx(3.0)
    assert model.weight.item() == 1.0
    for _ in range(50):
        average.update()
    assert average.average[0].item() == pytest.approx(1.0, abs=1e-6)  # a steady weight is its own average

    restored = WeightAverage(model, decay=0.5)
    restored.load_state_dict(average.state_dict())
    assert restored.updates == 52 and restored.average[0].item() == average.average[0].item()
    with pytest.raises(ValueError, match="between 0 and 1"):
        WeightAverage(model, decay=1.0)
    assert WeightAverage.of(model, 0.0) is None


def weights(directory) -> dict[str, torch.Tensor]:
    return load_file(directory / "model.safetensors")


def test_a_run_exports_the_average_keeps_the_last_step_and_resumes_it(tmp_path):
    main(tiny_run_args(tmp_path, "straight", ema_decay=0.9))
    main(tiny_run_args(tmp_path, "resumed", ema_decay=0.9, stop_step=3))
    main(tiny_run_args(tmp_path, "resumed", ema_decay=0.9))
    exported, last = weights(tmp_path / "straight" / "model"), weights(tmp_path / "straight" / "last-step")
    assert set(exported) == set(last)
    assert any(not torch.equal(exported[k], last[k]) for k in exported)  # the export is not the last step
    resumed = weights(tmp_path / "resumed" / "model")
    for k in exported:  # the checkpoint carried the average across the stop
        torch.testing.assert_close(resumed[k], exported[k], rtol=1e-5, atol=1e-6)
    log = json.loads((tmp_path / "straight" / "log.json").read_text())
    assert log["summary"]["averaged_eval_loss"] > 0 and log["summary"]["final_eval_loss"] > 0
    assert log["info"]["averaged_eval_loss"] != log["eval"][-1]["loss"]

    # With a decay near 0 the average is the last step, so the export must equal it: what is exported is the average.
    main(tiny_run_args(tmp_path, "no-memory", ema_decay=1e-9))
    near = weights(tmp_path / "no-memory" / "model")
    for k, v in weights(tmp_path / "no-memory" / "last-step").items():
        torch.testing.assert_close(near[k], v)
    # Without averaging there is no second copy.
    main(tiny_run_args(tmp_path, "plain"))
    assert not (tmp_path / "plain" / "last-step").exists()


def test_a_checkpoint_without_an_average_is_not_resumed_with_one(tmp_path):
    main(tiny_run_args(tmp_path, "run", stop_step=3))
    with pytest.raises(SystemExit, match="without ema_decay"):
        main(tiny_run_args(tmp_path, "run", ema_decay=0.9))
