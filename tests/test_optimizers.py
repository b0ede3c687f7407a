"""The optimizer option of `puyu train`: which parameters Muon takes, one schedule for both halves, resume."""
from __future__ import annotations

import json

import pytest
import torch
from puyu.training import model as models
from puyu.training import optimizers
from puyu.training.loop import Schedule
from puyu.training.pretrain import main
from training_fixtures import tiny_run_args

torch.set_num_threads(1)


def tiny_model(tie: bool) -> torch.nn.Module:
    shape = models.shape("puyu-micro", {"tie_embeddings": tie})
    return models.build(shape, vocab_size=50, bos_id=None, eos_id=1, pad_id=0)


@pytest.mark.parametrize("tie", [True, False])
def test_muon_takes_the_hidden_matrices_and_adamw_the_rest(tie):
    model = tiny_model(tie)
    optimizer = optimizers.build("muon", model, lr=0.01, weight_decay=0.1, beta2=0.95)
    on_muon = {id(p) for g in optimizer.muon.param_groups for p in g["params"]}
    on_adamw = {id(p) for g in optimizer.adamw.param_groups for p in g["params"]}
    edges = {id(model.get_input_embeddings().weight), id(model.get_output_embeddings().weight)}
    for name, p in model.named_parameters():
        hidden = p.ndim == 2 and id(p) not in edges
        assert (id(p) in on_muon) == hidden and (id(p) in on_adamw) != hidden, name
    assert len(edges) == (1 if tie else 2) and edges <= on_adamw
    decay = {id(p): g["weight_decay"] for g in optimizer.adamw.param_groups for p in g["params"]}
    assert all(decay[id(p)] == (0.1 if p.ndim == 2 else 0.0) for p in model.parameters() if id(p) in on_adamw)

    # The scheduler writes one factor into every group, and both inner optimizers step with it.
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, Schedule(warmup=2, total=10, min_ratio=0.1))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model(torch.randint(0, 50, (2, 8)), labels=torch.randint(0, 50, (2, 8))).loss.backward()
    optimizer.step()
    scheduler.step()
    lrs = [g["lr"] for g in optimizer.muon.param_groups + optimizer.adamw.param_groups]
    assert lrs == pytest.approx([0.01 * 2 / 3] * len(lrs))  # the warm-up's second step
    assert all(not torch.equal(before[n], p) for n, p in model.named_parameters())
    optimizer.zero_grad(set_to_none=True)
    assert all(p.grad is None for p in model.parameters())


def test_adamw_alone_and_unknown_kinds():
    model = tiny_model(True)
    adamw = optimizers.build("adamw", model, lr=0.01, weight_decay=0.1, beta2=0.95)
    assert isinstance(adamw, torch.optim.AdamW)
    assert sum(len(g["params"]) for g in adamw.param_groups) == len(list(model.parameters()))
    with pytest.raises(ValueError, match="choose one of adamw, muon"):
        optimizers.build("sgd", model, lr=0.01, weight_decay=0.1, beta2=0.95)


def losses(out) -> list[float]:
    return [e["loss"] for e in json.loads((out / "log.json").read_text())["train"]]


def test_a_muon_run_resumes_to_the_same_loss_curve_and_refuses_the_other_optimizer(tmp_path):
    main(tiny_run_args(tmp_path, "straight", optimizer="muon"))
    main(tiny_run_args(tmp_path, "resumed", optimizer="muon", stop_step=3))
    main(tiny_run_args(tmp_path, "resumed", optimizer="muon"))
    straight = losses(tmp_path / "straight")
    assert len(straight) == 6 and straight[-1] < straight[0]
    assert losses(tmp_path / "resumed") == pytest.approx(straight, rel=1e-6, abs=1e-7)
    main(tiny_run_args(tmp_path, "adamw"))
    assert losses(tmp_path / "adamw") != pytest.approx(straight, rel=1e-3)  # the option reaches the loop

    with pytest.raises(SystemExit, match="optimizer state .* not Muon \\+ AdamW"):
        main(tiny_run_args(tmp_path, "adamw", optimizer="muon", max_steps=8))
    with pytest.raises(SystemExit, match="optimizer state does not fit"):
        main(tiny_run_args(tmp_path, "straight", optimizer="adamw", max_steps=8))
