"""Training entry point.

    accelerate launch -m rlvr.train --config recipes/toy/grpo_arithmetic.yaml [--key value ...]
    python -m rlvr.train --config recipes/toy/ppo_arithmetic.yaml           # one process

A mistake in the config, the data or a reward's import path ends the run with one line,
``rlvr: error: <what to fix>``, and exit status 2 (argparse's convention), before a model loads.
Ctrl-C names the last complete checkpoint and the command that resumes from it (exit status 130).
"""

from __future__ import annotations

import os
import shlex
import sys

from rlvr.config import ConfigError, parse_config
from rlvr.data import DataError

USAGE_ERROR, INTERRUPTED = 2, 130  # the shell's conventions: a usage error; killed by SIGINT (128 + 2)


def main(argv: list[str] | None = None) -> dict:
    args = list(sys.argv[1:] if argv is None else argv)
    config = None
    try:
        config = parse_config(None, args)  # the recipe's `algorithm` (grpo / ppo) picks config and trainer
        from rlvr.trainers import TRAINERS

        return TRAINERS[config.algorithm](config).train()
    except (ConfigError, DataError) as exc:  # the message says what to fix; a traceback would bury it
        print(f"rlvr: error: {' '.join(str(exc).split())}", file=sys.stderr, flush=True)
        sys.exit(USAGE_ERROR)
    except KeyboardInterrupt:
        if int(os.environ.get("RANK", "0")) == 0:  # Ctrl-C reaches every process; one report is enough
            print(f"\nrlvr: interrupted. {resume_hint(config, args)}", file=sys.stderr, flush=True)
        sys.exit(INTERRUPTED)


def cli() -> None:
    """The ``rlvr-train`` console script: its exit status is 0 on success (a returned summary
    would be printed and read as a failure by ``sys.exit``)."""
    main()


def resume_hint(config, args: list[str]) -> str:
    """Where the run can be resumed from, and the command that does it."""
    if config is None:
        return "No run had started."
    from rlvr.checkpoint import latest_checkpoint

    checkpoint = latest_checkpoint(config.output_dir)
    if checkpoint is None:
        when = (f"the first is written at step {config.save_steps}" if config.save_steps
                else "save_steps is 0, so only the end of a run saves one")
        return (f"No complete checkpoint in {config.output_dir} ({when}); set --save_steps N to checkpoint "
                "every N steps and make a run resumable.")
    kept = _without_option(args, "--resume_from_checkpoint")
    command = shlex.join(["python", "-m", "rlvr.train", *kept, "--resume_from_checkpoint", "latest"])
    if "ACCELERATE_USE_CPU" in os.environ or "WORLD_SIZE" in os.environ:  # started by accelerate launch
        command = command.replace("python -m", "accelerate launch <the same launch options> -m", 1)
    return f"Last complete checkpoint: {checkpoint}. Resume with:\n  {command}"


def _without_option(args: list[str], option: str) -> list[str]:
    out, skip = [], False
    for token in args:
        if skip:
            skip = False
        elif token == option:
            skip = True
        elif not token.startswith(option + "="):
            out.append(token)
    return out


if __name__ == "__main__":
    main()
