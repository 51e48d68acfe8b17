"""French words for the narratives: element labels, the codes of R4's required bindings that
our profiles use (their code systems have English displays only), dates in French.

Displays of other codes come from the code systems and value sets loaded in the registry
(:class:`Terms`): our guide's CodeSystems have French displays, its NOS ValueSets list the
French displays of the national tables.
"""

from __future__ import annotations

import re
from typing import Any

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre")

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?"
                   r"(Z|[+-]\d{2}:\d{2})?)?)?)?$")


def french_date(value: object) -> str:
    """A FHIR date, dateTime or instant in French words: ``2026-03-09`` → ``9 mars 2026``,
    ``2026-03`` → ``mars 2026``, a time as ``à 14 h 30`` (as written, with no time-zone
    conversion: the writer's local time). Anything else is returned as it is."""
    if not isinstance(value, str):
        return str(value)
    m = _DATE.match(value)
    if m is None:
        return value
    year, month, day, hour, minute, _zone = m.groups()
    if month is None:
        return year
    if not 1 <= int(month) <= 12:
        return value
    name = MONTHS[int(month) - 1]
    if day is None:
        return f"{name} {year}"
    text = f"{'1er' if day == '01' else str(int(day))} {name} {year}"
    if hour is not None:
        text += f" à {int(hour)} h {minute}"
    return text


def french_period(period: object) -> str:
    """``du 9 mars 2026 au 30 septembre 2026``, ``depuis le 9 mars 2026``, ``jusqu'au …``."""
    if not isinstance(period, dict):
        return ""
    start, end = period.get("start"), period.get("end")
    if start and end:
        return f"du {french_date(start)} au {french_date(end)}"
    if start:
        return f"depuis le {french_date(start)}"
    if end:
        return f"jusqu'au {french_date(end)}"
    return ""


# French labels of codes from R4 code systems (required bindings and the few extensible
# ones our profiles use), by (system, code); the status codes by element below.
_GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
_GOAL_PRIORITY = "http://terminology.hl7.org/CodeSystem/goal-priority"
CODE_LABELS: dict[tuple[str, str], str] = {
    (_GOAL_ACHIEVEMENT, "in-progress"): "en cours",
    (_GOAL_ACHIEVEMENT, "improving"): "en progrès",
    (_GOAL_ACHIEVEMENT, "worsening"): "en recul",
    (_GOAL_ACHIEVEMENT, "no-change"): "sans changement",
    (_GOAL_ACHIEVEMENT, "achieved"): "atteint",
    (_GOAL_ACHIEVEMENT, "sustaining"): "maintenu",
    (_GOAL_ACHIEVEMENT, "not-achieved"): "non atteint",
    (_GOAL_ACHIEVEMENT, "no-progress"): "sans progrès",
    (_GOAL_ACHIEVEMENT, "not-attainable"): "hors d'atteinte",
    (_GOAL_PRIORITY, "high-priority"): "haute",
    (_GOAL_PRIORITY, "medium-priority"): "moyenne",
    (_GOAL_PRIORITY, "low-priority"): "basse",
    ("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTIN"): "consentement (opt-in)",
    ("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTOUT"): "refus (opt-out)",
    ("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP"):
        "destinataire de l'information",
    ("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy"):
        "confidentialité des données",
    ("http://loinc.org", "59284-0"): "consentement de la personne",
}

