"""Who may act on a hand-set name on the node (claims.py): the pure decision, the table of what each
resource's reconcile found it setting, and the squatting scenarios of issue 28 item 2 against the fakes
(tests/unit/fakes.py): a name goes to the oldest resource setting it, suspended, untargeted or not, and
only deletion lets go of it."""

from chainlink_agent.control.claims import Claimant, Claims, winner

from tests.unit.fakes import EXT, TOML, World, phase

PINNED = f'externalJobID = "{EXT}"\n{TOML}'
SQUATTING = PINNED.replace('value="1"', 'value="squatter"')
T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"


def test_the_oldest_existing_claimant_wins_whether_or_not_it_holds_the_name_then_the_key_breaks_ties():
    assert winner([Claimant("b", T1, holds=True), Claimant("c", T0, holds=False)]) == "c"
    assert winner([Claimant("b", T0, holds=False), Claimant("a", T0, holds=False)]) == "a"
    assert winner([]) is None


def test_a_deleted_resource_whose_record_is_the_only_one_comes_first_until_its_cleanup_is_done():
    assert winner([Claimant("young", T1, holds=False), Claimant("gone", None, holds=True)]) == "gone"
    assert winner([Claimant("gone", None, holds=False)]) is None  # no record: nothing left to remove


def test_a_deleted_resource_gets_nothing_from_a_record_an_existing_resource_has_taken_over():
    taken = [Claimant("gone", None, holds=True), Claimant("winner", T1, holds=True)]
    assert winner(taken) == "winner"


def test_a_resource_that_lets_go_of_a_name_wakes_those_that_claim_it():
    woken: list[str] = []
    table = Claims(woken.append)
    table.claim("older", "x")
    table.claim("younger", "x")
    assert table.contested("x", "older")
    assert table.keys("x") == {"older", "younger"}
    table.claim("older", "y")  # its spec now sets another name
    assert woken == ["younger"]
    table.release("younger", held="z")  # deleted, its placement having recorded z
    assert table.keys("x") == set()
    assert woken == ["younger"]
    table.claim("waiting", "z")
    table.release("holder", held="z")
    assert woken == ["younger", "waiting"]


def suspend(w, key, suspended=True):
    w.cache.objects[key]["spec"]["suspend"] = suspended


def edit(w, key, **spec):
    obj = w.cache.objects[key]
    obj["spec"].update(spec)
    obj["metadata"]["generation"] += 1


def node_specs(w):
    """The node's jobs: external job ID -> the TOML it runs."""
    return {job.external_job_id: w.node.specs[job.id] for job in w.node.jobs.values()}


def test_a_suspended_resource_keeps_its_external_job_id_and_a_younger_one_setting_it_makes_no_job():
    w = World()
    owner = w.add_job("owner", PINNED)
    assert not w.reconcile(owner)
    suspend(w, owner)
    assert not w.reconcile(owner)
    assert not w.node.jobs
    squatter = w.add_job("squatter", SQUATTING)
    assert not w.reconcile(squatter)
    assert phase(w, squatter) == ("Invalid", "DuplicateExternalJobID")
    assert not w.node.jobs
    assert "externalJobID" not in w.entry(squatter)  # a loser never records the name
    suspend(w, owner, False)
    assert not w.reconcile(owner)
    assert phase(w, owner) == ("Synced", "JobSynced")
    w.delete(squatter)
    assert not w.reconcile(squatter)
    assert node_specs(w) == {EXT: PINNED}


def test_an_untargeted_resource_keeps_its_external_job_id_through_an_agent_restart():
    w = World()
    owner = w.add_job("owner", PINNED)
    assert not w.reconcile(owner)
    edit(w, owner, targets={"names": ["node-b"]})
    assert not w.reconcile(owner)  # removed from this node, its placement with it
    assert owner not in w.placements.objects
    w.restart()  # a new agent knows the name only from the cached resources
    squatter = w.add_job("squatter", SQUATTING)
    assert not w.reconcile(squatter)
    assert phase(w, squatter) == ("Invalid", "DuplicateExternalJobID")
    assert not w.node.jobs


def test_deleting_a_resource_that_lost_its_external_job_id_leaves_the_winners_job():
    w = World()
    owner = w.add_job("owner", TOML)
    squatter = w.add_job("squatter", SQUATTING)
    assert not w.reconcile(owner)
    assert not w.reconcile(squatter)  # nobody else sets the ID yet: it is made for the squatter
    edit(w, owner, toml=PINNED)  # the older resource now sets it: it takes the job over
    assert not w.reconcile(owner)
    assert phase(w, owner) == ("Synced", "JobSynced")
    assert node_specs(w) == {EXT: PINNED}
    w.delete(squatter)  # before its reconcile has let go of its record of the ID
    assert not w.reconcile(squatter)
    assert squatter not in w.placements.objects
    assert node_specs(w) == {EXT: PINNED}
    assert w.entry(owner)["jobID"] in w.node.jobs


