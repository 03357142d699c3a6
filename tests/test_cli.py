"""The `silver-ner` command's conventions: logging levels, progress switches, errors, `env`."""

import json
import logging
import os
import re
import subprocess
import sys
from types import SimpleNamespace

import pytest

from silver_ner.cli import CommandError, build_parser, main
from silver_ner.projection.errors import UserError


def _use_as_command(monkeypatch, fn):
    """Run ``fn(args)`` as `silver-ner encoder info` (the parser binds the module's function when built)."""
    import silver_ner.commands.encoder as encoder_commands

    monkeypatch.setattr(encoder_commands, "run_info", fn)


def _chatty(args):
    logging.getLogger("httpx").info("HTTP Request: GET http://hub.test/api/models 200")
    logging.getLogger("huggingface_hub.file_download").debug("hub debug line")
    logging.getLogger("silver_ner.projection.encoder").info("project info line")
    logging.getLogger("silver_ner.builders.build").warning("project warning line")
    logging.getLogger("silver_ner.builders.build").error("project error line")
    print("result line")
    return 0


@pytest.mark.parametrize(
    "argv, shown, hidden",
    [
        (["encoder", "info"], ["project warning line", "project error line"],
         ["HTTP Request", "project info line", "hub debug line"]),
        (["-v", "encoder", "info"], ["project info line", "project warning line"], ["HTTP Request", "hub debug line"]),
        (["encoder", "info", "-v"], ["project info line", "project warning line"], ["HTTP Request", "hub debug line"]),
        (["encoder", "info", "-vv"], ["HTTP Request", "hub debug line", "project info line"], []),
        (["-v", "encoder", "info", "--verbose"], ["HTTP Request", "hub debug line"], []),
        (["encoder", "info", "-q"], ["project error line"], ["project warning line", "project info line", "HTTP Request"]),
        (["--quiet", "encoder", "info"], ["project error line"], ["project warning line"]),
    ],
)
def test_log_levels(monkeypatch, capsys, argv, shown, hidden):
    _use_as_command(monkeypatch, _chatty)
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out == "result line\n"  # the command's own result, at every verbosity
    for text in shown:
        assert text in captured.err
    for text in hidden:
        assert text not in captured.err


def test_logging_set_up_is_undone_after_the_command(monkeypatch, capsys):
    _use_as_command(monkeypatch, _chatty)
    root = logging.getLogger()
    handlers, httpx_level = list(root.handlers), logging.getLogger("httpx").level
    assert main(["encoder", "info", "-vv"]) == 0
    assert root.handlers == handlers and logging.getLogger("httpx").level == httpx_level


def _parsers(parser, path=()):
    yield path, parser
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, child in action.choices.items():
                yield from _parsers(child, path + (name,))


def test_every_subcommand_takes_the_logging_and_progress_switches():
    seen = set()
    for path, parser in _parsers(build_parser()):
        options = {opt for action in parser._actions for opt in action.option_strings}
        assert {"-v", "--verbose", "-q", "--quiet", "--no-progress"} <= options, path
        seen.add(path)
    assert {("build",), ("train",), ("evaluate",), ("publish", "results"), ("publish", "dataset"), ("env",),
            ("encoder", "convert"), ("leaderboard",), ("average",), ("eval-projection",)} <= seen


@pytest.mark.parametrize(
    "switches, progress",
    [([], True), (["--no-progress"], False), (["--quiet"], False), (["-q"], False), (["-v"], True)],
)
def test_build_progress_switch_and_its_old_spelling(monkeypatch, tmp_path, capsys, switches, progress):
    import silver_ner.builders.build as build_module

    calls = []

    def fake_build(specs, output, **kw):
        calls.append(kw["progress"])
        return SimpleNamespace(manifest={"configs": {}}, output_dir=output)

    monkeypatch.setattr(build_module, "build", fake_build)
    assert main(["build", "--demo", "--output", str(tmp_path / "out"), *switches]) == 0
    assert calls == [progress]


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--output", "m", "--conll", "x.conll", "--no-progress"],  # train's spelling, kept
        ["--no-progress", "train", "--output", "m", "--conll", "x.conll"],
        ["publish", "results", "r.jsonl", "--repo", "a/b", "--version", "1.0.0", "--no-progress"],
        ["publish", "results", "r.jsonl", "--repo", "a/b", "--version", "1.0.0", "-q"],
        ["evaluate", "--model", "m", "--gold", "g.conll", "--no-progress"],
    ],
)
def test_progress_switch_parses_everywhere(argv):
    from silver_ner.cli import _normalise

    assert _normalise(build_parser().parse_args(argv)).no_progress is True