STATUS: dict[str, dict[str, str]] = {
    "EpisodeOfCare": {"planned": "orientation reçue (prévu)", "waitlist": "en attente",
                      "active": "en cours", "onhold": "suspendu", "finished": "terminé",
                      "cancelled": "annulé", "entered-in-error": "saisi par erreur"},
    "CarePlan": {"draft": "brouillon", "active": "en cours", "on-hold": "suspendu",
                 "revoked": "révoqué", "completed": "terminé",
                 "entered-in-error": "saisi par erreur", "unknown": "inconnu"},
    "activity": {"not-started": "pas commencée", "scheduled": "programmée",
                 "in-progress": "en cours", "on-hold": "en pause", "completed": "réalisée",
                 "cancelled": "annulée", "stopped": "arrêtée", "unknown": "inconnu",
                 "entered-in-error": "saisie par erreur"},
    "Goal": {"proposed": "proposé", "planned": "prévu", "accepted": "accepté",
             "active": "en cours", "on-hold": "en pause", "completed": "terminé",
             "cancelled": "annulé", "entered-in-error": "saisi par erreur",
             "rejected": "refusé"},
    "CareTeam": {"proposed": "proposée", "active": "active", "suspended": "suspendue",
                 "inactive": "inactive", "entered-in-error": "saisie par erreur"},
    "ServiceRequest": {"draft": "brouillon", "active": "en cours", "on-hold": "suspendue",
                       "revoked": "annulée", "completed": "traitée",
                       "entered-in-error": "saisie par erreur", "unknown": "inconnu"},
    "Consent": {"draft": "brouillon", "proposed": "proposé", "active": "en vigueur",
                "rejected": "refusé", "inactive": "plus en vigueur",
                "entered-in-error": "saisi par erreur"},
    "QuestionnaireResponse": {"in-progress": "en cours", "completed": "complété",
                              "amended": "modifié", "entered-in-error": "saisi par erreur",
                              "stopped": "interrompu"},
    "Observation": {"registered": "enregistrée", "preliminary": "provisoire",
                    "final": "constatée", "amended": "modifiée", "corrected": "corrigée",
                    "cancelled": "annulée", "entered-in-error": "saisie par erreur",
                    "unknown": "inconnu"},
    "agreement": {"agree": "d'accord", "disagree": "pas d'accord", "pending": "en attente"},
    "intent": {"proposal": "proposition", "plan": "plan", "directive": "directive",
               "order": "demande", "original-order": "demande initiale",
               "reflex-order": "demande réflexe", "filler-order": "demande d'exécution",
               "instance-order": "occurrence", "option": "option"},
    "gender": {"male": "homme", "female": "femme", "other": "autre", "unknown": "inconnu"},
    "telecom": {"phone": "téléphone", "email": "courriel", "fax": "fax", "sms": "SMS",
                "url": "site", "pager": "bipeur", "other": "autre"},
    "consent-provision": {"permit": "autorise", "deny": "refuse"},
}


def status(kind: str, code: object) -> str:
    """The French word for a status code (the code itself when unknown)."""
    if not isinstance(code, str):
        return ""
    return STATUS.get(kind, {}).get(code, code)


TYPE_NAMES = {
    "Patient": "Personne accompagnée", "Practitioner": "Professionnel",
    "PractitionerRole": "Professionnel dans une structure", "Organization": "Structure",
    "RelatedPerson": "Personne de l'entourage", "EpisodeOfCare": "Accompagnement",
    "CarePlan": "Projet personnalisé", "Goal": "Objectif", "CareTeam": "Équipe",
    "ServiceRequest": "Orientation", "Consent": "Consentement au partage",
    "QuestionnaireResponse": "Bilan fonctionnel", "Observation": "Événement constaté",
    "Provenance": "Traçabilité d'une écriture",
}


class Terms:
    """Displays of codes, from the code systems and value sets of the registry: those of the
    guide (French) first, then R4's (English), then the coding's own display."""

    def __init__(self, registry: Any) -> None:
        self.local: dict[tuple[str, str], str] = {}
        self.core: dict[tuple[str, str], str] = {}
        packages = list(getattr(registry, "packages", []))
        for index, package in enumerate(packages):
            target = self.core if index == 0 else self.local
            for res in package.resources:
                if res.get("resourceType") == "CodeSystem":
                    _concepts(res.get("url"), res.get("concept"), target)
                elif res.get("resourceType") == "ValueSet" and index > 0:
                    for inc in (res.get("compose") or {}).get("include") or []:
                        for concept in inc.get("concept") or []:
                            if concept.get("display") and inc.get("system"):
                                target.setdefault((inc["system"], concept.get("code")),
                                                  concept["display"])

    def coding(self, coding: object) -> str:
        if not isinstance(coding, dict):
            return ""
        system, code = coding.get("system"), coding.get("code")
        key = (system if isinstance(system, str) else "", code if isinstance(code, str) else "")
        found = CODE_LABELS.get(key) or self.local.get(key)
        if found:
            return found
        display = coding.get("display")
        if isinstance(display, str) and display:
            return display
        return self.core.get(key) or key[1]

    def concept(self, concept: object) -> str:
        """A CodeableConcept: its text, else its first coding's French label."""
        if not isinstance(concept, dict):
            return ""
        text = concept.get("text")
        if isinstance(text, str) and text:
            return text
        codings = concept.get("coding")
        for coding in codings if isinstance(codings, list) else []:
            label = self.coding(coding)
            if label:
                return label
        return ""


def _concepts(url: object, concepts: object, target: dict[tuple[str, str], str]) -> None:
    if not isinstance(url, str) or not isinstance(concepts, list):
        return
    for concept in concepts:
        if isinstance(concept, dict):
            if concept.get("display") and concept.get("code"):
                target[(url, concept["code"])] = concept["display"]
            _concepts(url, concept.get("concept"), target)
