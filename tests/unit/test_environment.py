"""Settings read from the environment (runtime/environment.py): each field from its variable, JSON where the
field is a collection or a model, defaults for what is unset, and errors that name the variable."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pytest
from chainlink_agent.backups.backupsettings import RestoreDirectory
from chainlink_agent.runtime.environment import is_json
from chainlink_agent.runtime.settings import BundleFiles, Settings
from pydantic import SecretStr, ValidationError

REQUIRED = {
    "CHAINLINK_AGENT_NODE_NAME": "node-a",
    "CHAINLINK_AGENT_NAMESPACE": "ns",
    "CHAINLINK_AGENT_CREDENTIALS_FILE": "/secrets/credentials",
}


def refused(environ: dict[str, str]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Settings.from_environment(environ)
    return caught.value


def test_a_json_setting_that_is_not_json_is_refused_naming_its_variable() -> None:
    error = refused({**REQUIRED, "CHAINLINK_AGENT_NODE_LABELS": "team=a"})
    assert [(e["loc"], e["type"]) for e in error.errors()] == [
        (("CHAINLINK_AGENT_NODE_LABELS",), "json_invalid")
    ]
    assert "CHAINLINK_AGENT_NODE_LABELS" in str(error)


def test_json_settings_are_decoded_into_their_types() -> None:
    settings = Settings.from_environment(
        {
            **REQUIRED,
            "CHAINLINK_AGENT_NODE_LABELS": '{"team": "a"}',
            "CHAINLINK_AGENT_ALLOWED_SECRETS": '["ea", "ea"]',
            "CHAINLINK_AGENT_IMPORT_KEYS": '[{"type": "ocr2", "json": "/k/json", "password": "/k/password"}]',
        }
    )
    assert settings.node_labels == {"team": "a"}
    assert settings.allowed_secrets == frozenset({"ea"})
    assert settings.import_keys == [
        BundleFiles(type="ocr2", json=Path("/k/json"), password=Path("/k/password"))
    ]


def test_an_unset_variable_takes_the_default() -> None:
    settings = Settings.from_environment(REQUIRED)
    assert (settings.node_url, settings.concurrency, settings.log_level) == (
        "http://127.0.0.1:6688",
        4,
        "INFO",
    )
    assert (settings.node_labels, settings.allowed_secrets, settings.import_keys) == ({}, frozenset(), [])
    assert settings.credentials_file == Path("/secrets/credentials")


def test_a_wrong_value_names_the_variable() -> None:
    error = refused({**REQUIRED, "CHAINLINK_AGENT_NODE_NAME": "Node_A", "CHAINLINK_AGENT_CONCURRENCY": "0"})
    assert {e["loc"] for e in error.errors()} == {
        ("CHAINLINK_AGENT_NODE_NAME",),
        ("CHAINLINK_AGENT_CONCURRENCY",),
    }
    assert "CHAINLINK_AGENT_NODE_NAME\n" in str(error)


def test_a_missing_variable_is_named() -> None:
    error = refused({k: v for k, v in REQUIRED.items() if k != "CHAINLINK_AGENT_NAMESPACE"})
    assert [(e["loc"], e["type"]) for e in error.errors()] == [(("CHAINLINK_AGENT_NAMESPACE",), "missing")]


def test_names_are_exact_and_other_variables_are_ignored() -> None:
    # Only the chart's spelling is read (pydantic-settings also matched names in any case).
    environ = {**REQUIRED, "chainlink_agent_concurrency": "0", "CHAINLINK_AGENT_UNKNOWN": "x"}
    assert Settings.from_environment(environ).concurrency == 4


def test_an_alias_choice_is_read_the_first_that_is_set_winning() -> None:
    assert RestoreDirectory.from_environment({}).directory == Path("/restore")
    # The chart's restore-fetch container sets only CHAINLINK_BACKUP_DIR.
    assert RestoreDirectory.from_environment({"CHAINLINK_BACKUP_DIR": "/b"}).directory == Path("/b")
    both = {"CHAINLINK_BACKUP_DIR": "/b", "CHAINLINK_RESTORE_DIR": "/r"}
    assert RestoreDirectory.from_environment(both).directory == Path("/r")


def test_models_can_still_be_built_by_field_name() -> None:
    settings = Settings(node_name="node-a", namespace="ns", credentials_file=Path("/c"))
    assert (settings.node_name, settings.http_port) == ("node-a", 8080)


@pytest.mark.parametrize(
    ("annotation", "decoded"),
    [
        (dict[str, str], True),
        (list[BundleFiles], True),
        (frozenset[str], True),
        (BundleFiles, True),
        (list[str] | None, True),
        (str, False),
        (str | None, False),
        (Path, False),
        (bool, False),
        (float, False),
        (SecretStr, False),
        (Literal["Scheduled", "PreUpgrade"], False),
    ],
)
def test_collections_and_models_are_given_as_json_and_scalars_as_text(annotation: Any, decoded: bool) -> None:
    assert is_json(annotation) is decoded
