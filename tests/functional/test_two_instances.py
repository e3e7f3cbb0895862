"""Two warm instances writing to one tenant: each one's remembered `meta` goes stale."""

from chalicelib.models.notes import CreateNoteRequest
from chalicelib.services import build_services


def test_alternating_instances_keep_versions_gap_free(api, settings, clock, subscriptions):
    # Given a tenant, and a second warm instance beside the one the API uses
    token = api.signup()
    tenant = api.call("GET", "/me", token=token).json["user"]["id"]
    other = build_services(settings, clock, subscriptions).notes
    # When writes alternate between the instances (each one's guess is stale every time)
    versions = []
    for n in range(10):
        if n % 2:
            versions.append(other.create(tenant, CreateNoteRequest(text=f"n{n}"), None).version)
        else:
            reply = api.call("POST", "/notes", {"text": f"n{n}"}, token=token)
            versions.append(reply.json["note"]["version"])
    # Then every write got the next version, in order, and the server has all ten
    assert versions == list(range(1, 11))
    listed = api.call("GET", "/notes?limit=100", token=token).json
    assert (listed["version"], len(listed["notes"])) == (10, 10)