def test_no_progress_turns_library_bars_off_during_the_command(monkeypatch, capsys):
    import datasets
    from huggingface_hub.utils import are_progress_bars_disabled

    seen = {}

    def command(args):
        seen["hub"] = are_progress_bars_disabled()
        seen["datasets"] = datasets.is_progress_bar_enabled()
        return 0

    _use_as_command(monkeypatch, command)
    before = (are_progress_bars_disabled(), datasets.is_progress_bar_enabled())
    assert main(["encoder", "info", "--no-progress"]) == 0
    assert seen == {"hub": True, "datasets": False}
    assert (are_progress_bars_disabled(), datasets.is_progress_bar_enabled()) == before


# --------------------------------------------------------------------------- errors


def _raiser(exc):
    def command(args):
        raise exc

    return command


@pytest.mark.parametrize(
    "exc, line",
    [
        (UserError("swa.conll:3: expected TOKEN TAG"), "silver-ner encoder: error: swa.conll:3: expected TOKEN TAG\n"),
        (CommandError("may not write to x/y"), "silver-ner encoder: error: may not write to x/y\n"),
        (FileNotFoundError(2, "No such file or directory", "gold/swa.conll"),
         "silver-ner encoder: error: gold/swa.conll: No such file or directory\n"),
        (IsADirectoryError(21, "Is a directory", "out"), "silver-ner encoder: error: out: Is a directory\n"),
        (PermissionError(13, "Permission denied", "/x"), "silver-ner encoder: error: /x: Permission denied\n"),
    ],
)
def test_user_errors_are_one_line_with_status_2(monkeypatch, capsys, exc, line):
    _use_as_command(monkeypatch, _raiser(exc))
    assert main(["encoder", "info"]) == 2
    assert capsys.readouterr().err == line


def test_command_error_is_a_user_error():
    assert issubclass(CommandError, UserError) and issubclass(CommandError, ValueError)


@pytest.mark.parametrize("exc", [ValueError("a bug"), KeyError("a bug"), TypeError("a bug")])
def test_other_errors_keep_their_traceback(monkeypatch, exc):
    _use_as_command(monkeypatch, _raiser(exc))
    with pytest.raises(type(exc)):
        main(["encoder", "info"])


