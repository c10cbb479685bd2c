"""Which bridges a job's pipeline calls, in the attribute forms DOT allows."""

import pytest
from chainlink_agent.model.errors import InvalidSpec
from chainlink_agent.model.pipeline import MAX_BRIDGES, bridge_names


def job(source: str) -> str:
    return f'type = "webhook"\nschemaVersion = 1\nobservationSource = """\n{source}\n"""\n'


def test_quoted_and_bare_attributes_lowercased_without_repeats():
    toml = job(
        'a [type=bridge name="Price"]\n'
        'b [type="bridge" name=volume requestData="{\\\\"x\\\\": \\\\"[1]\\\\"}"]\n'
        "c [type=BRIDGE name=price]\n"
        'd [type=http url="https://x/[type=bridge name=fake]"]\n'
        "a -> b -> c -> d"
    )
    assert bridge_names(toml) == ["price", "volume"]


def test_no_pipeline_or_no_bridges():
    assert bridge_names('type = "bootstrap"\nschemaVersion = 1\n') == []
    assert bridge_names(job('m [type=memo value="1"]')) == []
    assert bridge_names("not = [toml") == []


@pytest.mark.parametrize(
    "name",
    [
        "../../v2/keys/eth",
        "price?x=1",
        "a.b",
        "a b",
        "\u212a",  # the Kelvin sign lowercases to "k": checked before lowercasing, as the node does
        "p" * 256,
    ],
)
def test_a_name_the_node_would_refuse_makes_the_spec_invalid(name):
    with pytest.raises(InvalidSpec) as info:
        bridge_names(job(f'a [type=bridge name="{name}"]'))
    assert info.value.reason == "InvalidBridgeName"
    assert name[:64] in info.value.message


def test_more_distinct_bridges_than_a_job_may_call_make_the_spec_invalid():
    at_most = "\n".join(f"t{i} [type=bridge name=b{i}]" for i in range(MAX_BRIDGES))
    assert len(bridge_names(job(at_most + "\nagain [type=bridge name=B0]"))) == MAX_BRIDGES
    with pytest.raises(InvalidSpec) as info:
        bridge_names(job(at_most + "\nt [type=bridge name=one_more]"))
    assert info.value.reason == "TooManyBridges"
    assert f"at most {MAX_BRIDGES} bridges" in info.value.message
