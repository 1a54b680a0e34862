"""``groundwork index sentence-vectors``: a bad batch size is refused before any service starts."""

import pytest

from app.cli import main


def test_a_batch_below_one_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["index", "sentence-vectors", "--batch", "0"])
    assert exit_info.value.code == 2
    assert "argument --batch: must be at least 1, got 0" in capsys.readouterr().err
