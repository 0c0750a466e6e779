"""The Slack app's parts, built once by the app's lifespan from the services and closed with it."""

from __future__ import annotations

from dataclasses import dataclass

from api.slack.deliveries import SlackDeliveries
from api.slack.responder import SlackResponder, build_slack_responder
from api.slack.signature import SlackSignature
from rag.wiring import Services

__all__ = ["Slack", "build_slack"]


@dataclass
class Slack:
    """Signature checks, the delivery log and the responder of the Slack routes."""

    signature: SlackSignature
    deliveries: SlackDeliveries
    responder: SlackResponder

    def close(self) -> None:
        """Finish the queued answers."""
        self.responder.close()


def build_slack(services: Services) -> Slack:
    """The Slack app over ``services``; without a signing secret every Slack request is refused (401)."""
    settings = services.settings
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    return Slack(
        signature=SlackSignature(secret, settings.slack_max_request_age_s),
        deliveries=SlackDeliveries(services.catalog.engine),
        responder=build_slack_responder(services),
    )
