// Events of an accompaniment that R4 has no element for (issues 13 and 14):
// - how an accompaniment ended (R4 EpisodeOfCare has no end reason): the extension
//   cm-episode-outcome on EpisodeOfCare, bound to cm-episode-outcome;
// - ruptures of the pathway (care, school, work, housing, social and family life) as
//   recorded events: the Observation profile cm-rupture, one code per kind of rupture.
// Counted by the Measures cm-episode-outcomes and cm-ruptures (measures.fsh).

CodeSystem: CMEpisodeOutcome
Id: cm-episode-outcome
Title: "Issues d'accompagnement (Episode outcomes)"
Description: "Comment un accompagnement de case management s'est terminé. Les mots viennent des sources : la phase finale où la personne est autonome dans la gestion de ses besoins (Edwards et al.), le relais (modèle externe de la référence), les perdus de vue, les ruptures de parcours. How a case-management accompaniment ended."
* insert LocalCodeSystem
* #objectifs-atteints "Objectifs atteints, autonomie" "Fin d'accompagnement prévue : la personne a atteint ses objectifs et gère ses besoins de façon autonome (la phase finale de la relation de case management). Planned end: the person reached their goals and manages their needs on their own (the final phase of the case-management relationship)."
* #relais "Relais vers un autre service" "L'accompagnement est passé à un autre service ou dispositif (relais, réorientation) qui prend la suite. Handed over to another service or programme that takes over (relais)."
* #demenagement "Déménagement hors du territoire" "La personne a quitté le territoire de la structure ; un relais a pu être proposé ailleurs. The person moved away from the structure's territory."
* #arret-personne "Arrêt à la demande de la personne" "La personne a mis fin à l'accompagnement ou l'a refusé (c'est elle qui décide : le case manager propose, n'ordonne pas). The person withdrew from or refused the accompaniment."
* #perdu-de-vue "Perdu de vue" "Plus aucun contact possible avec la personne malgré les relances : une rupture de parcours. Lost to follow-up: no contact possible despite attempts."
* #deces "Décès" "La personne est décédée. The person died."
* #autre "Autre" "Une autre issue, décrite dans le texte. Another outcome, described in the text."
* insert En(objectifs-atteints, "Goals reached\, autonomous")
* insert En(relais, "Handed over to another service")
* insert En(demenagement, "Moved away")
* insert En(arret-personne, "Withdrawn or refused by the person")
* insert En(perdu-de-vue, "Lost to follow-up")
* insert En(deces, "Died")
* insert En(autre, "Other")

ValueSet: CMEpisodeOutcomeVS
Id: cm-episode-outcome
Title: "Issues d'accompagnement (Episode outcomes)"
Description: "Toutes les issues d'accompagnement. All episode outcomes."
* insert TerminologyMetadata
* include codes from system CMEpisodeOutcome

Extension: CMEpisodeOutcomeExtension
Id: cm-episode-outcome
Title: "Issue de l'accompagnement (Episode outcome)"
Description: "Comment l'accompagnement s'est terminé (objectifs atteints, relais, déménagement, arrêt à la demande de la personne, perdu de vue, décès, autre). R4 EpisodeOfCare n'a pas de motif de fin : une fin prévue et un perdu de vue sont tous deux `finished`. Donnée quand l'accompagnement est terminé (status finished, period.end). How the accompaniment ended; R4 EpisodeOfCare has no end reason. Given when the episode is finished."
* insert ConformanceMetadata
* ^context[+].type = #element
* ^context[=].expression = "EpisodeOfCare"
* . ^short = "Issue de l'accompagnement | Episode outcome"
* value[x] only CodeableConcept
* valueCodeableConcept 1..1
* valueCodeableConcept from CMEpisodeOutcomeVS (extensible)

Instance: cm-episodeofcare-outcome
InstanceOf: SearchParameter
Usage: #definition
Title: "Accompagnements par issue (EpisodeOfCare outcome)"
* insert SearchParameterMetadata(cm-episodeofcare-outcome)
* name = "Outcome"
* description = "Accompagnements selon leur issue (extension cm-episode-outcome) ; sert à l'indicateur des fins d'accompagnement. Episodes of care by outcome."
* code = #outcome
* base = #EpisodeOfCare
* type = #token
* expression = "EpisodeOfCare.extension.where(url = 'https://interop.cm-sante-mentale.fr/fhir/StructureDefinition/cm-episode-outcome').value.ofType(CodeableConcept)"

CodeSystem: CMRuptureKind
Id: cm-rupture-kind
Title: "Types de rupture de parcours (Kinds of pathway rupture)"
Description: "Les ruptures que le case management cherche à éviter (« éviter les ruptures, les pertes de chances » ; « limiter les ruptures scolaires, sociales, familiales ») : ruptures de soins, de scolarité ou de formation, d'emploi, de logement, de la vie sociale et familiale, des droits et ressources. Kinds of rupture of a person's pathway that case management tries to avoid."
* insert LocalCodeSystem
* #soins "Rupture de soins" "Arrêt du suivi ou des traitements (rendez-vous manqués, sortie d'hospitalisation sans relais, arrêt du traitement). Care interrupted: follow-up or treatment stopped."
* #scolarite-formation "Rupture scolaire ou de formation" "Déscolarisation, exclusion, abandon d'études ou de formation. Dropped out of school or training."
* #emploi "Rupture professionnelle" "Perte d'emploi, arrêt d'un stage ou d'un parcours d'insertion. Loss of work, work placement or integration programme."
* #logement "Rupture de logement" "Perte du logement, expulsion, hébergement perdu, vie à la rue. Loss of housing, eviction, homelessness."
* #vie-sociale "Rupture sociale" "Isolement, perte des liens sociaux ou des activités. Social isolation, loss of social ties or activities."
* #famille "Rupture familiale" "Rupture avec la famille ou l'entourage proche. Break with family or close relatives."
* #droits "Rupture de droits ou de ressources" "Perte de droits ou de ressources (allocation, couverture maladie, mesure de protection). Loss of rights or income."
* #autre "Autre rupture" "Une autre rupture, décrite dans le texte. Another rupture, described in the text."
* insert En(soins, "Care rupture")
* insert En(scolarite-formation, "School or training rupture")
* insert En(emploi, "Work rupture")
* insert En(logement, "Housing rupture")
* insert En(vie-sociale, "Social rupture")
* insert En(famille, "Family rupture")
* insert En(droits, "Loss of rights or income")
* insert En(autre, "Other rupture")

