"""Settings: env coercion, TOML loading, precedence and validation."""

from __future__ import annotations

import pytest

from config.settings import Settings, SettingsError


def test_defaults_load_from_empty_env():
    s = Settings.load(env={})
    assert s == Settings()
    assert s.uses_dev_pseudonym_key


@pytest.mark.parametrize("var,raw,field,expected", [
    ("VIGIL_PARTITIONS", "8", "partitions", 8),
    ("VIGIL_WEB_PORT", " 7000 ", "web_port", 7000),
    ("VIGIL_SESSION_TIMEOUT_S", "2.5", "session_timeout_s", 2.5),
    ("VIGIL_BURST_Z", "3", "burst_z", 3.0),
    ("VIGIL_ESCALATE_OPPORTUNITIES", "false", "escalate_opportunities", False),
    ("VIGIL_ESCALATE_OPPORTUNITIES", "0", "escalate_opportunities", False),
    ("VIGIL_ESCALATE_OPPORTUNITIES", "off", "escalate_opportunities", False),
    ("VIGIL_ESCALATE_OPPORTUNITIES", " YES ", "escalate_opportunities", True),
    ("VIGIL_ESCALATE_OPPORTUNITIES", "on", "escalate_opportunities", True),
    ("VIGIL_LOG_LEVEL", "debug", "log_level", "debug"),
])
def test_env_coercion(var, raw, field, expected):
    value = getattr(Settings.load(env={var: raw}), field)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize("var,raw", [
    ("VIGIL_PARTITIONS", "four"),
    ("VIGIL_PARTITIONS", "2.5"),
    ("VIGIL_BURST_Z", "high"),
    ("VIGIL_ESCALATE_OPPORTUNITIES", "maybe"),
    # empty was false once: with VIGIL_EMBEDDINGS: ${X:-} a compose file then silently
    # switched the model off; an empty value is no longer a boolean
    ("VIGIL_ESCALATE_OPPORTUNITIES", ""),
])
def test_uncoercible_env_names_variable(var, raw):
    with pytest.raises(SettingsError, match=rf"^{var}={raw!r} \(environment\): must be "):
        Settings.load(env={var: raw})


@pytest.mark.parametrize("var,raw", [
    ("VIGIL_PARTITIONS", "0"),
    ("VIGIL_REPLICATION_FACTOR", "-1"),
    ("VIGIL_BURST_MIN_HISTORY", "0"),
    ("VIGIL_TOXICITY_THRESHOLD", "0"),
    ("VIGIL_TOXICITY_HIGH_THRESHOLD", "1.5"),
    ("VIGIL_BURST_ALPHA", "1"),
    ("VIGIL_BURST_ALPHA", "0"),
    ("VIGIL_BURST_WINDOW_S", "0"),
    ("VIGIL_DEDUP_WINDOW_S", "-5"),
    ("VIGIL_LOG_FORMAT", "xml"),
    ("VIGIL_EMBEDDING_BACKEND", "tensorrt"),
    ("VIGIL_WEB_PORT", "70000"),
    ("VIGIL_BROKER", "http://k:9092"),
    ("VIGIL_BURST_WINDOW_S", "nan"),
    ("VIGIL_BURST_Z", "0"),
    ("VIGIL_BURST_MAX_P", "1.5"),
    ("VIGIL_MAX_CLOCK_SKEW_S", "-1"),
    ("VIGIL_SESSION_TIMEOUT_S", "inf"),
    ("VIGIL_TOXICITY_HIGH_THRESHOLD", "0.5"),  # below the default threshold of 0.8
])
def test_out_of_range_values_rejected_naming_variable(var, raw):
    with pytest.raises(SettingsError, match=var):
        Settings.load(env={var: raw})


def test_boundary_values_accepted():
    s = Settings.load(env={"VIGIL_TOXICITY_THRESHOLD": "1.0", "VIGIL_TOXICITY_HIGH_THRESHOLD": "1.0",
                           "VIGIL_PARTITIONS": "1", "VIGIL_WEB_PORT": "65535"})
    assert (s.toxicity_threshold, s.partitions, s.web_port) == (1.0, 1, 65535)


def test_unrelated_env_vars_ignored():
    s = Settings.load(env={"VIGIL_NOT_A_SETTING": "x", "PATH": "/bin"})
    assert s == Settings()


