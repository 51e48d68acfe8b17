"""One renderer per resource type our profiles cover: the data, in French, as a title, a
table of label/value rows and a few lists (https://hl7.org/fhir/R4/narrative.html).

Renderers read only the resource itself (no look-up of what it references: a reference is
shown by its ``display``, else its identifier, else the reference), so a narrative costs no
query and says nothing its resource does not already say. Lists stop at ``MAX_ITEMS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fhir_service.narrative.labels import (
    TYPE_NAMES,
    Terms,
    french_date,
    french_period,
    status,
)
from fhir_service.narrative.xhtml import CLOSE, OPEN, esc

MAX_ITEMS = 50

Rows = list[tuple[str, str]]


class Page:
    """What a renderer fills: a heading, rows, and lists with their heading."""

    def __init__(self, rtype: str, title: object = "") -> None:
        self.heading = TYPE_NAMES.get(rtype, rtype)
        self.title = title if isinstance(title, str) else ""
        self.rows: Rows = []
        self.lists: list[tuple[str, list[str]]] = []

    def row(self, label: str, value: object) -> None:
        if isinstance(value, str) and value:
            self.rows.append((label, value))

    def items(self, label: str, values: list[str]) -> None:
        values = [v for v in values if v]
        if values:
            self.lists.append((label, values))

    def html(self) -> str:
        out = [OPEN, "<p><b>", esc(self.heading), "</b>"]
        if self.title:
            out += [" : ", esc(self.title)]
        out.append("</p>")
        if self.rows:
            out.append("<table>")
            for label, value in self.rows:
                out += ["<tr><th>", esc(label), "</th><td>", esc(value), "</td></tr>"]
            out.append("</table>")
        for label, values in self.lists:
            out += ["<p><b>", esc(label), "</b></p><ul>"]
            for value in values[:MAX_ITEMS]:
                out += ["<li>", esc(value), "</li>"]
            if len(values) > MAX_ITEMS:
                out += ["<li>", esc(f"… et {len(values) - MAX_ITEMS} de plus"), "</li>"]
            out.append("</ul>")
        out.append(CLOSE)
        return "".join(out)


# --- data types -----------------------------------------------------------------------------


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _first(value: object) -> object:
    items = _list(value)
    return items[0] if items else None


def ref(value: object) -> str:
    """A Reference: its display, else its identifier's value, else the reference itself."""
    if not isinstance(value, dict):
        return ""
    display = value.get("display")
    if isinstance(display, str) and display:
        return display
    ident = value.get("identifier")
    if isinstance(ident, dict) and isinstance(ident.get("value"), str):
        return ident["value"]
    return _str(value.get("reference"))


def refs(values: object) -> str:
    return ", ".join(r for r in (ref(v) for v in _list(values)[:MAX_ITEMS]) if r)


def human_name(name: object) -> str:
    if not isinstance(name, dict):
        return ""
    if isinstance(name.get("text"), str) and name["text"]:
        return name["text"]
    parts = [p for p in _list(name.get("prefix")) if isinstance(p, str)]
    parts += [g for g in _list(name.get("given")) if isinstance(g, str)]
    if isinstance(name.get("family"), str):
        parts.append(name["family"].upper())
    return " ".join(parts)


def names(values: object) -> str:
    out = []
    for name in _list(values)[:MAX_ITEMS]:
        text = human_name(name)
        if text and isinstance(name, dict) and name.get("use") == "official":
            text += " (nom de naissance)"
        if text and text not in out:
            out.append(text)
    return " ; ".join(out)


def telecoms(values: object) -> str:
    out = []
    for tel in _list(values)[:MAX_ITEMS]:
        if isinstance(tel, dict) and isinstance(tel.get("value"), str):
            out.append(f"{status('telecom', tel.get('system')) or 'contact'} : {tel['value']}")
    return " ; ".join(out)


def address(values: object) -> str:
    out = []
    for adr in _list(values)[:MAX_ITEMS]:
        if not isinstance(adr, dict):
            continue
        if isinstance(adr.get("text"), str) and adr["text"]:
            out.append(adr["text"])
            continue
        lines = [s for s in _list(adr.get("line")) if isinstance(s, str)]
        town = " ".join(s for s in (_str(adr.get("postalCode")), _str(adr.get("city"))) if s)
        text = ", ".join(s for s in (*lines, town, _str(adr.get("country"))) if s)
        if text:
            out.append(text)
    return " ; ".join(out)


