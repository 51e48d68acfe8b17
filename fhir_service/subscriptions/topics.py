"""The subscription topics this server implements (R5 SubscriptionTopic, backported to R4).

Each topic is published by our implementation guide as a ``Basic`` resource in the Backport
IG's R4 representation (``profiles/input/fsh/subscription-topics.fsh``); this module is what
the server does with it: the resource type that triggers it, on which interactions, which
elements an update must change to count (``changed``: empty means any change), and the
search parameters a subscriber may filter on (``backport-filter-criteria``).
``tests/subscriptions/test_topics.py`` checks that the guide and this table agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CANONICAL = "https://interop.cm-sante-mentale.fr/fhir/SubscriptionTopic/"


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    rtype: str
    interactions: tuple[str, ...]  # create | update | delete
    changed: tuple[str, ...]  # an update counts when one of these elements changed
    filters: tuple[str, ...]  # search parameters of rtype a subscriber may filter on

    @property
    def url(self) -> str:
        return CANONICAL + self.id

    def triggered(self, interaction: str, previous: dict[str, Any] | None,
                  current: dict[str, Any] | None) -> bool:
        """Whether a change of ``interaction`` kind (previous → current content) is an event
        of this topic."""
        if interaction not in self.interactions:
            return False
        if interaction != "update" or not self.changed or previous is None or current is None:
            return True
        return any(previous.get(name) != current.get(name) for name in self.changed)


TOPICS: dict[str, Topic] = {t.url: t for t in (
    Topic("careplan-changed", "A care plan was created, changed or removed", "CarePlan",
          ("create", "update", "delete"), (), ("patient", "subject", "status", "category")),
    Topic("goal-changed", "A goal was set, removed, or its status or achievement changed",
          "Goal", ("create", "update", "delete"), ("lifecycleStatus", "achievementStatus"),
          ("patient", "subject", "lifecycle-status", "achievement-status")),
    Topic("careteam-membership-changed",
          "A care team was formed or dissolved, or its members or status changed", "CareTeam",
          ("create", "update", "delete"), ("participant", "status"),
          ("patient", "subject", "status")),
    Topic("episode-changed", "An episode of care started, ended or changed status",
          "EpisodeOfCare", ("create", "update", "delete"), ("status", "period"),
          ("patient", "status", "organization")),
    Topic("consent-changed", "A consent was recorded, changed or withdrawn", "Consent",
          ("create", "update", "delete"), (), ("patient", "status")),
)}


def interaction_of(method: str, version: int) -> str:
    """create | update | delete, from a history row's method and version."""
    if method == "DELETE":
        return "delete"
    return "create" if version == 1 else "update"
