"""Progress bars on stderr for long commands (silent when stderr is not a terminal)."""

from __future__ import annotations

from tqdm import tqdm


class StepProgress:
    """A callback ``(step, done, total=None)`` that shows one bar per step."""

    def __init__(self, unit: str = "rows"):
        self.unit = unit
        self.bars: dict[str, tqdm] = {}

    def __call__(self, step: str, done: int, total: int | None = None) -> None:
        bar = self.bars.get(step)
        if bar is None:
            bar = self.bars[step] = tqdm(total=total, desc=f"{step:>13}", unit=self.unit, disable=None, leave=True)
        bar.update(done - bar.n)
        if total is not None and done >= total:
            bar.close()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
