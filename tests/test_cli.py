"""``vigil``'s command-line convention: --version, help for every option with its default,
exit 0/1/2 (130) as documented, ``vigil <command>: <message>`` and no traceback for a
user's mistake, --json that parses, and progress that never writes ``\\r`` into a log."""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from agents import cli
from agents.cli import main
from agents.cli_parser import Formatter
from agents.progress import progress
from tests.conftest import REPO, SAMPLE


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    """main() in-process: (exit status, stdout, stderr), argparse's SystemExit included."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def vigil(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agents.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(autouse=True)
def own_data_dir(tmp_path, monkeypatch):
    """Keys and users land in a throwaway VIGIL_DATA_DIR; no VIGIL_CONFIG leaks in."""
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("VIGIL_CONFIG", raising=False)
    monkeypatch.delenv("VIGIL_LOG_LEVEL", raising=False)


def small_sample(path: Path, n: int = 40) -> Path:
    path.write_text("".join(SAMPLE.read_text().splitlines(keepends=True)[:n]))
    return path


def labelled_csv(path: Path, n: int = 160) -> Path:
    rng = random.Random(0)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        for i in range(n):
            toxic = rng.random() < 0.4
            w.writerow([("you worthless idiot" if toxic else "thanks for the link") + f" #{i}",
                        int(toxic)])
    return path


# --- --version and --help ---------------------------------------------------------------

def test_version_prints_the_installed_version(capsys):
    from importlib.metadata import version

    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out == f"vigil {version('vigil')}\n"


def test_version_without_an_installed_distribution(monkeypatch):
    import importlib.metadata as md

    def missing(name):
        raise md.PackageNotFoundError(name)

    monkeypatch.setattr(md, "version", missing)
    assert cli.version().startswith("unknown")


def test_help_describes_vigil_and_its_exit_status(capsys):
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    assert "the command line." not in out and "``" not in out
    assert "online communities" in out and "README" in out
    status = out[out.index("exit status"):]
    for line in ("0    success", "1    failure at run time", "2    usage or configuration",
                 "130"):
        assert line in status


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def test_every_command_and_option_is_documented_with_its_default():
    parser = cli.build_parser()
    commands = _subparsers(parser)
    assert len(commands) >= 15
    formatter = Formatter("vigil")
    for name, sp in commands.items():
        assert sp.description and len(sp.description) > 20, name
        for action in sp._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            where = f"vigil {name} {'/'.join(action.option_strings) or action.dest}"
            assert action.help, f"{where} has no help"
            shown = formatter._get_help_string(action) % {"default": action.default}
            flag = isinstance(action, (argparse._StoreTrueAction, argparse._StoreConstAction))
            if action.option_strings and not flag and not action.required:
                assert "default" in shown or "required" in shown, \
                    f"{where}: its help does not give the default"
            if action.default is not None and action.default is not False \
                    and "default" not in action.help:
                assert f"(default: {action.default})" in shown, where
        rendered = sp.format_help()
        assert "(default: None)" not in rendered and "(default: False)" not in rendered, name


# --- exit status ---------------------------------------------------------------------------

USAGE_ERRORS = [
    (["replay", "--out", "OUT"], "give an INPUT file"),
    (["replay", "MISSING.jsonl", "--out", "OUT"], "no such file"),
    (["replay", "MISSING.jsonl", "--topic", "posts.raw", "--out", "OUT"], "not both"),
    (["replay", "README.md", "--out", "OUT"], "expected a .jsonl or .csv"),
    (["eval", "toxicity", "--data", "MISSING.csv", "--positive", "1"], "no such file"),
    (["eval", "toxicity", "--data", "pyproject.toml"], "--positive is required"),
    (["eval", "toxicity", "--data", "pyproject.toml", "--positive", "1", "--seed", "a"],
     "--seed"),
    (["eval", "toxicity", "--data", "pyproject.toml", "--positive", "1",
      "--flip-fraction", "0.7"], "--flip-fraction must lie in [0, 0.5)"),
    (["eval", "toxicity", "--data", "pyproject.toml", "--positive", "1"], "no column 'text'"),
    (["eval", "trends", "--data", "MISSING"], "no such directory"),
    (["connect", "file", "--input", "MISSING.csv"], "no such file"),
    (["connect", "file"], "--input is required"),
    (["connect", "reddit", "--config", "MISSING.toml"], "no such file"),
    (["connect", "nosuch"], "no connector for 'nosuch'"),
    (["notify", "--routes", "MISSING.toml"], "no such file"),
    (["bench", "--only", "warp"], "unknown --only warp"),
    (["keys", "revoke"], "name the key"),
    (["keys", "revoke", "nobody"], "no live key named 'nobody'"),
    (["users", "remove"], "name the user"),
    (["worker", "--config", "MISSING.toml"], "no such file"),
    (["run", "--input", "MISSING.jsonl"], "no such file"),
]


@pytest.mark.parametrize("argv,message", USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS])
def test_a_users_mistake_exits_2_with_one_message(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    argv = [str(tmp_path / "out") if a == "OUT" else a for a in argv]
    code, out, err = run(argv, capsys)
    assert code == 2, err
    assert err.startswith(f"vigil {argv[0]}: ") and message in err, err
    assert "Traceback" not in err and out == ""


@pytest.mark.parametrize("argv", [["topics", "frob"], ["replay", "--bogus"], ["eval"],
                                  ["nosuch"]])
def test_argparse_errors_exit_2_too(argv, capsys):
    code, _, err = run(argv, capsys)
    assert code == 2 and "error:" in err


@pytest.mark.parametrize("command", ["replay", "eval"])
def test_a_missing_input_file_is_a_message_not_a_traceback(command, tmp_path):
    argv = (["replay", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "out")]
            if command == "replay" else
            ["eval", "toxicity", "--data", str(tmp_path / "nope.csv"), "--positive", "1"])
    done = vigil(*argv)
    assert done.returncode == 2
    assert done.stderr.strip() == f"vigil {command}: " + (
        f"INPUT: no such file: {tmp_path / 'nope.jsonl'}" if command == "replay"
        else f"--data: no such file: {tmp_path / 'nope.csv'}")
    assert not (tmp_path / "out").exists()


def test_a_bad_setting_exits_2_naming_it(capsys, monkeypatch):
    monkeypatch.setenv("VIGIL_PARTITIONS", "zero")
    code, out, err = run(["keys", "list"], capsys)
    assert code == 2 and out == ""
    assert err.startswith("vigil keys: invalid setting: ") and "VIGIL_PARTITIONS" in err
    assert "Traceback" not in err


def test_a_missing_settings_file_exits_2(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("VIGIL_CONFIG", str(tmp_path / "vigil.toml"))
    code, _, err = run(["users", "list"], capsys)
    assert code == 2 and "VIGIL_CONFIG: no such file" in err


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_broker_exits_1_in_one_line(capsys, monkeypatch):
    monkeypatch.setenv("VIGIL_BROKER", "kafka://127.0.0.1:9092")  # restored afterwards
    url = f"kafka://127.0.0.1:{_closed_port()}"
    code, out, err = run(["topics", "list", "--broker", url, "--wait", "0.5"], capsys)
    assert code == 1 and out == ""
    assert err.strip().splitlines()[-1].startswith("vigil topics: BrokerError: ")
    assert "Traceback" not in err
    code, _, err = run(["topics", "list", "--broker", url, "--wait", "0.5", "--traceback"],
                       capsys)
    assert code == 1 and "Traceback (most recent call last)" in err


def test_a_failed_check_exits_1(capsys, tmp_path, monkeypatch):
    from streams import schemas

    # the real check, against a directory where no schema was ever written
    monkeypatch.setattr(schemas.check_schemas, "__defaults__", (tmp_path,))
    code, out, err = run(["schemas", "check", "--json"], capsys)
    report = json.loads(out)
    assert code == 1 and report["up_to_date"] is False and report["stale"]
    assert "out of date" in err


# --- --json and progress -----------------------------------------------------------------------

def test_replay_json_and_no_carriage_return_outside_a_terminal(tmp_path, capsys):
    data = small_sample(tmp_path / "posts.jsonl")
    code, out, err = run(["replay", str(data), "--out", str(tmp_path / "out"), "--json"], capsys)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["rows"] == 40
    assert summary["rows"] == json.loads((tmp_path / "out" / "summary.json").read_text())["rows"]
    assert "\r" not in err and "vigil replay: replayed 40 rows" in err


def test_eval_json_and_no_carriage_return_outside_a_terminal(tmp_path, capsys):
    data = labelled_csv(tmp_path / "posts.csv")
    code, out, err = run(["eval", "toxicity", "--data", str(data), "--positive", "1",
                          "--no-embeddings", "--feedback-fraction", "0.5", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["n"] == 160 and result["learning_curve"][-1]["labels"] == 80
    assert "\r" not in err


def test_eval_text_prints_each_runs_checks_and_the_summary_over_seeds(tmp_path, capsys):
    data = labelled_csv(tmp_path / "posts.csv")
    code, out, err = run(["eval", "toxicity", "--data", str(data), "--positive", "1",
                          "--no-embeddings", "--feedback-fraction", "0.5", "--seed", "0,1,2"],
                         capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert sum(line.startswith("vs_not_learning ") for line in lines) == 3
    table = lines[lines.index(next(l for l in lines if l.startswith("across 3 runs"))):]
    assert table[1].split() == ["labels", "vs_batch", "vs_not_learning", "vs_prior"]
    assert [row.split()[0] for row in table[2:]] == ["25", "50", "all", "misses"]
    # the batch check is counted at every point of every run, the others from 50 labels
    counts = table[-1].split()
    assert (counts[2], counts[3], counts[5], counts[6]) == ("of", "9", "of", "6")


def test_keys_and_users_json(capsys, monkeypatch):
    code, out, _ = run(["keys", "create", "bot", "--qps", "5", "--json"], capsys)
    created = json.loads(out)
    assert code == 0 and created["name"] == "bot" and created["qps"] == 5 and created["key"]
    code, out, _ = run(["keys", "list", "--json"], capsys)
    assert [k["name"] for k in json.loads(out)] == ["bot"]
    code, out, _ = run(["keys", "list"], capsys)
    assert out.splitlines()[0].split() == ["NAME", "QPS", "CREATED", "REVOKED"]
    code, out, _ = run(["keys", "revoke", "bot", "--json"], capsys)
    assert code == 0 and json.loads(out) == {"revoked": "bot"}
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse battery\n"))
    code, out, err = run(["users", "add", "maya", "--role", "moderator", "--password-stdin",
                          "--json"], capsys)
    assert code == 0 and json.loads(out) == {"user": "maya", "action": "added"}, err
    code, out, _ = run(["users", "list", "--json"], capsys)
    assert json.loads(out) == [{"name": "maya", "role": "moderator", "communities": ["*"]}]


def test_progress_on_a_terminal_is_a_bar_and_elsewhere_plain_lines():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    tty = Terminal()
    with progress(100, "replay", stream=tty) as bar:
        bar.update(50)
        bar.update(100)
    assert "\r" in tty.getvalue() and "100/100" in tty.getvalue()
    log = io.StringIO()
    with progress(100, "replay", stream=log, every_s=0.0) as lines:
        lines.update(50)
        lines.update(100)  # the end is the caller's to report
    assert log.getvalue().startswith("replay: 50/100 rows (50%, ")
    assert "\r" not in log.getvalue() and log.getvalue().count("\n") == 1


def test_eval_reports_scoring_progress(tmp_path):
    from agents.evaluation import prepare

    calls = []
    prepare(labelled_csv(tmp_path / "posts.csv", 300), text_col="text", label_col="label",
            positive={"1"}, embeddings=False, progress=lambda done, total: calls.append(
                (done, total)))
    assert calls == [(256, 300), (300, 300)]


def test_the_readme_usage_block_matches_the_parser():
    """Every command and flag in the README's `## Command line` block exists, and every
    command and every --json the parser has is in the block."""
    import re

    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Command line\n"):readme.index("## Settings\n")]
    block = section.split("```")[1]
    usage: dict[str, set[str]] = {}
    command = None
    for line in block.splitlines():
        words = line.split()
        if line.startswith("vigil ") and not words[1].startswith("-"):
            command = words[1]
        if command:
            usage.setdefault(command, set()).update(
                re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", line.split("#")[0]))
    commands = _subparsers(cli.build_parser())
    assert set(usage) == set(commands)
    for name, flags in usage.items():
        known = {o for a in commands[name]._actions for o in a.option_strings}
        assert flags <= known, f"vigil {name}: {sorted(flags - known)} not in the parser"
        if "--json" in known:
            assert "--json" in flags, f"README: vigil {name} has --json"