def test_toml_file_with_vigil_table(tmp_path):
    cfg = tmp_path / "vigil.toml"
    cfg.write_text('[vigil]\npartitions = 12\nbroker = "kafka://a:1;b:2"\nburst_z = 5.5\n')
    s = Settings.load(env={}, config_file=cfg)
    assert (s.partitions, s.burst_z) == (12, 5.5)
    assert s.bootstrap_servers == "a:1,b:2"


def test_toml_file_flat_and_via_env_var(tmp_path):
    cfg = tmp_path / "flat.toml"
    cfg.write_text("score_batch_size = 7\n")
    assert Settings.load(env={"VIGIL_CONFIG": str(cfg)}).score_batch_size == 7


def test_env_overrides_file_and_overrides_beat_env(tmp_path):
    cfg = tmp_path / "vigil.toml"
    cfg.write_text("[vigil]\npartitions = 12\nweb_port = 9000\n")
    env = {"VIGIL_PARTITIONS": "3"}
    s = Settings.load(env=env, config_file=cfg)
    assert (s.partitions, s.web_port) == (3, 9000)
    assert Settings.load(env=env, config_file=cfg, partitions=5).partitions == 5


@pytest.mark.parametrize("body,match", [
    ("[vigil]\nno_such_setting = 1\n", "no_such_setting"),
    ("[vigil\npartitions = ", "not valid TOML"),
    ("[vigil]\npartitions = 0\n", r"^partitions = 0 \(file .*bad\.toml\): must be an integer >= 1$"),
    ("vigil = 3\n", "must be a \\[vigil\\] table"),
])
def test_bad_toml_files(tmp_path, body, match):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(body)
    with pytest.raises(SettingsError, match=match):
        Settings.load(env={}, config_file=cfg)


def test_missing_config_file(tmp_path):
    with pytest.raises(SettingsError, match="not found"):
        Settings.load(env={}, config_file=tmp_path / "nope.toml")


@pytest.mark.parametrize("broker,expected", [
    ("kafka://127.0.0.1:9092", "127.0.0.1:9092"),
    ("kafka://k1:9092;k2:9093/", "k1:9092,k2:9093"),
    ("aiokafka://broker:29092", "broker:29092"),
])
def test_bootstrap_servers(broker, expected):
    assert Settings.load(env={"VIGIL_BROKER": broker}).bootstrap_servers == expected


def test_replace_validates_and_keeps_frozen():
    s = Settings()
    assert s.replace(partitions=2).partitions == 2
    with pytest.raises(SettingsError, match="VIGIL_BURST_ALPHA"):
        s.replace(burst_alpha=2.0)
    with pytest.raises(Exception):
        s.partitions = 9  # type: ignore[misc]


def test_every_field_has_its_env_name():
    names = Settings.env_names()
    assert "VIGIL_FETCH_MAX_WAIT_MS" in names and "VIGIL_PSEUDONYM_KEY" in names
    assert all(n.startswith("VIGIL_") and n == n.upper() for n in names)


def test_pseudonym_key_hidden_and_used():
    s = Settings.load(env={"VIGIL_PSEUDONYM_KEY": "s3cret"})
    assert "s3cret" not in repr(s)
    assert s.effective_pseudonym_key == b"s3cret" and not s.uses_dev_pseudonym_key


def test_embedding_backends_match_the_embedder_and_reach_it():
    from config.settings import EMBEDDING_BACKENDS
    from models.embeddings import BACKENDS
    from streams.pipeline import Pipeline

    assert set(EMBEDDING_BACKENDS) == set(BACKENDS)
    assert Settings.load(env={}).embedding_backend == "onnx-int8"
    pipeline = Pipeline(Settings.load(env={"VIGIL_EMBEDDING_BACKEND": "torch-fp32",
                                           "VIGIL_EMBEDDING_ONNX_DIR": "/nowhere"}))
    embedder = pipeline.score.toxicity.embedder
    assert (embedder.backend, embedder.onnx_dir) == ("torch-fp32", "/nowhere")


