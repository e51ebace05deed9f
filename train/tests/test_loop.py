import pytest
import torch

from train.loop import Budget, optimizer_step, warmup_lr


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_budget_stops_on_steps_or_minutes_and_paces_logs_and_saves():
    clock = FakeClock()
    b = Budget(minutes=1, max_steps=5, log_s=10, save_s=60, clock=clock)
    assert b.running(0) and not b.running(5)
    assert not b.log_due() and not b.save_due()
    clock.t += 11
    assert b.log_due() and not b.log_due(), "due once, then the timer restarts"
    assert not b.save_due()
    clock.t += 50
    assert b.save_due()
    assert not b.running(1), "61 s is past a one-minute budget"
    assert b.elapsed() == pytest.approx(61)


def test_warmup_is_linear_then_constant():
    assert warmup_lr(1.0, 0, 100) == pytest.approx(0.01)
    assert warmup_lr(1.0, 49, 100) == pytest.approx(0.5)
    assert warmup_lr(1.0, 500, 100) == 1.0


def test_optimizer_step_sets_lr_clips_and_descends():
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.full((4,), 10.0))
    opt = torch.optim.SGD([w], lr=0.0)
    loss = (w ** 2).sum()
    optimizer_step(opt, loss, [w], lr=0.5, clip=1.0)
    assert opt.param_groups[0]["lr"] == 0.5
    # The gradient (2w = 20 per entry, norm 40) is clipped to norm 1 (0.5 per entry): each entry moves by 0.5 * 0.5.
    assert torch.allclose(w.detach(), torch.full((4,), 10.0 - 0.25), atol=1e-5)