def identifiers(values: object, terms: Terms) -> str:
    out = []
    for ident in _list(values)[:MAX_ITEMS]:
        if isinstance(ident, dict) and isinstance(ident.get("value"), str):
            kind = terms.concept(ident.get("type"))
            out.append(f"{kind} {ident['value']}" if kind else ident["value"])
    return " ; ".join(out)


def concepts(values: object, terms: Terms) -> str:
    return ", ".join(c for c in (terms.concept(v) for v in _list(values)[:MAX_ITEMS]) if c)


def _ext(resource: dict[str, Any], url_end: str) -> list[dict[str, Any]]:
    return [e for e in _list(resource.get("extension"))
            if isinstance(e, dict) and _str(e.get("url")).endswith(url_end)]


def _sub(ext: dict[str, Any], url: str) -> dict[str, Any]:
    for sub in _list(ext.get("extension")):
        if isinstance(sub, dict) and sub.get("url") == url:
            return sub
    return {}


def _notes(page: Page, resource: dict[str, Any]) -> None:
    page.items("Notes", [_str(n.get("text")) for n in _list(resource.get("note"))
                         if isinstance(n, dict)])


# --- renderers ------------------------------------------------------------------------------


def patient(r: dict[str, Any], t: Terms) -> Page:
    page = Page("Patient", human_name(_first(r.get("name"))))
    page.row("Nom", names(r.get("name")))
    page.row("Sexe", status("gender", r.get("gender")))
    page.row("Date de naissance", french_date(r["birthDate"]) if r.get("birthDate") else "")
    page.row("Identifiants", identifiers(r.get("identifier"), t))
    page.row("Contact", telecoms(r.get("telecom")))
    page.row("Adresse", address(r.get("address")))
    return page


def practitioner(r: dict[str, Any], t: Terms) -> Page:
    page = Page("Practitioner", human_name(_first(r.get("name"))))
    page.row("Identifiants", identifiers(r.get("identifier"), t))
    page.row("Contact", telecoms(r.get("telecom")))
    return page


def practitioner_role(r: dict[str, Any], t: Terms) -> Page:
    page = Page("PractitionerRole", ref(r.get("practitioner")))
    page.row("Structure", ref(r.get("organization")))
    page.row("Profession ou rôle", concepts(r.get("code"), t))
    page.row("Spécialité", concepts(r.get("specialty"), t))
    page.row("Période", french_period(r.get("period")))
    page.row("Actif", "oui" if r.get("active") is True else
             "non" if r.get("active") is False else "")
    page.row("Contact", telecoms(r.get("telecom")))
    return page


def organization(r: dict[str, Any], t: Terms) -> Page:
    page = Page("Organization", r.get("name"))
    page.row("Catégorie", concepts(r.get("type"), t))
    page.row("Identifiants", identifiers(r.get("identifier"), t))
    page.row("Rattachée à", ref(r.get("partOf")))
    page.row("Contact", telecoms(r.get("telecom")))
    page.row("Adresse", address(r.get("address")))
    return page


def related_person(r: dict[str, Any], t: Terms) -> Page:
    page = Page("RelatedPerson", names(r.get("name")))
    page.row("Lien", concepts(r.get("relationship"), t))
    page.row("Proche de", ref(r.get("patient")))
    page.row("Contact", telecoms(r.get("telecom")))
    return page


def episode(r: dict[str, Any], t: Terms) -> Page:
    page = Page("EpisodeOfCare", concepts(r.get("type"), t))
    page.row("Statut", status("EpisodeOfCare", r.get("status")))
    page.row("Personne", ref(r.get("patient")))
    page.row("Structure pivot", ref(r.get("managingOrganization")))
    page.row("Case manager", ref(r.get("careManager")))
    page.row("Période", french_period(r.get("period")))
    page.row("Modèle(s)", ", ".join(t.concept(e.get("valueCodeableConcept"))
                                     for e in _ext(r, "/cm-case-management-model")))
    page.row("Orientation", refs(r.get("referralRequest")))
    page.row("Équipe", refs(r.get("team")))
    page.items("Historique des statuts", [
        f"{status('EpisodeOfCare', h.get('status'))} {french_period(h.get('period'))}".strip()
        for h in _list(r.get("statusHistory")) if isinstance(h, dict)])
    return page