# -- every value an operator got wrong in issue 20, from a file and from the environment --
BAD_VALUES = [  # (setting, TOML text, env text, what the message must say)
    ("partitions", '"8"', "eight", "must be an integer >= 1"),
    ("web_port", "6066.5", "6066.5", "must be an integer TCP port 1-65535"),
    ("log_level", '"loud"', "loud", "must be one of debug, info, warning, error, critical"),
    ("metrics_community_limit", "-3", "-3", "must be an integer >= 0"),
    ("api_port", "0", "65536", "must be an integer TCP port 1-65535"),
    ("embeddings", '"yes"', "maybe", "must be true or false"),
    ("burst_window_s", "nan", "nan", "must be a finite number of seconds > 0"),
    ("session_timeout_s", "inf", "inf", "must be a finite number of seconds > 0"),
    ("idle_clock_grace_s", "-inf", "-inf", "must be a finite number of seconds >= 0"),
    ("burst_max_p", "1.0", "0", "must be a number between 0 and 1, both excluded"),
    ("embedding_backend", '"tensorrt"', "tensorrt", "must be one of onnx-int8, torch-bf16"),
    ("app_id", '""', "", "must be a non-empty string"),
    ("console_trusted_proxy", '"proxy.example"', "proxy.example", "must be an IP address"),
    ("runbook_base_url", '"javascript:alert(1)"', "javascript:alert(1)",
     "must be an http:// or https:// URL, or a relative link"),
]


