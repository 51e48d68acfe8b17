"""Deterministic generator of a case-management corpus as FHIR R4 transaction bundles.

For each person accompanied: a Patient, a RelatedPerson (aidant·e), a ServiceRequest
(orientation), an EpisodeOfCare (accompagnement), a CareTeam (4–6 professionals as
PractitionerRole, plus the person and the aidant·e), a CarePlan (projet de soins et de vie)
with 3–6 Goals in distinct life domains and one activity per goal, a Consent to share
between the team's structures and a QuestionnaireResponse (bilan fonctionnel). The shared
directory (Organizations, Practitioners, one PractitionerRole each, the bilan Questionnaire)
is written first in its own bundle and referenced by id.

Every entry is a ``PUT Type/id`` with a deterministic id, so a re-load is idempotent.
The same ``--seed`` and ``--resources`` always give byte-identical files.

Output (default ``var/bench/corpus-<N>/``, ignored by git):

* ``shared.json``: one transaction bundle, to load before anything else;
* ``bundles.ndjson``: one transaction bundle per line (``--persons-per-bundle`` persons each);
* ``manifest.json``: counts per type, and the ids the load workloads pick from.

    python -m bench.generate --resources 100000
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "var" / "bench"

IG = "https://interop.cm-sante-mentale.fr/fhir"
CS_DOMAIN = f"{IG}/CodeSystem/cm-life-domain"
CS_PILLAR = f"{IG}/CodeSystem/cm-care-pillar"
CS_PROGRAMME = f"{IG}/CodeSystem/cm-programme"
CS_FUNCTION = f"{IG}/CodeSystem/cm-team-function"
CS_PLAN_TYPE = f"{IG}/CodeSystem/cm-plan-type"
CS_SERVICE = f"{IG}/CodeSystem/cm-service-type"
CS_CONSENT = f"{IG}/CodeSystem/cm-consent-category"
QUESTIONNAIRE_URL = f"{IG}/Questionnaire/cm-bilan-fonctionnel"
EXT_EPISODE = "http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare"
R66 = ("https://mos.esante.gouv.fr/NOS/TRE_R66-CategorieEtablissement/FHIR/"
       "TRE-R66-CategorieEtablissement")
R260 = "https://mos.esante.gouv.fr/NOS/TRE_R260-HL7RoleClass/FHIR/TRE-R260-HL7RoleClass"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
INS_NIR_TEST = "urn:oid:1.2.250.1.213.1.4.10"
# bumped when the same seed gives other bundles: a cached corpus of another version is rebuilt
# (2: an INS per person number, never drawn twice)
GENERATOR = 2
LOCAL_IDS = "https://ids.exemple-bench.fr"
START = date(2024, 1, 8)

# --- vocabulary ------------------------------------------------------------------------------

FIRST_F = ["Camille", "Léa", "Manon", "Chloé", "Inès", "Jade", "Sarah", "Emma", "Lina",
           "Louise", "Zoé", "Yasmine", "Clara", "Anaïs", "Maëlys", "Océane", "Nadia", "Aïcha",
           "Lucie", "Margaux", "Élise", "Mathilde", "Salomé", "Amira"]
FIRST_M = ["Lucas", "Hugo", "Diego", "Nathan", "Enzo", "Théo", "Mathis", "Yanis", "Rayan",
           "Louis", "Adam", "Noah", "Maxime", "Karim", "Bastien", "Antoine", "Mehdi", "Jules",
           "Sacha", "Tom", "Romain", "Kylian", "Samuel", "Ilyès"]
FAMILY = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
          "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David",
          "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier",
          "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Nguyen", "Benali", "Haddad",
          "Traoré", "Diallo", "Da Silva", "Rousseau", "Blanc", "Guérin", "Muller", "Henry"]
CITIES = [("Paris", "75014"), ("Paris", "75019"), ("Lyon", "69003"), ("Villeurbanne", "69100"),
          ("Marseille", "13005"), ("Lille", "59000"), ("Roubaix", "59100"),
          ("Toulouse", "31300"), ("Nantes", "44000"), ("Rennes", "35000"),
          ("Strasbourg", "67000"), ("Bordeaux", "33000"), ("Montpellier", "34000"),
          ("Grenoble", "38000"), ("Saint-Denis", "93200"), ("Créteil", "94000")]
STREETS = ["rue de la République", "avenue Jean Jaurès", "rue Victor Hugo", "boulevard Voltaire",
           "rue des Lilas", "impasse des Tilleuls", "rue du Moulin", "allée des Acacias",
           "place de la Mairie", "rue Pasteur"]

# (TRE_R66 code, label) of the structures that exchange data (DOMAIN.md §2)
ORG_KINDS = [("156", "CMP"), ("292", "Centre hospitalier spécialisé"), ("445", "SAMSAH"),
             ("446", "SAVS"), ("606", "DAC")]

# team function → (display, weight in the directory)
FUNCTIONS = {
    "case-manager": ("Case manager / référent de parcours", 4),
    "psychiatre": ("Psychiatre", 3),
    "psychologue": ("Psychologue", 3),
    "infirmier": ("Infirmier·e", 3),
    "assistant-social": ("Assistant·e de service social", 2),
    "educateur": ("Éducateur·ice", 2),
    "ergotherapeute": ("Ergothérapeute", 1),
    "neuropsychologue": ("Neuropsychologue", 1),
    "pair-aidant": ("Pair-aidant·e / médiateur·ice de santé pair", 1),
    "medecin-generaliste": ("Médecin généraliste", 2),
}

DOMAINS = {
    "sante": ("Santé", [
        "Comprendre mon traitement et savoir quoi faire en cas de signes d'alerte",
        "Trouver un médecin traitant près de chez moi",
        "Aller à mes rendez-vous au CMP sans les rater",
        "Parler de mes effets secondaires avec mon psychiatre"]),
    "loisirs": ("Loisirs", [
        "Reprendre le football le samedi avec le club du quartier",
        "M'inscrire à l'atelier de dessin de la maison de quartier",
        "Aller à la médiathèque une fois par semaine"]),
    "scolarite-formation": ("Scolarité / formation", [
        "Reprendre mes études en septembre avec un aménagement d'emploi du temps",
        "Passer le permis de conduire (code d'abord)",
        "Finir ma formation d'aide-soignant·e"]),
    "emploi": ("Emploi", [
        "Trouver un stage de découverte dans la restauration",
        "Préparer un entretien avec la mission locale",
        "Travailler à mi-temps en ESAT puis en milieu ordinaire"]),
    "vie-affective-sexualite": ("Vie affective et sexuelle", [
        "Pouvoir parler de ma vie de couple sans gêne",
        "Retrouver confiance pour faire de nouvelles rencontres"]),
    "organisation-quotidien": ("Organisation du quotidien", [
        "Tenir un budget mensuel avec l'aide de l'assistante sociale",
        "Faire mes courses seul·e deux fois par semaine",
        "Ouvrir et trier mon courrier chaque semaine"]),
    "hygiene-de-vie": ("Hygiène de vie", [
        "Me coucher avant minuit cinq soirs par semaine",
        "Réduire le cannabis puis arrêter",
        "Manger trois repas par jour",
        "Marcher trente minutes par jour"]),
    "vie-sociale": ("Vie sociale", [
        "Revoir un ami au moins une fois par mois",
        "Participer au groupe d'entraide mutuelle (GEM)",
        "Renouer le contact avec ma sœur"]),
    "logement": ("Logement", [
        "Obtenir un logement en résidence accueil",
        "Garder mon appartement en payant le loyer à temps",
        "Déposer une demande de logement social"]),
    "droits-demarches": ("Accès aux droits et démarches", [
        "Déposer mon dossier MDPH",
        "Renouveler ma complémentaire santé solidaire",
        "Faire la demande d'AAH"]),
}

# life domain → (pillar of care, action, team function that performs it)
ACTIONS = {
    "sante": ("medicaments", "Séance d'éducation thérapeutique sur le traitement", "infirmier"),
    "loisirs": ("soutien", "Accompagnement à la première séance de l'activité choisie",
                "educateur"),
    "scolarite-formation": ("soutien", "Rendez-vous avec le service handicap de l'établissement",
                            "case-manager"),
    "emploi": ("soutien", "Orientation vers l'emploi accompagné et rendez-vous mission locale",
               "case-manager"),
    "vie-affective-sexualite": ("strategies-psychologiques",
                                "Entretiens sur la vie affective avec la psychologue",
                                "psychologue"),
    "organisation-quotidien": ("soutien", "Mise en place d'un budget avec l'assistante sociale",
                               "assistant-social"),
    "hygiene-de-vie": ("hygiene-de-vie", "Agenda du sommeil tenu quatre semaines et revu",
                       "infirmier"),
    "vie-sociale": ("strategies-psychologiques", "Travail sur l'anxiété sociale en séances",
                    "psychologue"),
    "logement": ("soutien", "Dossier SIAO et visite de la résidence accueil", "assistant-social"),
    "droits-demarches": ("soutien", "Constitution du dossier MDPH avec la personne",
                         "assistant-social"),
}

PROGRAMMES = [("intervention-precoce", "Intervention précoce", 5),
              ("rehabilitation-psychosociale", "Réhabilitation psychosociale", 3),
              ("coordination-parcours-complexe", "Coordination de parcours complexe", 2),
              ("transition-sortie-hospitalisation", "Transition / sortie d'hospitalisation", 2)]
REASONS = ["Difficultés psychiques débutantes, décrochage des études",
           "Sortie d'hospitalisation après un premier épisode psychotique",
           "Isolement social et rupture de soins",
           "Passage à l'âge adulte, relais de la pédopsychiatrie",
           "Perte de logement et difficultés administratives",
           "Troubles du neurodéveloppement, insertion professionnelle"]
KINSHIP = [("MTH", "mère"), ("FTH", "père"), ("SIS", "sœur"), ("BRO", "frère"),
           ("FRND", "ami·e"), ("GRMTH", "grand-mère"), ("AUNT", "tante")]
RP_ROLES = ["CAREGIVER", "NOK", "ECON"]
BILAN = {
    "works": ["J'aime cuisiner pour mes proches", "Je marche beaucoup", "Ma sœur m'aide",
              "Je dessine tous les jours", "J'ai gardé des amis du lycée"],
    "stuck": ["Je n'arrive plus à me lever le matin", "Je ne sors presque plus",
              "Je n'ouvre plus mon courrier", "Je ne vais plus en cours depuis novembre"],
    "wish": ["Reprendre une activité", "Avoir mon propre logement", "Retravailler",
             "Revoir mes amis"],
    "barriers": ["Fatigue, peur du regard des autres", "Le traitement me ralentit",
                 "Les démarches me découragent", "Je me sens seul·e"],
    "drivers": ["Mon projet de métier", "Ma famille", "Mon chien", "La musique"],
}


def weighted(rng: random.Random, items: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    return rng.choices(items, weights=[i[-1] for i in items])[0]


def day(offset: int) -> str:
    return (START + timedelta(days=offset)).isoformat()


def ref(key: str) -> dict[str, str]:
    return {"reference": key}


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return {"coding": [out]}


def put(resource: dict[str, Any]) -> dict[str, Any]:
    url = f"{resource['resourceType']}/{resource['id']}"
    return {"fullUrl": f"{LOCAL_IDS}/fhir/{url}", "resource": resource,
            "request": {"method": "PUT", "url": url}}


def transaction(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


# --- the shared directory ------------------------------------------------------------------


@dataclass
class Directory:
    orgs: list[str] = field(default_factory=list)
    roles_by_function: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    # role id → (practitioner id, organization id)
    roles: dict[str, tuple[str, str]] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)


def make_directory(rng: random.Random, n_practitioners: int, n_orgs: int) -> Directory:
    d = Directory()
    for i in range(1, n_orgs + 1):
        code, label = ORG_KINDS[(i - 1) % len(ORG_KINDS)]
        city, postal = CITIES[rng.randrange(len(CITIES))]
        oid = f"org-{i:04d}"
        d.orgs.append(oid)
        d.entries.append(put({
            "resourceType": "Organization", "id": oid,
            "identifier": [{"system": "https://finess.esante.gouv.fr",
                            "value": f"{postal[:2]}{i:07d}"},
                           {"system": f"{LOCAL_IDS}/structure", "value": oid}],
            "active": True,
            "type": [coding(R66, code, label)],
            "name": f"{label} {city} {i} (exemple)",
            "address": [{"city": city, "postalCode": postal, "country": "FR"}],
        }))
    functions = list(FUNCTIONS)
    weights = [FUNCTIONS[f][1] for f in functions]
    d.roles_by_function = {f: [] for f in functions}
    for i in range(1, n_practitioners + 1):
        # every function exists at least once, then by weight
        function = functions[i - 1] if i <= len(functions) else rng.choices(functions,
                                                                            weights)[0]
        female = rng.random() < 0.7
        given = rng.choice(FIRST_F if female else FIRST_M)
        pid, rid = f"pr-{i:05d}", f"prr-{i:05d}"
        org = d.orgs[rng.randrange(len(d.orgs))]
        d.entries.append(put({
            "resourceType": "Practitioner", "id": pid,
            "identifier": [{"system": "https://rpps.esante.gouv.fr", "value": f"10{i:09d}"},
                           {"system": f"{LOCAL_IDS}/professional", "value": pid}],
            "active": True,
            "name": [{"family": rng.choice(FAMILY), "given": [given]}],
            "gender": "female" if female else "male",
        }))
        d.entries.append(put({
            "resourceType": "PractitionerRole", "id": rid, "active": True,
            "practitioner": ref(f"Practitioner/{pid}"),
            "organization": ref(f"Organization/{org}"),
            "code": [coding(CS_FUNCTION, function, FUNCTIONS[function][0])],
            "telecom": [{"system": "email", "value": f"{pid}@exemple-bench.fr"}],
        }))
        d.roles_by_function[function].append((rid, pid, org))
        d.roles[rid] = (pid, org)
    d.entries.append(put(questionnaire()))
    return d


def questionnaire() -> dict[str, Any]:
    items = [{"linkId": "domain.code", "text": "Domaine de vie", "type": "choice",
              "answerValueSet": f"{IG}/ValueSet/cm-life-domain"}]
    labels = {"works": "Ce qui marche", "stuck": "Ce qui coince", "wish": "Ce que je souhaite",
              "barriers": "Ce qui me freine", "drivers": "Ce qui me motive"}
    items += [{"linkId": f"domain.{k}", "text": v, "type": "text"} for k, v in labels.items()]
    return {
        "resourceType": "Questionnaire", "id": "cm-bilan-fonctionnel", "url": QUESTIONNAIRE_URL,
        "version": "0.1.0", "name": "BilanFonctionnel", "title": "Bilan fonctionnel",
        "status": "active", "subjectType": ["Patient"],
        "item": [{"linkId": "domain", "text": "Domaine de vie", "type": "group",
                  "repeats": True, "item": items}],
    }


# --- one person ------------------------------------------------------------------------------


def person(rng: random.Random, d: Directory, n: int) -> list[dict[str, Any]]:
    """The resources of one person accompanied (already as PUT entries)."""
    key = f"pa-{n:07d}"
    patient = f"Patient/{key}"
    female = rng.random() < 0.45
    given = rng.choice(FIRST_F if female else FIRST_M)
    family = rng.choice(FAMILY)
    city, postal = CITIES[rng.randrange(len(CITIES))]
    birth = date(1994, 1, 1) + timedelta(days=rng.randrange(16 * 365))
    start = rng.randrange(700)
    # the commune and order digits are the person's number: two people never share an INS
    # (random digits did collide at 80k people, and the server rightly refused the second);
    # the two draws are kept so that every other value of the corpus stays as it was
    rng.randrange(1000), rng.randrange(1000)
    nir = f"{1 if not female else 2}{birth.year % 100:02d}{birth.month:02d}{postal[:2]}" \
          f"{n % 1_000_000:06d}"
    nir += f"{97 - int(nir) % 97:02d}"
    out = [put({
        "resourceType": "Patient", "id": key,
        "identifier": [
            {"use": "official",
             "type": coding("http://interopsante.org/fhir/CodeSystem/fr-v2-0203", "INS-NIR"),
             "system": INS_NIR_TEST, "value": nir},
            {"use": "usual", "type": coding("http://terminology.hl7.org/CodeSystem/v2-0203",
                                            "PI"),
             "system": f"{LOCAL_IDS}/ipp", "value": f"IPP-{n:07d}"}],
        "active": True,
        "name": [{"use": "official", "family": family, "given": [given]}],
        "telecom": [{"system": "phone", "value": f"+336{n % 100_000_000:08d}"}],
        "gender": "female" if female else "male",
        "birthDate": birth.isoformat(),
        "address": [{"line": [f"{rng.randrange(1, 120)} {rng.choice(STREETS)}"], "city": city,
                     "postalCode": postal, "country": "FR"}],
    })]
    kin_code, kin_label = rng.choice(KINSHIP)
    rp = f"{key}-rp"
    out.append(put({
        "resourceType": "RelatedPerson", "id": rp, "active": True,
        "patient": ref(patient),
        "relationship": [coding(R260, rng.choice(RP_ROLES)), coding(ROLE_CODE, kin_code)],
        "name": [{"family": family if kin_code != "FRND" else rng.choice(FAMILY),
                  "given": [rng.choice(FIRST_F + FIRST_M)], "text": kin_label}],
        "telecom": [{"system": "phone", "value": f"+337{n % 100_000_000:08d}"}],
    }))

    # the team: one case manager, then 3–5 other functions, each a PractitionerRole
    cm_role, cm_prac, cm_org = rng.choice(d.roles_by_function["case-manager"])
    others = [f for f in FUNCTIONS if f != "case-manager"]
    chosen = rng.sample(others, rng.randint(3, 5))
    team = [("case-manager", cm_role, cm_org)]
    for function in chosen:
        role_id, _, org = rng.choice(d.roles_by_function[function])
        team.append((function, role_id, org))
    by_function = {f: r for f, r, _ in team}

    code, label, _ = weighted(rng, PROGRAMMES)
    ep, sr, ct, cp = f"{key}-ep", f"{key}-sr", f"{key}-ct", f"{key}-cp"
    cs, qr = f"{key}-cs", f"{key}-qr"
    requester = (f"PractitionerRole/{by_function['psychiatre']}" if "psychiatre" in by_function
                 else rng.choice([patient, f"RelatedPerson/{rp}"]))
    out.append(put({
        "resourceType": "ServiceRequest", "id": sr,
        "status": "completed", "intent": "order",
        "code": coding(CS_SERVICE, "accompagnement-case-management",
                       "Accompagnement par un case manager"),
        "subject": ref(patient), "authoredOn": day(start - rng.randrange(5, 40)),
        "requester": ref(requester),
        "reasonCode": [{"text": rng.choice(REASONS)}],
    }))
    finished = rng.random() < 0.15
    period: dict[str, str] = {"start": day(start)}
    if finished:
        period["end"] = day(start + rng.randrange(180, 540))
    history = [{"status": "active", "period": dict(period)}]
    out.append(put({
        "resourceType": "EpisodeOfCare", "id": ep,
        "identifier": [{"system": f"{LOCAL_IDS}/episode", "value": f"EP-{n:07d}"}],
        "status": "finished" if finished else "active",
        "statusHistory": history,
        "type": [{**coding(CS_PROGRAMME, code, label), "text": label}],
        "patient": ref(patient),
        "managingOrganization": ref(f"Organization/{cm_org}"),
        "period": period,
        "referralRequest": [ref(f"ServiceRequest/{sr}")],
        "careManager": ref(f"Practitioner/{cm_prac}"),
        "team": [ref(f"CareTeam/{ct}")],
    }))
    participants = [{
        "role": [coding(CS_FUNCTION, function, FUNCTIONS[function][0])],
        "member": ref(f"PractitionerRole/{role_id}"),
        "period": {"start": day(start + (0 if i < 2 else rng.randrange(60)))},
    } for i, (function, role_id, _) in enumerate(team)]
    participants.append({"role": [coding(CS_FUNCTION, "personne-accompagnee",
                                         "Personne accompagnée")],
                         "member": ref(patient), "period": {"start": day(start)}})
    participants.append({"role": [coding(CS_FUNCTION, "aidant", "Aidant·e")],
                         "member": ref(f"RelatedPerson/{rp}"), "period": {"start": day(start)}})
    out.append(put({
        "resourceType": "CareTeam", "id": ct,
        "extension": [{"url": EXT_EPISODE, "valueReference": ref(f"EpisodeOfCare/{ep}")}],
        "status": "inactive" if finished else "active",
        "name": f"Équipe de {given} {family[0]}.",
        "subject": ref(patient),
        "period": {"start": day(start)},
        "participant": participants,
        "managingOrganization": [ref(f"Organization/{cm_org}")],
    }))

    # the bilan fonctionnel, then goals in distinct life domains
    domains = rng.sample(list(DOMAINS), rng.randint(3, 6))
    qr_items = []
    for dom in domains[:3]:
        sub = [{"linkId": "domain.code",
                "answer": [{"valueCoding": {"system": CS_DOMAIN, "code": dom,
                                            "display": DOMAINS[dom][0]}}]}]
        sub += [{"linkId": f"domain.{k}", "answer": [{"valueString": rng.choice(v)}]}
                for k, v in BILAN.items()]
        qr_items.append({"linkId": "domain", "item": sub})
    out.append(put({
        "resourceType": "QuestionnaireResponse", "id": qr,
        "extension": [{"url": EXT_EPISODE, "valueReference": ref(f"EpisodeOfCare/{ep}")}],
        "questionnaire": QUESTIONNAIRE_URL,
        "status": "completed", "subject": ref(patient),
        "authored": day(start + 7), "author": ref(f"PractitionerRole/{cm_role}"),
        "source": ref(patient), "item": qr_items,
    }))
    goals, activities = [], []
    for g, dom in enumerate(domains, 1):
        gid = f"{key}-g{g}"
        status = "completed" if finished else rng.choices(
            ["active", "proposed", "on-hold", "completed"], [60, 15, 10, 15])[0]
        goal: dict[str, Any] = {
            "resourceType": "Goal", "id": gid,
            "lifecycleStatus": status,
        }
        if status in ("active", "completed"):
            achievement = "achieved" if status == "completed" else rng.choice(
                ["in-progress", "improving", "no-change", "worsening"])
            goal["achievementStatus"] = coding(
                "http://terminology.hl7.org/CodeSystem/goal-achievement", achievement)
        goal.update({
            "category": [coding(CS_DOMAIN, dom, DOMAINS[dom][0])],
            "priority": coding("http://terminology.hl7.org/CodeSystem/goal-priority",
                               rng.choice(["high-priority", "medium-priority", "low-priority"])),
            "description": {"text": rng.choice(DOMAINS[dom][1])},
            "subject": ref(patient),
            "startDate": day(start + 14),
            "target": [{"dueDate": day(start + 14 + rng.randrange(60, 300))}],
            "expressedBy": ref(patient) if rng.random() < 0.8
            else ref(f"PractitionerRole/{cm_role}"),
        })
        out.append(put(goal))
        goals.append(ref(f"Goal/{gid}"))
        pillar, action, function = ACTIONS[dom]
        performer = by_function.get(function, cm_role)
        activities.append({"detail": {
            "extension": [{"url": f"{IG}/StructureDefinition/cm-care-pillar",
                           "valueCodeableConcept": {"coding": [{"system": CS_PILLAR,
                                                                 "code": pillar}]}}],
            "status": {"completed": "completed", "on-hold": "on-hold",
                       "proposed": "not-started"}.get(status, rng.choice(
                           ["scheduled", "in-progress"])),
            "description": action,
            "goal": [ref(f"Goal/{gid}")],
            "performer": [ref(f"PractitionerRole/{performer}")],
            "scheduledString": day(start + 20 + rng.randrange(90)),
        }})
    out.append(put({
        "resourceType": "CarePlan", "id": cp,
        "extension": [{"url": EXT_EPISODE, "valueReference": ref(f"EpisodeOfCare/{ep}")}],
        "identifier": [{"system": f"{LOCAL_IDS}/plan", "value": f"PP-{n:07d}"}],
        "status": "completed" if finished else "active",
        "intent": "plan",
        "category": [coding(CS_PLAN_TYPE, "projet-soins-vie", "Projet de soins et de vie")],
        "title": f"Projet de soins et de vie de {given}",
        "description": " ; ".join(DOMAINS[dom][0] for dom in domains),
        "subject": ref(patient),
        "period": {"start": day(start + 14), **({"end": period["end"]} if finished else {})},
        "created": day(start + 14),
        "author": ref(f"Practitioner/{cm_prac}"),
        "contributor": [ref(f"Practitioner/{cm_prac}"), ref(patient)],
        "careTeam": [ref(f"CareTeam/{ct}")],
        "supportingInfo": [ref(f"QuestionnaireResponse/{qr}")],
        "goal": goals,
        "activity": activities,
    }))
    team_orgs = sorted({org for _, _, org in team})
    out.append(put({
        "resourceType": "Consent", "id": cs,
        "status": "active",
        "scope": coding("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy"),
        "category": [coding(CS_CONSENT, "shared-care-plan", "Partage du projet personnalisé")],
        "patient": ref(patient),
        "dateTime": day(start + 14),
        "performer": [ref(patient)],
        "policyRule": coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTIN"),
        "provision": {"type": "permit", "period": {"start": day(start + 14)}, "actor": [
            {"role": coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                            "IRCP"),
             "reference": ref(f"Organization/{org}")} for org in team_orgs]},
    }))
    return out


# --- the corpus ------------------------------------------------------------------------------


def directory_size(resources: int) -> tuple[int, int]:
    """(practitioners, organizations) for a corpus of about ``resources`` resources."""
    practitioners = max(len(FUNCTIONS) * 3, resources // 400)
    return practitioners, max(6, practitioners // 10)


def corpus_dir(resources: int, seed: int, out: Path = DEFAULT_OUT) -> Path:
    suffix = "" if seed == 1 else f"-s{seed}"
    return out / f"corpus-{resources}{suffix}"


def generate(resources: int, seed: int = 1, persons_per_bundle: int = 8,
             out_dir: Path | None = None, quiet: bool = False) -> Path:
    out_dir = out_dir or corpus_dir(resources, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rng = random.Random(seed)
    n_prac, n_orgs = directory_size(resources)
    d = make_directory(rng, n_prac, n_orgs)
    (out_dir / "shared.json").write_bytes(orjson.dumps(transaction(d.entries)))
    counts: dict[str, int] = {}
    for e in d.entries:
        rt = e["resource"]["resourceType"]
        counts[rt] = counts.get(rt, 0) + 1
    total = len(d.entries)
    n_bundles = 0
    patients: list[str] = []
    sample: list[str] = []  # a reservoir of ids for the read workload
    tmp = out_dir / "bundles.ndjson.tmp"
    with tmp.open("wb") as fh:
        n = 0
        while total < resources:
            entries: list[dict[str, Any]] = []
            for _ in range(persons_per_bundle):
                if total + len(entries) >= resources:
                    break
                n += 1
                entries.extend(person(rng, d, n))
                patients.append(f"pa-{n:07d}")
            for e in entries:
                r = e["resource"]
                counts[r["resourceType"]] = counts.get(r["resourceType"], 0) + 1
                key = f"{r['resourceType']}/{r['id']}"
                seen = total + 1
                total += 1
                if len(sample) < 5000:
                    sample.append(key)
                elif (j := rng.randrange(seen)) < 5000:
                    sample[j] = key
            fh.write(orjson.dumps(transaction(entries)))
            fh.write(b"\n")
            n_bundles += 1
    tmp.replace(out_dir / "bundles.ndjson")
    manifest = {
        "generator": GENERATOR, "resources": total, "requested": resources, "seed": seed,
        "persons": len(patients), "bundles": n_bundles + 1,
        "persons_per_bundle": persons_per_bundle,
        "counts": dict(sorted(counts.items())),
        "patients": patients,
        "read_sample": sample,
    }
    (out_dir / "manifest.json").write_bytes(orjson.dumps(manifest))
    if not quiet:
        print(f"{total} resources ({len(patients)} persons, {n_bundles} bundles + shared) "
              f"in {out_dir} ({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return out_dir


def iter_bundles(corpus: Path) -> Iterator[bytes]:
    """The shared bundle first, then each person bundle, as raw bytes."""
    yield (corpus / "shared.json").read_bytes()
    with (corpus / "bundles.ndjson").open("rb") as fh:
        for line in fh:
            if line.strip():
                yield line.rstrip(b"\n")


def ensure_corpus(resources: int, seed: int = 1, out: Path = DEFAULT_OUT) -> Path:
    """The corpus directory, generated unless a complete one is already there."""
    path = corpus_dir(resources, seed, out)
    if (path / "manifest.json").exists() and (path / "bundles.ndjson").exists() and \
            orjson.loads((path / "manifest.json").read_text()).get("generator") == GENERATOR:
        return path
    return generate(resources, seed, out_dir=path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--resources", type=int, default=10_000,
                    help="approximate corpus size (e.g. 10000, 100000, 1000000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--persons-per-bundle", type=int, default=8,
                    help="persons per transaction bundle (about 12.5 resources each)")
    ap.add_argument("--out", type=Path, default=None, help="output folder")
    args = ap.parse_args(argv)
    generate(args.resources, args.seed, args.persons_per_bundle, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