def care_plan(r: dict[str, Any], t: Terms) -> Page:
    page = Page("CarePlan", r.get("title"))
    page.row("Description", _str(r.get("description")))
    page.row("Statut", status("CarePlan", r.get("status")))
    page.row("Type", concepts(r.get("category"), t))
    page.row("Personne", ref(r.get("subject")))
    page.row("Période", french_period(r.get("period")))
    page.row("Créé le", french_date(r["created"]) if r.get("created") else "")
    page.row("Auteur", ref(r.get("author")))
    page.row("Contributeurs", refs(r.get("contributor")))
    for agreement in _ext(r, "/cm-person-agreement")[:1]:
        word = status("agreement", _sub(agreement, "status").get("valueCode"))
        when = _sub(agreement, "date").get("valueDateTime")
        page.row("Accord de la personne", f"{word} le {french_date(when)}" if when else word)
    page.row("Équipe", refs(r.get("careTeam")))
    page.row("Accompagnement", ", ".join(ref(e.get("valueReference"))
                                         for e in _ext(r, "/workflow-episodeOfCare")))
    page.row("Objectifs", refs(r.get("goal")))
    actions = []
    for activity in _list(r.get("activity")):
        detail = activity.get("detail") if isinstance(activity, dict) else None
        if not isinstance(detail, dict):
            continue
        parts = [_str(detail.get("description")) or t.concept(detail.get("code"))]
        pillar = [t.concept(e.get("valueCodeableConcept")) for e in _ext(detail, "/cm-care-pillar")]
        if pillar and pillar[0]:
            parts.append(f"pilier : {pillar[0]}")
        if detail.get("status"):
            parts.append(status("activity", detail.get("status")))
        if detail.get("performer"):
            parts.append(f"par {refs(detail.get('performer'))}")
        when = french_period(detail.get("scheduledPeriod")) or \
            _str(detail.get("scheduledString"))
        if when:
            parts.append(when)
        actions.append(" — ".join(p for p in parts if p))
    page.items("Actions", actions)
    _notes(page, r)
    return page


def goal(r: dict[str, Any], t: Terms) -> Page:
    page = Page("Goal", t.concept(r.get("description")))
    page.row("Domaine de vie", concepts(r.get("category"), t))
    page.row("Statut", status("Goal", r.get("lifecycleStatus")))
    page.row("Avancement", t.concept(r.get("achievementStatus")))
    page.row("Priorité", t.concept(r.get("priority")))
    page.row("Exprimé par", ref(r.get("expressedBy")))
    page.row("Personne", ref(r.get("subject")))
    page.row("Début", french_date(r["startDate"]) if r.get("startDate") else "")
    page.row("Échéance", ", ".join(french_date(x["dueDate"]) for x in _list(r.get("target"))
                                   if isinstance(x, dict) and x.get("dueDate")))
    page.row("Statut au", french_date(r["statusDate"]) if r.get("statusDate") else "")
    accepted = []
    for ext in _ext(r, "/goal-acceptance"):
        who = ref(_sub(ext, "individual").get("valueReference"))
        code = _sub(ext, "status").get("valueCode")
        word = status("agreement", code) if code in ("agree", "disagree", "pending") else ""
        accepted.append(" : ".join(s for s in (who, word) if s))
    page.row("Accord", " ; ".join(a for a in accepted if a))
    _notes(page, r)
    return page


def care_team(r: dict[str, Any], t: Terms) -> Page:
    page = Page("CareTeam", r.get("name"))
    page.row("Statut", status("CareTeam", r.get("status")))
    page.row("Personne", ref(r.get("subject")))
    page.row("Période", french_period(r.get("period")))
    page.row("Structure gestionnaire", refs(r.get("managingOrganization")))
    members = []
    for part in _list(r.get("participant")):
        if not isinstance(part, dict):
            continue
        text = " — ".join(s for s in (concepts(part.get("role"), t), ref(part.get("member")),
                                      french_period(part.get("period"))) if s)
        members.append(text)
    page.items("Membres", members)
    _notes(page, r)
    return page


def service_request(r: dict[str, Any], t: Terms) -> Page:
    page = Page("ServiceRequest", t.concept(r.get("code")))
    page.row("Statut", status("ServiceRequest", r.get("status")))
    page.row("Nature", status("intent", r.get("intent")))
    page.row("Personne", ref(r.get("subject")))
    page.row("Demandée le", french_date(r["authoredOn"]) if r.get("authoredOn") else "")
    page.row("Demandée par", ref(r.get("requester")))
    page.row("Adressée à", refs(r.get("performer")))
    page.row("Motif", concepts(r.get("reasonCode"), t))
    _notes(page, r)
    return page