@pytest.mark.parametrize("name,toml,_env,why", BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_bad_file_value_named_with_its_file(tmp_path, name, toml, _env, why):
    cfg = tmp_path / "vigil.toml"
    cfg.write_text(f"[vigil]\nweb_host = \"0.0.0.0\"\n{name} = {toml}\n")
    with pytest.raises(SettingsError) as err:
        Settings.load(env={}, config_file=cfg)
    assert str(err.value).startswith(f"{name} = {toml} (file {cfg}): {why}")


@pytest.mark.parametrize("name,_toml,env,why", BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_bad_env_value_named_with_its_variable(name, _toml, env, why):
    var = Settings.env_name(name)
    with pytest.raises(SettingsError) as err:
        Settings.load(env={var: env})
    assert str(err.value).startswith(f"{var}={env!r} (environment): {why}")


@pytest.mark.parametrize("toml,expected", [
    ('burst_z = 5', 5.0),                # a TOML integer is a fine float
    ('log_level = "WARNING"', "warning"),
    ('embeddings = false', False),
])
def test_file_values_of_the_right_toml_type_load(tmp_path, toml, expected):
    cfg = tmp_path / "vigil.toml"
    cfg.write_text(toml + "\n")
    name = toml.split(" = ")[0]
    value = getattr(Settings.load(env={}, config_file=cfg), name)
    assert value == expected and type(value) is type(expected)


def test_quoted_number_in_file_is_an_error_with_a_hint(tmp_path):
    cfg = tmp_path / "vigil.toml"
    cfg.write_text('partitions = "8"\n')
    with pytest.raises(SettingsError, match="written without quotes"):
        Settings.load(env={}, config_file=cfg)


def test_bad_file_value_reported_even_when_env_overrides_it(tmp_path):
    cfg = tmp_path / "vigil.toml"
    cfg.write_text("web_port = 6066.5\n")
    with pytest.raises(SettingsError, match=r"^web_port = 6066.5 \(file "):
        Settings.load(env={"VIGIL_WEB_PORT": "7000"}, config_file=cfg)


def test_first_bad_value_is_the_one_named(tmp_path):
    cfg = tmp_path / "vigil.toml"
    cfg.write_text("[vigil]\nlog_level = \"loud\"\npartitions = 0\n")
    with pytest.raises(SettingsError, match=r"^log_level = \"loud\""):
        Settings.load(env={"VIGIL_WEB_PORT": "x"}, config_file=cfg)


def test_unknown_file_key_suggests_the_setting(tmp_path):
    cfg = tmp_path / "vigil.toml"
    cfg.write_text("[vigil]\npartitons = 8\n")
    with pytest.raises(SettingsError,
                       match=rf"unknown setting 'partitons' in file {cfg}; did you mean 'partitions'"):
        Settings.load(env={}, config_file=cfg)


def test_unknown_override_rejected():
    with pytest.raises(SettingsError, match="unknown setting 'no_such'"):
        Settings.load(env={}, no_such=1)


def test_cross_field_rule_names_the_source_of_each_side(tmp_path):
    cfg = tmp_path / "vigil.toml"
    cfg.write_text("toxicity_threshold = 0.97\n")
    with pytest.raises(SettingsError) as err:
        Settings.load(env={}, config_file=cfg)
    assert str(err.value) == ("VIGIL_TOXICITY_HIGH_THRESHOLD=0.95 (default): must not be "
                              "below VIGIL_TOXICITY_THRESHOLD (0.97)")
    s = Settings.load(env={"VIGIL_TOXICITY_HIGH_THRESHOLD": "0.99"}, config_file=cfg)
    assert (s.toxicity_threshold, s.toxicity_high_threshold) == (0.97, 0.99)


@pytest.mark.parametrize("broker", ["kafka://", "k:9092", "aiokafka:///"])
def test_broker_without_servers_rejected(broker):
    with pytest.raises(SettingsError, match=r"^VIGIL_BROKER=.*must look like kafka://host:port"):
        Settings.load(env={"VIGIL_BROKER": broker})


def test_overrides_are_validated_and_none_ignored():
    assert Settings.load(env={}, partitions=None).partitions == 4
    with pytest.raises(SettingsError, match=r"^VIGIL_WEB_PORT=6066.5 \(set in code\): must be an"):
        Settings.load(env={}, web_port=6066.5)


def test_pseudonym_key_never_in_messages(tmp_path):
    cfg = tmp_path / "vigil.toml"
    cfg.write_text('pseudonym_key = 123456789\n')
    with pytest.raises(SettingsError) as err:
        Settings.load(env={}, config_file=cfg)
    assert str(err.value).startswith(f"pseudonym_key (file {cfg}): must be a string")
    assert "123456789" not in str(err.value)
    assert err.value.__context__ is None  # no ValidationError (with the input) rides along
    s = Settings.load(env={"VIGIL_PSEUDONYM_KEY": "s3cret-value"})
    assert "s3cret-value" not in repr(s) and "s3cret-value" not in str(s)
    with pytest.raises(SettingsError) as err:
        s.replace(web_port=0)
    assert "s3cret-value" not in str(err.value) and "s3cret-value" not in repr(err.value)


def test_settings_are_hashable_and_equal_by_value():
    assert hash(Settings.load(env={})) == hash(Settings())
    assert Settings().replace(partitions=8) == Settings.load(env={"VIGIL_PARTITIONS": "8"})


def test_only_exact_upper_case_variables_count():
    assert Settings.load(env={"vigil_partitions": "8"}).partitions == 4


def test_every_setting_is_documented():
    for name, field in Settings.model_fields.items():
        assert field.description and len(field.description) > 15, name


def test_readme_table_is_the_generated_one():
    from pathlib import Path

    from config.settings_doc import markdown_table, readme_table

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme_table(readme)
    assert table is not None, "README.md has no generated settings table"
    assert table == markdown_table(), ("README.md's settings table is out of date: replace it "
                                       "with the output of python -m config.settings --markdown")
    for var in Settings.env_names():
        assert f"`{var}`" in table


def test_markdown_cli_prints_and_checks_the_table(tmp_path):
    import subprocess
    import sys

    from config.settings_doc import BEGIN, END, markdown_table

    out = subprocess.run([sys.executable, "-m", "config.settings", "--markdown"],
                         capture_output=True, text=True, check=True).stdout
    assert out == markdown_table()
    stale = tmp_path / "README.md"
    stale.write_text(f"{BEGIN}\n{out.replace('`6066`', '`6067`')}{END}\n")
    check = [sys.executable, "-m", "config.settings", "--check", str(stale)]
    assert subprocess.run(check, capture_output=True).returncode == 1
    stale.write_text(f"{BEGIN}\n{out}{END}\n")
    assert subprocess.run(check, capture_output=True).returncode == 0


@pytest.mark.parametrize("how", ["env", "file"])
def test_cli_names_the_bad_value_and_exits_2(tmp_path, how):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    if how == "env":
        env["VIGIL_WEB_PORT"], expected = "6066.5", "VIGIL_WEB_PORT='6066.5' (environment): "
    else:
        cfg = tmp_path / "vigil.toml"
        cfg.write_text('[vigil]\npartitions = "8"\n')
        env["VIGIL_CONFIG"], expected = str(cfg), f'partitions = "8" (file {cfg}): '
    # `topics list` loads the settings before it looks for a broker (there is none here)
    result = subprocess.run([sys.executable, "-m", "agents.cli", "topics", "list", "--wait", "1"],
                            capture_output=True, text=True, env=env, timeout=60,
                            cwd=Path(__file__).resolve().parents[1])
    assert result.stderr.startswith("vigil"), result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert result.returncode == 2
