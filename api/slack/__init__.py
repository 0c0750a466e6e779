"""The Slack app: questions by slash command and mention, answered in a thread with citations and thumbs.

- ``signature``: Slack's request signature and timestamp window (bad or replayed -> 401)
- ``deliveries``: what was already received, so a retry or a replay is never answered twice
- ``directory``: a Slack user as a caller (access groups from user groups and email domains)
- ``messages``: the answer as Block Kit (numbered citation links, the version, the thumbs buttons)
- ``responder``: the work done after the 3-second ack: asking, posting, recording feedback
"""

__all__: list[str] = []
