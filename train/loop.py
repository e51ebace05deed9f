"""The parts of a training loop both trainers share: a wall-clock budget with the
cadence of progress lines and checkpoints, and one optimiser step with linear
warm-up and gradient clipping."""
import json
import time

import torch


class Budget:
    """Run until `max_steps` or `minutes` of wall clock, whichever comes first;
    report when a progress line (every `log_s`) or a checkpoint (every `save_s`) is due."""

    def __init__(self, minutes: float, max_steps: int, log_s: float = 10.0, save_s: float = 60.0, clock=time.time):
        self.minutes, self.max_steps, self.log_s, self.save_s, self.clock = minutes, max_steps, log_s, save_s, clock
        self.t0 = self.last_log = self.last_save = clock()

    def running(self, step: int) -> bool:
        return step < self.max_steps and self.elapsed() < self.minutes * 60

    def elapsed(self) -> float:
        return self.clock() - self.t0

    def log_due(self) -> bool:
        return self._due("last_log", self.log_s)

    def save_due(self) -> bool:
        return self._due("last_save", self.save_s)

    def _due(self, attr: str, every: float) -> bool:
        now = self.clock()
        if now - getattr(self, attr) > every:
            setattr(self, attr, now)
            return True
        return False


def optimizer_step(opt: torch.optim.Optimizer, loss: torch.Tensor, params, lr: float, clip: float = 1.0) -> None:
    """Set the learning rate, backpropagate, clip the gradient norm, step."""
    for group in opt.param_groups:
        group["lr"] = lr
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, clip)
    opt.step()


def warmup_lr(base: float, step: int, warmup: int) -> float:
    """Linear warm-up over the first `warmup` steps, then constant."""
    return base * min(1.0, (step + 1) / warmup)


def progress_line(step: int, loss: float, parts: dict) -> str:
    """'step N loss L {part: value, ...}', the start of both trainers' progress lines."""
    return f"step {step} loss {loss:.4f} {json.dumps({k: round(v, 4) for k, v in parts.items()})}"