def test_user_error_traceback_with_debug_verbosity(monkeypatch, capsys):
    _use_as_command(monkeypatch, _raiser(UserError("bad value")))
    assert main(["encoder", "info", "-vv"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.endswith("silver-ner encoder: error: bad value\n")


def test_ctrl_c_is_one_line_and_status_130(monkeypatch, capsys):
    import silver_ner.builders.build as build_module

    def interrupted(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(build_module, "build", interrupted)
    assert main(["build", "--demo", "--output", "out-never-written"]) == 130
    assert capsys.readouterr().err == "silver-ner build: interrupted\n"


def test_sigterm_stopping_a_build_is_status_143(monkeypatch, capsys):
    import signal

    import silver_ner.builders.build as build_module

    def terminated(*a, **kw):
        raise build_module.BuildInterrupted(signal.SIGTERM)

    monkeypatch.setattr(build_module, "build", terminated)
    assert main(["build", "--demo", "--output", "out-never-written"]) == 143  # 128 + SIGTERM, as a shell reports it
    assert capsys.readouterr().err == "silver-ner build: interrupted\n"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["build", "--demo", "--lang", "fra", "--output", "o"], "--demo ships"),
        (["build", "--lang", "swa", "--output", "o"], "name one source"),
        (["build", "--demo", "--output", "o", "--method", "magic", "-q"], "unknown projection method 'magic'"),
        (["build", "--demo", "--output", "o", "--labels", "PER,PER"], "names a type twice"),
        (["build", "--demo", "--output", "o", "--method-param", "x"], "expected KEY=VALUE"),
        (["build", "--lang", "xx", "--parallel", "a", "b", "--tagger", "t", "--output", "o"], "xx"),
        (["train", "--output", "m", "--conll", "x.conll", "--mask-min-prob", "0.5"], "--mask-min-prob needs --mask-with"),
        (["train", "--output", "m"], "give training data"),
        (["train", "--output", "m", "--conll", "x.conll", "--labels", "PER,b-c"], "entity type"),
        (["evaluate", "--model", "m", "--gold", "nosuch:swa:test"], "unknown dataset 'nosuch'"),
        (["evaluate", "--model", "m", "--gold", "masakhaner2:swa:dev2"], "not a split"),
        (["eval-projection", "--source", "a", "--target", "b", "--param", "x"], "--param expects KEY=VALUE"),
        (["eval-projection", "--source", "a", "--target", "b", "--method", "magic"], "unknown projection method"),
        (["publish", "results", "r.jsonl", "--repo", "a/b", "--version", "one"], "not a semantic version"),
        (["encoder", "convert", "--weights", "w.bin"], "--weights needs --output"),
        (["average", "a", "b", "--output", "o", "--weights", "1,x"], "expected comma-separated numbers"),
    ],
)
def test_user_mistakes_are_user_errors(monkeypatch, tmp_path, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


# --------------------------------------------------------------------------- env


def test_env_reports_versions_caches_encoder_and_devices(monkeypatch, tmp_path, capsys):
    import torch

    from silver_ner import __version__

    monkeypatch.setenv("SILVER_NER_CACHE", str(tmp_path / "cache"))
    assert main(["env", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["versions"]["silver-ner"] == __version__
    assert report["versions"]["torch"] == torch.__version__
    assert report["versions"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert report["caches"]["silver-ner cache"] == str(tmp_path / "cache")
    assert report["caches"]["encoders"] == str(tmp_path / "cache" / "encoders")
    enc = report["default encoder"]
    assert enc["converted"] is False and enc["path"].startswith(str(tmp_path / "cache" / "encoders"))
    assert not (tmp_path / "cache").exists()  # the report builds nothing
    assert report["devices"]["cuda available"] == torch.cuda.is_available()
    assert report["devices"]["torch threads"] == torch.get_num_threads()
    assert main(["env"]) == 0
    text = capsys.readouterr().out
    assert re.search(rf"^  silver-ner +{re.escape(__version__)}$", text, re.M)
    assert re.search(r"^  converted +no$", text, re.M) and str(tmp_path / "cache") in text


def test_env_fingerprints_a_built_encoder(monkeypatch, tmp_path, capsys):
    from silver_ner.projection import encoder
    from silver_ner.projection.aligner import model_fingerprint

    monkeypatch.setenv("SILVER_NER_CACHE", str(tmp_path))
    folder = tmp_path / "encoders" / encoder.default_encoder_name()
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"\0" * 100)
    (folder / "tokenizer.json").write_text("{}")
    (folder / encoder.MARKER_FILE).write_text(json.dumps({"converter_version": encoder.CONVERTER_VERSION}))
    assert main(["env", "--json"]) == 0
    enc = json.loads(capsys.readouterr().out)["default encoder"]
    assert enc["converted"] is True and enc["fingerprint"] == model_fingerprint(folder)


# --------------------------------------------------------------------------- a real command, as a user runs it


def test_publish_results_prints_no_http_request_lines(tmp_path):
    from hub_server import eval_record, running_hub

    records = tmp_path / "records.jsonl"
    records.write_text("\n".join(json.dumps(r) for r in [eval_record(0.61), eval_record(0.5, "yor")]) + "\n")
    hub = running_hub(tmp_path / "hf-home")
    next(hub)
    try:
        cmd = [sys.executable, "-m", "silver_ner.cli", "publish", "results", str(records), "--repo",
               "silver-org/quiet-results", "--version", "1.0.0"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=dict(os.environ))
        assert out.returncode == 0, out.stderr
        assert "HTTP Request" not in out.stderr and "INFO" not in out.stderr
        assert "v1.0.0" in out.stdout
        debug = subprocess.run(cmd[:-1] + ["1.0.1", "-vv"], capture_output=True, text=True, timeout=300,
                               env=dict(os.environ))
        assert debug.returncode == 0, debug.stderr
        assert "HTTP Request" in debug.stderr
    finally:
        hub.close()
