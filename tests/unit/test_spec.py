import tomllib
import uuid

import pytest
from chainlink_agent.model.errors import InvalidSpec
from chainlink_agent.model.resource import derived_external_job_id
from chainlink_agent.model.spec import render, rendered_before

TOML = 'type = "webhook"\nschemaVersion = 1\n[webhookSpec]\nx = 1\n'


def test_derived_external_id_is_added_at_top_level():
    ext = derived_external_job_id("uid-1", "node-a")
    spec = render(TOML, ext)
    assert spec.external_job_id == ext
    assert spec.toml.startswith(f'externalJobID = "{ext}"\n')
    assert tomllib.loads(spec.toml)["externalJobID"] == ext


def test_derived_id_is_stable_and_distinct_per_node_and_resource():
    assert derived_external_job_id("uid-1", "node-a") == derived_external_job_id("uid-1", "node-a")
    assert derived_external_job_id("uid-1", "node-a") != derived_external_job_id("uid-1", "node-b")
    assert derived_external_job_id("uid-1", "node-a") != derived_external_job_id("uid-2", "node-a")
    assert uuid.UUID(derived_external_job_id("uid-1", "node-a")).version == 5


def test_external_id_set_by_the_user_wins_and_is_normalised():
    own = "0EB9B7E4-0000-4000-8000-00000000000A"
    spec = render(f'externalJobID = "{own}"\n{TOML}', "ignored")
    assert spec.external_job_id == own.lower()
    assert spec.toml.count("externalJobID") == 1


def test_hash_follows_the_spec():
    assert render(TOML, "e").spec_hash == render(TOML, "e").spec_hash
    assert render(TOML, "e").spec_hash != render(TOML + "# edit\n", "e").spec_hash


def test_malformed_toml_is_invalid_with_the_parser_message():
    with pytest.raises(InvalidSpec) as info:
        render('type = "webhook\n', "e")
    assert info.value.reason == "InvalidTOML"
    assert "does not parse" in info.value.message


def test_external_id_that_is_not_a_uuid_is_invalid():
    with pytest.raises(InvalidSpec) as info:
        render('externalJobID = "nope"\n', "e")
    assert info.value.reason == "InvalidExternalJobID"


@pytest.mark.parametrize(
    "text",
    [TOML, 'externalJobID = "0eb9b7e4-0000-4000-8000-00000000000a"\n' + TOML],
    ids=["derived", "set-in-toml"],
)
def test_a_recorded_render_is_recognised_without_parsing(text, monkeypatch):
    derived = derived_external_job_id("uid-1", "node-a")
    spec = render(text, derived)
    monkeypatch.setattr(tomllib, "loads", None)  # a resync of unchanged specs never parses them
    assert rendered_before(text, derived, spec.external_job_id, spec.spec_hash) == spec


def test_a_changed_or_unrecorded_spec_is_rendered_again():
    derived = derived_external_job_id("uid-1", "node-a")
    spec = render(TOML, derived)
    assert rendered_before(TOML + "# edit\n", derived, spec.external_job_id, spec.spec_hash) is None
    assert rendered_before(TOML, derived, None, None) is None
    # The same text recorded under another resource's ID is not this resource's render.
    other = derived_external_job_id("uid-2", "node-a")
    assert rendered_before(TOML, other, spec.external_job_id, spec.spec_hash) is None


@pytest.mark.parametrize(
    "prefix", ["", 'externalJobID = "0eb9b7e4-0000-4000-8000-00000000000a"\n'], ids=["derived", "set-in-toml"]
)
def test_a_spec_holding_secret_values_is_hashed_as_its_stand_in_and_recognised_without_parsing(
    prefix, monkeypatch
):
    derived = derived_external_job_id("uid-1", "node-a")
    sent, stand_in = prefix + TOML + 'token = "s3cret"\n', prefix + TOML + 'token = "\0[ea, v1]\0"\n'
    spec = render(sent, derived, hashed_as=stand_in)
    assert "s3cret" in spec.toml
    guessed = prefix + TOML + 'token = "guess"\n'
    assert spec.spec_hash == render(guessed, derived, hashed_as=stand_in).spec_hash  # holds nothing of it
    assert spec.spec_hash != render(sent, derived).spec_hash
    monkeypatch.setattr(tomllib, "loads", None)
    assert rendered_before(sent, derived, spec.external_job_id, spec.spec_hash, stand_in) == spec