ValueSet: CMRuptureKindVS
Id: cm-rupture-kind
Title: "Types de rupture de parcours (Kinds of pathway rupture)"
Description: "Tous les types de rupture. All kinds of rupture."
* insert TerminologyMetadata
* include codes from system CMRuptureKind

Profile: CMRupture
Parent: Observation
Id: cm-rupture
Title: "Rupture de parcours (Pathway rupture)"
Description: "Une rupture du parcours de la personne (de soins, scolaire, professionnelle, de logement, sociale, familiale, de droits) enregistrée comme un événement : son type (code), la personne (subject), sa date ou sa période (effective), l'accompagnement pendant lequel elle a été constatée (extension core workflow-episodeOfCare), qui l'a constatée (performer) et ce qui s'est passé, en mots simples (note). Une Observation plutôt qu'un Flag (une alerte active, pas un événement daté) ou une Condition (un problème de santé) : R4 Observation a une date d'effet, un sujet, des recherches par code et par date, et fait partie du compartiment Patient. A rupture of the person's pathway recorded as a dated event."
* insert ConformanceMetadata
* extension contains $workflow-episodeOfCare named episodeOfCare 0..1 MS
* extension[episodeOfCare] ^short = "Accompagnement pendant lequel la rupture a été constatée | Episode of care"
* extension[episodeOfCare].valueReference only Reference(CMEpisodeOfCare)
* status MS
* status ^short = "final (constatée) | amended | entered-in-error (saisie erronée : non comptée)"
* code MS
* code from CMRuptureKindVS (required)
* code ^short = "Type de rupture | Kind of rupture"
* subject 1..1 MS
* subject only Reference(CMPatient)
* effective[x] 1..1 MS
* effective[x] only dateTime or Period
* effective[x] ^short = "Date de la rupture, ou sa période (début ; fin quand elle est résolue) | When"
* performer MS
* performer only Reference(CMPractitionerRole or CMPractitioner or CMPatient or CMRelatedPerson)
* performer ^short = "Qui l'a constatée ou signalée | Who recorded or reported it"
* note MS
* note ^short = "Ce qui s'est passé, en mots simples | What happened, in plain words"
* value[x] 0..0
* component 0..0

// Observation?episode-of-care= is the guide's SearchParameter cm-episode-of-care
// (searchparameters.fsh), whose bases include Observation.

Instance: diego-rupture-etudes
InstanceOf: CMRupture
Usage: #example
Title: "Rupture : décrochage des études de Diego (Diego drops out of his studies)"
Description: "Une rupture scolaire enregistrée pendant l'accompagnement : Diego a cessé d'aller en cours pendant six semaines, puis a repris. A school rupture recorded during the accompaniment, resolved six weeks later."
* extension[episodeOfCare].valueReference = Reference(diego-episode)
* status = #final
* code = CMRuptureKind#scolarite-formation
* subject = Reference(diego-patient)
* effectivePeriod.start = "2026-02-23"
* effectivePeriod.end = "2026-04-06"
* performer = Reference(role-durand)
* note.text = "N'allait plus en cours depuis la fin des vacances d'hiver ; reprise après un aménagement d'emploi du temps avec l'université."

Instance: diego-episode-cmp-ended
InstanceOf: CMEpisodeOfCare
Usage: #example
Title: "Premier accompagnement de Diego au CMP, terminé par un relais (Episode ended by a hand-over)"
Description: "Un accompagnement terminé (finished) dont l'issue est un relais vers un autre service (extension cm-episode-outcome) : le CMP a accompagné Diego jusqu'à ce que le C'JAAD prenne le relais. An episode of care that ended with a hand-over to another service."
* insert LocalId(https://ids.exemple-ghu-psy.fr/cmp14, CMP-EP-2025-0007)
* extension[outcome].valueCodeableConcept = CMEpisodeOutcome#relais
* extension[outcome].valueCodeableConcept.text = "Relais vers le C'JAAD (intervention précoce)"
* status = #finished
* statusHistory[0].status = #active
* statusHistory[0].period.start = "2025-09-15"
* statusHistory[0].period.end = "2026-01-12"
* statusHistory[1].status = #finished
* statusHistory[1].period.start = "2026-01-12"
* type = CMProgramme#coordination-parcours-complexe
* patient = Reference(diego-patient)
* managingOrganization = Reference(org-cmp14)
* period.start = "2025-09-15"
* period.end = "2026-01-12"
* careManager = Reference(pract-lefebvre)
