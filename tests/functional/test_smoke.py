def test_signup_then_session(api):
    # Given a new account
    token = api.signup("smoke@example.com")
    # When its session is read
    reply = api.call("GET", "/auth/session", token=token)
    # Then it names the user
    assert reply.status == 200
    assert reply.json["user"]["email"] == "smoke@example.com"
