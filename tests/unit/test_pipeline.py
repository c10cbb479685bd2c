"""Which bridges a job's pipeline calls, in the attribute forms DOT allows."""

from chainlink_agent.pipeline import bridge_names


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
