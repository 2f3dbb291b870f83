"""One settings resolution for every command: flag > environment > config file > default."""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

from assist.cli import main
from assist.resources import shipped


def _pack_with(tmp_path, name: str, phrase_id: str):
    folder = tmp_path / name
    folder.mkdir()
    text = shipped("phrases").joinpath("en.toml").read_text(encoding="utf-8")
    text = text.replace('id = "calm-down"', f'id = "{phrase_id}"', 1)
    (folder / "en.toml").write_text(text, encoding="utf-8")
    return folder


def _listed(env: dict, *args: str) -> str:
    result = CliRunner().invoke(main, ["phrases", "list", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_phrases_come_from_the_flag_then_the_environment_then_the_config_file(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    from_file = _pack_with(tmp_path, "file", "from-the-file")
    from_env = _pack_with(tmp_path, "env", "from-the-env")
    from_flag = _pack_with(tmp_path, "flag", "from-the-flag")
    config.write_text(f'phrases = "{from_file}"\n', encoding="utf-8")
    monkeypatch.setenv("ASSIST_CONFIG", str(config))
    monkeypatch.delenv("ASSIST_PHRASES", raising=False)
    assert "from-the-file" in _listed({})
    assert "from-the-env" in _listed({"ASSIST_PHRASES": str(from_env)})
    assert "from-the-flag" in _listed({"ASSIST_PHRASES": str(from_env)}, "--phrases", str(from_flag))
    config.unlink()
    assert "calm-down" in _listed({})  # the shipped packs by default


def test_config_set_db_is_where_calls_and_flags_read(tmp_path, monkeypatch, embedder):
    monkeypatch.setenv("ASSIST_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.delenv("ASSIST_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    db = tmp_path / "team.db"
    runner = CliRunner()
    assert runner.invoke(main, ["config", "set", "db", str(db)]).exit_code == 0
    calls = tmp_path / "calls.jsonl"
    calls.write_text(json.dumps({"id": "x1", "utterances": [
        {"speaker": "agent", "text": "Please calm down."}]}) + "\n", encoding="utf-8")
    imported = runner.invoke(main, ["import", str(calls)])  # no --db: the config's
    assert imported.exit_code == 0, imported.output
    call = json.loads(imported.stdout)["call"]
    assert db.exists()
    listed = runner.invoke(main, ["calls", "--jsonl"])
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == [call]
    flags = runner.invoke(main, ["flags", call])
    assert "calm-down" in flags.stdout


def test_kb_comes_from_the_environment(tmp_path, monkeypatch):
    kb = tmp_path / "kb"
    shutil.copytree(shipped("kb"), kb)
    (kb / "card-arrival.md").unlink()
    monkeypatch.delenv("ASSIST_KB", raising=False)
    default = CliRunner().invoke(main, ["kb", "stats"])
    ours = CliRunner().invoke(main, ["kb", "stats"], env={"ASSIST_KB": str(kb)})
    assert default.exit_code == 0 and ours.exit_code == 0, ours.output
    assert str(kb) in ours.stdout and str(kb) not in default.stdout


def test_the_chinese_script_comes_from_the_flag_then_the_config_file(tmp_path, monkeypatch):
    from helpers import DATA

    config = tmp_path / "config.toml"
    monkeypatch.setenv("ASSIST_CONFIG", str(config))
    scripts: list[str] = []
    monkeypatch.setattr("assist.session.run_jsonl",
                        lambda source, settings: scripts.append(settings.asr_options.script))
    call = str(DATA / "calls" / "charged-twice.flac")

    def replay(*args: str) -> None:
        result = CliRunner().invoke(main, ["replay", call, "--jsonl", "--no-store", *args])
        assert result.exit_code == 0, result.output

    replay()
    runner = CliRunner()
    refused = runner.invoke(main, ["config", "set", "script", "klingon"])
    assert refused.exit_code != 0 and "'script'" in refused.output
    assert runner.invoke(main, ["config", "set", "script", "as-heard"]).exit_code == 0
    replay()
    replay("--script", "traditional")
    assert scripts == ["simplified", "as-heard", "traditional"]
