import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def deno_command() -> list[str]:
    """The Deno to run: $DENO, else `deno` on PATH, else `npx -y deno@2`."""
    if os.environ.get("DENO"):
        return os.environ["DENO"].split()
    if shutil.which("deno"):
        return ["deno"]
    return ["npx", "-y", "deno@2"]


@pytest.fixture(scope="session")
def make_dataset(tmp_path_factory):
    """Generate a small dataset with the TypeScript writer; returns its folder."""
    made = {}

    def make(task: str, episodes: int = 3, steps: int = 10, seed: int = 0, size: int = 64) -> Path:
        key = (task, episodes, steps, seed, size)
        if key not in made:
            out = tmp_path_factory.mktemp(f"data-{task}")
            cmd = deno_command() + [
                "run", "--allow-read", "--allow-write", "--allow-env", "tasks/dataset.ts",
                "--task", task, "--episodes", str(episodes), "--steps", str(steps),
                "--seed", str(seed), "--size", str(size), "--out", str(out),
            ]
            subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
            made[key] = out
        return made[key]

    return make
