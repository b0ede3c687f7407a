"""The optimizer a run uses: AdamW for everything, or Muon for the hidden weight matrices with AdamW for the rest.

Muon (Jordan et al., 2024; torch.optim.Muon) replaces each matrix's momentum by its nearest orthogonal matrix, so
every direction of the update moves by the same amount. It is defined for 2-D weights inside the network; the
embeddings, the output head, norms and biases stay on AdamW, as in the Muon papers. With Moonshot's scaling
(`adjust_lr_fn="match_rms_adamw"`, Liu et al., 2025) Muon's step has AdamW's size, so one `lr` and `weight_decay`
serve both halves and the schedule drives both.
"""
from __future__ import annotations

import torch

KINDS = ("adamw", "muon")


class MuonWithAdamW(torch.optim.Optimizer):
    """One optimizer object over two: the scheduler, gradient clipping and checkpoints see a single optimizer.

    Its param_groups are the inner optimizers' own group dicts, so a learning rate the scheduler writes into a
    group is the one that inner optimizer reads."""

    def __init__(self, muon: torch.optim.Muon, adamw: torch.optim.AdamW):
        self.muon, self.adamw = muon, adamw
        super().__init__([p for group in muon.param_groups + adamw.param_groups for p in group["params"]], {})
        self.param_groups = muon.param_groups + adamw.param_groups

    @torch.no_grad()
    def step(self, closure=None):
        if closure is not None:
            raise ValueError("MuonWithAdamW.step takes no closure")
        self.muon.step()
        self.adamw.step()

    def state_dict(self) -> dict:
        return {"muon": self.muon.state_dict(), "adamw": self.adamw.state_dict()}

    def load_state_dict(self, state_dict: dict) -> None:
        if set(state_dict) != {"muon", "adamw"}:
            raise ValueError("the state is not Muon + AdamW")
        self.muon.load_state_dict(state_dict["muon"])
        self.adamw.load_state_dict(state_dict["adamw"])
        self.param_groups = self.muon.param_groups + self.adamw.param_groups  # loading made new group dicts


def build(kind: str, model: torch.nn.Module, lr: float, weight_decay: float, beta2: float) -> torch.optim.Optimizer:
    """Weight decay applies to matrices only, never to norms and biases."""
    if kind not in KINDS:
        raise ValueError(f"unknown optimizer {kind!r}; choose one of {', '.join(KINDS)}")
    params = [p for p in model.parameters() if p.requires_grad]
    edges = {id(m.weight) for m in (model.get_input_embeddings(), model.get_output_embeddings()) if m is not None}
    hidden = [p for p in params if p.ndim == 2 and id(p) not in edges] if kind == "muon" else []
    on_muon = {id(p) for p in hidden}
    groups = [g for g in ({"params": [p for p in params if p.ndim >= 2 and id(p) not in on_muon],
                           "weight_decay": weight_decay},
                          {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}) if g["params"]]
    adamw = (torch.optim.AdamW(groups, lr=lr, betas=(0.9, beta2), fused=bool(params) and params[0].is_cuda)
             if groups else None)
    if not hidden:
        return adamw
    muon = torch.optim.Muon(hidden, lr=lr, weight_decay=weight_decay, adjust_lr_fn="match_rms_adamw")
    return MuonWithAdamW(muon, adamw) if adamw else muon