def observation(r: dict[str, Any], t: Terms) -> Page:
    """An Observation (our profile: a rupture, recorded as an event of the accompaniment)."""
    page = Page("Observation", t.concept(r.get("code")))
    page.row("Statut", status("Observation", r.get("status")))
    page.row("Personne", ref(r.get("subject")))
    if r.get("effectiveDateTime"):
        page.row("Date", french_date(r["effectiveDateTime"]))
    page.row("Période", french_period(r.get("effectivePeriod")))
    page.row("Constatée par", refs(r.get("performer")))
    value = r.get("valueString") or t.concept(r.get("valueCodeableConcept"))
    page.row("Valeur", value if isinstance(value, str) else "")
    _notes(page, r)
    return page


def consent(r: dict[str, Any], t: Terms) -> Page:
    page = Page("Consent", concepts(r.get("category"), t))
    page.row("Statut", status("Consent", r.get("status")))
    page.row("Personne", ref(r.get("patient")))
    page.row("Date", french_date(r["dateTime"]) if r.get("dateTime") else "")
    page.row("Donné par", refs(r.get("performer")))
    page.row("Recueilli par", refs(r.get("organization")))
    page.row("Règle", t.concept(r.get("policyRule")))
    provision = r.get("provision") if isinstance(r.get("provision"), dict) else {}
    assert isinstance(provision, dict)
    page.row("Décision", status("consent-provision", provision.get("type")))
    page.row("Période", french_period(provision.get("period")))
    page.items("Structures autorisées", [
        ref(a.get("reference")) for a in _list(provision.get("actor")) if isinstance(a, dict)])
    return page


def questionnaire_response(r: dict[str, Any], t: Terms,
                           questions: dict[str, str] | None = None) -> Page:
    page = Page("QuestionnaireResponse")
    page.row("Statut", status("QuestionnaireResponse", r.get("status")))
    page.row("Personne", ref(r.get("subject")))
    page.row("Date", french_date(r["authored"]) if r.get("authored") else "")
    page.row("Auteur", ref(r.get("author")))
    lines: list[str] = []
    _answers(r.get("item"), t, questions or {}, lines, "")
    page.items("Réponses", lines)
    return page


def _answers(items: object, t: Terms, questions: dict[str, str], out: list[str],
             prefix: str) -> None:
    for item in _list(items):
        if not isinstance(item, dict) or len(out) > MAX_ITEMS:
            continue
        link = _str(item.get("linkId"))
        label = _str(item.get("text")) or questions.get(link) or link
        values = [_answer(a, t) for a in _list(item.get("answer")) if isinstance(a, dict)]
        values = [v for v in values if v]
        if values:
            out.append(f"{prefix}{label} : {', '.join(values)}")
        elif item.get("item"):
            out.append(f"{prefix}{label}")
        _answers(item.get("item"), t, questions, out, prefix + "· ")
        for answer in _list(item.get("answer")):
            if isinstance(answer, dict):
                _answers(answer.get("item"), t, questions, out, prefix + "· ")


def _answer(answer: dict[str, Any], t: Terms) -> str:
    for key, value in answer.items():
        if not key.startswith("value"):
            continue
        if key == "valueCoding":
            return t.coding(value)
        if key == "valueReference":
            return ref(value)
        if key in ("valueDate", "valueDateTime"):
            return french_date(value)
        if key == "valueBoolean":
            return "oui" if value is True else "non"
        if isinstance(value, (str, int, float)):
            return str(value)
    return ""


def provenance(r: dict[str, Any], t: Terms) -> Page:
    page = Page("Provenance", t.concept(r.get("activity")))
    page.row("Enregistrée le", french_date(r["recorded"]) if r.get("recorded") else "")
    page.row("Ressources", refs(r.get("target")))
    page.row("Motif", concepts(r.get("reason"), t))
    page.items("Intervenants", [
        " — ".join(s for s in (t.concept(a.get("type")), ref(a.get("who")),
                               f"pour {ref(a['onBehalfOf'])}" if a.get("onBehalfOf") else "")
                   if s)
        for a in _list(r.get("agent")) if isinstance(a, dict)])
    page.items("Sources", [ref(e.get("what")) for e in _list(r.get("entity"))
                           if isinstance(e, dict)])
    return page


RENDERERS: dict[str, Callable[..., Page]] = {
    "Patient": patient,
    "Practitioner": practitioner,
    "PractitionerRole": practitioner_role,
    "Organization": organization,
    "RelatedPerson": related_person,
    "EpisodeOfCare": episode,
    "CarePlan": care_plan,
    "Goal": goal,
    "CareTeam": care_team,
    "ServiceRequest": service_request,
    "Consent": consent,
    "Observation": observation,
    "QuestionnaireResponse": questionnaire_response,
    "Provenance": provenance,
}
