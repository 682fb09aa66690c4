"""Runs inside a virtualenv holding the client that openapi-python-client generated from
the served document (not in the test suite's own environment): drives register, login,
subscribed signals, notifications, subscribe and logout through the generated typed
models and prints what came back, as JSON, for tests/test_generated_client.py to check.

Usage: python client_flow.py BASE_URL EMAIL
"""

import json
import sys

from alpine_api_client import AuthenticatedClient, Client
from alpine_api_client.api.auth import login, logout, me, register
from alpine_api_client.api.notifications import list_notifications
from alpine_api_client.api.signals import list_subscribed
from alpine_api_client.api.subscriptions import subscribe
from alpine_api_client.models import (
    LoginRequest,
    RegisterRequest,
    SubscribeRequest,
    SubscribeRequestTier,
)


def typed(value: object) -> dict[str, object]:
    """The model's class name and its fields as JSON."""
    to_dict = getattr(value, "to_dict", None)
    return {"type": type(value).__name__, "value": to_dict() if to_dict else value}


def main() -> None:
    url, email = sys.argv[1], sys.argv[2]
    password = "generated client password"
    results: dict[str, object] = {}
    anonymous = Client(base_url=url)
    account = RegisterRequest(email=email, password=password, full_name="Generated Client")
    results["register"] = typed(register.sync(client=anonymous, body=account))
    results["register_again"] = typed(register.sync(client=anonymous, body=account))
    wrong = LoginRequest(email=email, password="not the password")
    results["login_wrong"] = typed(login.sync(client=anonymous, body=wrong))
    token = login.sync(client=anonymous, body=LoginRequest(email=email, password=password))
    results["login"] = typed(token)
    user = AuthenticatedClient(base_url=url, token=token.access_token)  # type: ignore[union-attr]
    results["subscribed"] = typed(list_subscribed.sync(client=user, limit=10))
    pro = SubscribeRequest(tier=SubscribeRequestTier.PRO)
    results["subscribe"] = typed(subscribe.sync(client=user, body=pro))
    results["subscribe_again"] = typed(subscribe.sync(client=user, body=pro))
    results["notifications"] = typed(list_notifications.sync(client=user, limit=10))
    results["logout"] = logout.sync_detailed(client=user).status_code.value
    results["me_after_logout"] = typed(me.sync(client=user))
    print(json.dumps(results))


main()
