// Needs (besoins) of the personal plan: a home compatible with ANS TDDUI
// (TDDUIServiceRequestBesoin: ServiceRequest, one identifier, code 1..1 with the need in
// words, category 0..1 from SERAFIN-PH JDV_J285, basedOn 1..1 the projet personnalisé).
// Case file: plan.needs, goals[].needs (mappings/casefile/resources/need.json);
// conversion: fhir_service/national/tddui.py; docs/national-guides.md.

Profile: CMNeed
Parent: ServiceRequest
Id: cm-need
Title: "Besoin (Need)"
Description: "Un besoin de la personne auquel répond le projet personnalisé, dans ses mots (code.text), rattaché à un domaine de vie et/ou à un besoin SERAFIN-PH (JDV_J285) ; les objectifs qui y répondent le référencent (Goal.addresses). Même forme qu'un besoin ANS TDDUI (TDDUIServiceRequestBesoin) : un identifiant, le texte du besoin, le projet (basedOn). A need of the person that the personal plan answers, in the person's words; goals point to it with Goal.addresses. Shaped as an ANS TDDUI besoin."
* insert ConformanceMetadata
* ^purpose = "Les besoins (SERAFIN-PH, projet personnalisé médico-social) sont ce que les objectifs visent. Un besoin est une demande du projet (intent = plan), pas une orientation (cm-referral). Needs are what the goals address; a need is a request of the plan (intent plan), not a referral."
* identifier 1..* MS
* identifier ^short = "Identifiant du besoin (TDDUI n'en transmet qu'un) | Business identifier (TDDUI carries one)"
* basedOn 1..1 MS
* basedOn only Reference(CMCarePlan)
* basedOn ^short = "Le projet personnalisé dont c'est un besoin | The plan this need belongs to"
* status MS
* intent = #plan
* intent MS
* category MS
* category ^short = "Domaine de vie (cm-life-domain) et/ou besoin SERAFIN-PH (JDV_J285) | Life domain and/or SERAFIN-PH need"
* category ^comment = "TDDUI porte une seule catégorie, de JDV_J285 : le domaine de vie y est traduit par la ConceptMap cm-life-domain-to-serafin-besoin. TDDUI carries one category from JDV_J285; the life domain is translated by ConceptMap cm-life-domain-to-serafin-besoin."
* code 1..1 MS
* code.text 1..1 MS
* code ^short = "Le besoin en mots simples (code.text) | The need in plain words"
* subject MS
* subject only Reference(CMPatient)
* authoredOn MS
* requester only Reference(CMPatient or CMPractitionerRole or CMPractitioner or CMRelatedPerson)
* requester ^short = "Qui a exprimé le besoin | Who expressed the need"
* orderDetail MS
* orderDetail ^short = "Analyse du professionnel (texte) | The professional's analysis"
* note MS
* note ^short = "Commentaire | Comment"

Instance: diego-need-studies
InstanceOf: CMNeed
Usage: #example
Title: "Besoin : reprendre ses études (exemple)"
Description: "Un besoin du projet de Diego, dans ses mots, rattaché au domaine de vie scolarité / formation et à sa traduction SERAFIN-PH. A need of Diego's plan, in his words."
* identifier.system = "https://ids.exemple-ghu-psy.fr/cjaad"
* identifier.value = "B-1"
* basedOn = Reference(CarePlan/diego-careplan)
* status = #active
* intent = #plan
* category[+] = https://interop.cm-sante-mentale.fr/fhir/CodeSystem/cm-life-domain#scolarite-formation
* category[+] = https://smt.esante.gouv.fr/terminologie-SERAFINPH#1.3.3.1 "Besoins en lien avec la vie scolaire et étudiante"
* code.text = "Être aidé pour reprendre mes études à mon rythme"
* subject = Reference(Patient/diego-patient)
* authoredOn = "2026-01-26"
