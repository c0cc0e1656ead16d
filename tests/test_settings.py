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
    ("VIGIL_ESCALATE_OPPORTUNITIES", "", "escalate_opportunities", False),
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
])
def test_uncoercible_env_names_variable(var, raw):
    with pytest.raises(SettingsError, match=var):
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
    ("[vigil]\npartitions = 0\n", "VIGIL_PARTITIONS"),
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
