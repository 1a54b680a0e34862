"""``groundwork index sentence-vectors``: a bad batch size is refused before any service starts."""

import pytest

from app.cli import main


def test_a_batch_below_one_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "sentence-vectors", "--batch", "0"]) == 2
    assert "--batch must be at least 1" in capsys.readouterr().err
