"""The command line as a thin layer (issue 24): every command that needs Whisper takes the CLI's --model.

One function (pipeline.transcribe.model_for) decides the model; a missing model folder given with --model
must therefore be what each command refuses, with exit 2 and the folder named, before any work is kept.
"""

from __future__ import annotations

import pytest

from pipeline.transcribe import model_for
from tests.test_hostile import anne, campaign, no_traceback, run, spec_text  # noqa: F401

QUOTED = spec_text().replace("    from: 0.5\n    to: 2.0\n", '    says: "hallo"\n')


@pytest.mark.parametrize("command", [
    ("validate",),
    ("review",),
    ("transcripts", "show"),
    ("transcripts", "export", "--force"),
])
def test_every_command_uses_the_cli_model(tmp_path, anne, cache_dir, command):
    text = QUOTED if command == ("validate",) else spec_text()
    spec = campaign(tmp_path, anne, text)
    missing = tmp_path / "no-such-model"
    result = run(*command, str(spec), "--model", str(missing), cache=cache_dir)
    no_traceback(result)
    assert result.exit_code == 2, result.output
    assert f"no Whisper model folder at {missing}" in result.output
    assert not (tmp_path / "out" / "hostile" / "index.html").exists()
    assert not (tmp_path / "transcripts" / "anne.srt").exists()


def test_the_cli_model_wins_over_the_spec(tmp_path, anne):
    from pipeline.load import load_campaign

    spec = campaign(tmp_path, anne, spec_text().replace("channels: [x, web]", "subtitles: {model: small}\n"
                                                        "channels: [x, web]"))
    loaded = load_campaign(spec, check_media=False)
    assert model_for(loaded.spec.subtitles, "tiny") == "tiny"
    assert model_for(loaded.spec.subtitles, None) == "small"
    plain = load_campaign(campaign(tmp_path, anne), check_media=False)
    assert model_for(plain.spec.subtitles, None) is None

