"""Training: puyu's own model from scratch (pretrain.py), LoRA/QLoRA SFT (lora.py), merging (merge.py)."""
import os

# OpenMP threads that spin while they wait lose 2-10x when the cores are shared with other processes (measured:
# puyu-tiny fell from ~800 to ~380 tokens/s with 2 threads on a busy 2-core machine; passive waiting kept it at
# ~780). Training ops are large, so passive waiting costs little on an idle machine. Must be set before torch
# loads OpenMP; `OMP_WAIT_POLICY=ACTIVE` in the environment still wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
