"""Cancel tokens for tests: how often a job looks at its token, and a cancel at a chosen look."""
from engine.jobs import CancelToken


class CancelAfter(CancelToken):
    """Cancelled at its n-th look; `looks` counts how often the job looked."""

    def __init__(self, n: int):
        super().__init__()
        self.n, self.looks = n, 0

    def raise_if_cancelled(self):
        self.looks += 1
        if self.looks >= self.n:
            self.cancel()
        super().raise_if_cancelled()
