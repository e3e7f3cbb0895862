"""One contract for the identity, account and OAuth-state stores: DynamoDB (moto) and the fakes."""

import pytest

from chalicelib.dal.accounts import DynamoAccountStore
from chalicelib.dal.identities import DynamoIdentityStore
from chalicelib.dal.oauth_states import DynamoOAuthStateStore, PendingSignIn
from chalicelib.dal.tables import ACCOUNTS_SUFFIX, shared_table
from chalicelib.errors import (
    EmailTakenError,
    IdentityInUseError,
    LastSignInMethodError,
    NotFoundError,
)
from chalicelib.models.accounts import Account
from chalicelib.models.identities import Identity
from tests.support.fakes import (
    InMemoryAccountsTable,
    InMemoryAccountStore,
    InMemoryIdentityStore,
    InMemoryOAuthStateStore,
)


@pytest.fixture(params=["dynamodb", "memory"])
def stores(request):
    if request.param == "memory":
        memory = InMemoryAccountsTable()
        return (
            InMemoryAccountStore(memory),
            InMemoryIdentityStore(memory),
            InMemoryOAuthStateStore(),
        )
    request.getfixturevalue("dynamodb")
    table = shared_table(request.getfixturevalue("settings"), ACCOUNTS_SUFFIX)
    return DynamoAccountStore(table), DynamoIdentityStore(table), DynamoOAuthStateStore(table)


def account(user_id, email=None):
    return Account(id=user_id, email=email, name="N", created=1, updated=1)


def identity(user_id, subject, provider="oidc"):
    return Identity(provider=provider, subject=subject, user_id=user_id, created=2)


def test_an_account_is_created_with_its_identity_and_both_stay_unique(stores):
    accounts, identities, _ = stores
    accounts.create(account("usr_a", "a@example.com"), None, identity("usr_a", "s1"))
    assert identities.get("oidc", "s1").user_id == "usr_a"
    assert [i.subject for i in identities.for_user("usr_a")] == ["s1"]
    # A second account with the same identity, or the same email, is refused
    with pytest.raises(IdentityInUseError):
        accounts.create(account("usr_b"), None, identity("usr_b", "s1"))
    with pytest.raises(EmailTakenError):
        accounts.create(account("usr_c", "a@example.com"), None, identity("usr_c", "s9"))
    assert accounts.get("usr_b") is None
    assert accounts.get("usr_c") is None
    assert identities.get("oidc", "s9") is None


def test_an_identity_links_once_and_only_to_an_existing_account(stores):
    accounts, identities, _ = stores
    accounts.create(account("usr_a"), "hash")
    identities.link(identity("usr_a", "s1"))
    with pytest.raises(IdentityInUseError):
        identities.link(identity("usr_a", "s1"))
    with pytest.raises(NotFoundError):
        identities.link(identity("usr_gone", "s2"))
    assert identities.get("oidc", "s2") is None


def test_unlinking_keeps_a_way_to_sign_in(stores):
    accounts, identities, _ = stores
    accounts.create(account("usr_a"), None, identity("usr_a", "s1"))
    identities.link(identity("usr_a", "s2", "github"))
    # The last identity of an account without a password stays
    both = identities.for_user("usr_a")
    with pytest.raises(LastSignInMethodError):
        identities.unlink("usr_a", both)
    identities.unlink("usr_a", [both[0]])
    with pytest.raises(LastSignInMethodError):
        identities.unlink("usr_a", identities.for_user("usr_a"))
    assert len(identities.for_user("usr_a")) == 1
    # With a password, every identity can go
    accounts.create(account("usr_p"), "hash", identity("usr_p", "s3"))
    identities.unlink("usr_p", identities.for_user("usr_p"))
    assert identities.for_user("usr_p") == []
    assert identities.get("oidc", "s3") is None
    # And the account, its identity set now empty, can still be deleted
    accounts.delete("usr_p")
    assert accounts.get("usr_p") is None


def test_deleting_an_account_deletes_its_identities(stores):
    accounts, identities, _ = stores
    accounts.create(account("usr_a", "a@example.com"), None, identity("usr_a", "s1"))
    identities.link(identity("usr_a", "s2"))
    accounts.delete("usr_a")
    assert identities.get("oidc", "s1") is None
    assert identities.get("oidc", "s2") is None
    assert accounts.get_credentials("a@example.com") is None


def test_a_pending_sign_in_is_taken_once(stores):
    _, _, states = stores
    pending = PendingSignIn("oidc", "v" * 43, "n", "https://app/", None, 1, 601)
    states.put("state-1", pending)
    assert states.take("state-1") == pending
    assert states.take("state-1") is None
    assert states.take("never-given") is None