def test_an_older_resource_that_sets_a_held_external_job_id_while_suspended_removes_the_younger_ones_job():
    w = World()
    owner = w.add_job("owner", TOML, suspend=True)
    squatter = w.add_job("squatter", SQUATTING)
    assert not w.reconcile(owner)
    assert not w.reconcile(squatter)
    edit(w, owner, toml=PINNED)
    assert not w.reconcile(owner)
    assert phase(w, owner) == ("Suspended", "Suspended")
    assert EXT not in node_specs(w)
    assert not w.reconcile(squatter)
    assert phase(w, squatter) == ("Invalid", "DuplicateExternalJobID")
    assert "externalJobID" not in w.entry(squatter)


def test_a_suspended_bridge_keeps_its_name_and_a_younger_one_with_another_url_makes_no_bridge():
    w = World()
    owner = w.add_bridge("price", url="http://owner")
    assert not w.reconcile(owner)
    suspend(w, owner)
    assert not w.reconcile(owner)
    assert "price" not in w.node.bridges
    squatter = w.add_bridge("squatter", bridgeName="price", url="http://attacker")
    assert not w.reconcile(squatter)
    assert phase(w, squatter) == ("Invalid", "DuplicateBridgeName")
    assert "price" not in w.node.bridges
    assert not w.entry(squatter).get("owned")
    suspend(w, owner, False)
    assert not w.reconcile(owner)
    assert phase(w, owner) == ("Synced", "BridgeSynced")
    assert w.node.bridges["price"].url == "http://owner"


def test_of_two_bridges_setting_one_name_the_older_is_made_whichever_the_agent_reconciles_first():
    w = World()
    owner = w.add_bridge("price", url="http://owner")
    squatter = w.add_bridge("squatter", bridgeName="price", url="http://attacker")
    assert not w.reconcile(squatter)
    assert phase(w, squatter) == ("Invalid", "DuplicateBridgeName")
    assert not w.node.calls
    assert not w.reconcile(owner)
    assert w.node.bridges["price"].url == "http://owner"


def test_an_older_bridge_that_takes_a_name_a_younger_one_made_adopts_that_bridge_and_keeps_it():
    w = World()
    owner = w.add_bridge("owner", bridgeName="volume", url="http://owner")
    squatter = w.add_bridge("squatter", bridgeName="price", url="http://attacker")
    assert not w.reconcile(owner)
    assert not w.reconcile(squatter)
    edit(w, owner, bridgeName="price")
    # The squatter's record is the only sign the agent made that bridge: kept, the bridge untouched,
    # and the winner queued to take it over.
    assert w.reconcile(squatter)
    assert phase(w, squatter) == ("Invalid", "DuplicateBridgeName")
    assert w.entry(squatter)["owned"]
    assert w.node.bridges["price"].url == "http://attacker"
    assert owner in w.queued
    assert not w.reconcile(owner)
    assert phase(w, owner) == ("Synced", "BridgeSynced")
    assert (w.entry(owner)["owned"], w.entry(owner)["bridgeName"]) == (True, "price")
    assert set(w.node.bridges) == {"price"}
    assert w.node.bridges["price"].url == "http://owner"
    assert w.node.calls[2:] == ["delete_bridge", "update_bridge"]  # in place: its jobs never lose it
    w.delete(squatter)
    assert not w.reconcile(squatter)
    assert squatter not in w.placements.objects
    assert w.node.bridges["price"].url == "http://owner"


def test_an_older_bridge_that_takes_a_held_name_while_suspended_removes_the_younger_ones_bridge():
    w = World()
    owner = w.add_bridge("owner", bridgeName="volume", url="http://owner", suspend=True)
    squatter = w.add_bridge("squatter", bridgeName="price", url="http://attacker")
    assert not w.reconcile(owner)
    assert not w.reconcile(squatter)
    edit(w, owner, bridgeName="price")
    assert not w.reconcile(owner)
    assert phase(w, owner) == ("Suspended", "Suspended")
    assert "price" not in w.node.bridges
    assert not w.reconcile(squatter)
    assert phase(w, squatter) == ("Invalid", "DuplicateBridgeName")
    assert not w.entry(squatter).get("owned")


def test_a_younger_resource_setting_a_suspended_ones_derived_external_job_id_by_hand_makes_no_job():
    w = World()
    owner = w.add_job("owner", TOML)
    assert not w.reconcile(owner)
    derived = w.entry(owner)["externalJobID"]
    suspend(w, owner)
    assert not w.reconcile(owner)
    assert w.entry(owner)["externalJobID"] == derived  # kept while suspended: others find it here
    squatter = w.add_job("squatter", SQUATTING.replace(EXT, derived))
    assert not w.reconcile(squatter)
    assert phase(w, squatter) == ("Invalid", "DuplicateExternalJobID")
    assert not w.node.jobs
