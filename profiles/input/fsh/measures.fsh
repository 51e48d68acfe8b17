// Case-management indicators as Measures (https://hl7.org/fhir/R4/measure.html), evaluated by
// Measure/[id]/$evaluate-measure (fhir_service/measures/, docs/indicators.md). Populations
// are defined in words by their criteria (no CQL: the server computes them in SQL over its
// search indexes); groups and stratifiers are named by codes of cm-indicator.

CodeSystem: CMIndicator
Id: cm-indicator
Title: "Indicateurs de case management (Case-management indicators)"
Description: "Codes des groupes et des stratificateurs des indicateurs de case management (Measure.group.code, Measure.group.stratifier.code). Codes of the groups and stratifiers of the case-management measures."
* insert LocalCodeSystem
* #caseload "File active" "Accompagnements en cours à la fin de la période."
* #delay-median "Délai orientation → début, médiane" "Médiane, en jours, du délai entre la date de l'orientation (ServiceRequest.authoredOn) et le début de l'accompagnement (EpisodeOfCare.period.start)."
* #delay-p90 "Délai orientation → début, 90e centile" "90e centile (rang le plus proche), en jours, du même délai."
* #goals-achieved "Objectifs atteints" "Objectifs dont l'avancement est atteint (achieved) ou maintenu (sustaining)."
* #goals-not-achieved "Objectifs non atteints" "Objectifs non atteints (not-achieved, not-attainable) ou terminés sans être atteints."
* #goals-ongoing "Objectifs en cours" "Objectifs prévus, acceptés, en cours ou en pause, ni atteints ni non atteints."
* #interruption "Interruptions" "Accompagnements suspendus (statut onhold dans l'historique des statuts) pendant la période."
* #contact-gap "Sans contact" "Personnes en accompagnement à la fin de la période sans contact (Encounter) depuis plus de N jours."
* #hospital-stays "Hospitalisations" "Séjours hospitaliers (Encounter de classe IMP, ACUTE ou NONAC) commencés pendant la période au cours d'un accompagnement."
* #hospitalised-people "Personnes hospitalisées" "Personnes ayant au moins un séjour hospitalier commencé pendant la période au cours d'un accompagnement."
* #case-manager "Par case manager" "Stratification par case manager (EpisodeOfCare.careManager)."
* #structure "Par structure" "Stratification par structure pivot (EpisodeOfCare.managingOrganization)."
* #life-domain "Par domaine de vie" "Stratification par domaine de vie (Goal.category)."
* #rupture-event "Ruptures enregistrées" "Ruptures de parcours enregistrées (Observation cm-rupture) commencées pendant la période au cours d'un accompagnement."
* #episodes-ended "Fins d'accompagnement" "Accompagnements terminés (finished) dont la date de fin est dans la période."
* #rupture-kind "Par type de rupture" "Stratification par type de rupture (Observation.code, cm-rupture-kind)."
* #outcome "Par issue" "Stratification par issue de l'accompagnement (extension cm-episode-outcome)."
* insert En(caseload, "Active caseload")
* insert En(delay-median, "Referral to start delay\, median")
* insert En(delay-p90, "Referral to start delay\, 90th percentile")
* insert En(goals-achieved, "Goals achieved")
* insert En(goals-not-achieved, "Goals not achieved")
* insert En(goals-ongoing, "Goals ongoing")
* insert En(interruption, "Interruptions")
* insert En(contact-gap, "Without contact")
* insert En(hospital-stays, "Hospital stays")
* insert En(hospitalised-people, "People hospitalised")
* insert En(case-manager, "By case manager")
* insert En(structure, "By structure")
* insert En(life-domain, "By life domain")
* insert En(rupture-event, "Recorded ruptures")
* insert En(episodes-ended, "Episodes ended")
* insert En(rupture-kind, "By kind of rupture")
* insert En(outcome, "By outcome")

// Criteria are FHIRPath over one resource of the population, with the operation's
// parameters as %periodStart and %periodEnd (dates, inclusive) and %contactGapDays.
Alias: $measure-population = http://terminology.hl7.org/CodeSystem/measure-population

RuleSet: MeasureMetadata(id)
* url = "https://interop.cm-sante-mentale.fr/fhir/Measure/{id}"
* version = "0.1.0"
* status = #draft
* experimental = false
* publisher = "Projet open source cm-fhir"
* jurisdiction = urn:iso:std:iso:3166#FR "France"
* language = #fr
* type = http://terminology.hl7.org/CodeSystem/measure-type#process

Instance: cm-caseload
InstanceOf: Measure
Usage: #definition
Title: "File active par case manager (Active caseload)"
* insert MeasureMetadata(cm-caseload)
* subjectCodeableConcept = http://hl7.org/fhir/resource-types#EpisodeOfCare
* name = "CMCaseload"
* title = "File active par case manager (Active caseload)"
* description = "Nombre d'accompagnements en cours à la fin de la période, par case manager et par structure pivot. Un accompagnement est en cours à une date quand il a commencé ce jour-là ou avant (period.start), n'est pas terminé avant (pas de period.end ou period.end à cette date ou après) et a le statut active, onhold ou finished (un accompagnement suspendu reste dans la file active). Seuls comptent les accompagnements que l'appelant peut lire. Number of episodes of care in progress at the end of the period, per case manager and per pivot structure."
* scoring = http://terminology.hl7.org/CodeSystem/measure-scoring#cohort
* improvementNotation = http://terminology.hl7.org/CodeSystem/measure-improvement-notation#increase
* group[+].code = CMIndicator#caseload
* group[=].description = "Accompagnements en cours à la fin de la période."
* group[=].population[+].code = $measure-population#initial-population
* group[=].population[=].description = "EpisodeOfCare en cours à la fin de la période."
* group[=].population[=].criteria.language = #text/fhirpath
* group[=].population[=].criteria.expression = "EpisodeOfCare.where(status in ('active' | 'onhold' | 'finished') and period.start <= %periodEnd and (period.end.empty() or period.end >= %periodEnd))"
* group[=].stratifier[+].code = CMIndicator#case-manager
* group[=].stratifier[=].description = "Par case manager (EpisodeOfCare.careManager)."
* group[=].stratifier[=].criteria.language = #text/fhirpath
* group[=].stratifier[=].criteria.expression = "EpisodeOfCare.careManager"
* group[=].stratifier[+].code = CMIndicator#structure
* group[=].stratifier[=].description = "Par structure pivot (EpisodeOfCare.managingOrganization)."
* group[=].stratifier[=].criteria.language = #text/fhirpath
* group[=].stratifier[=].criteria.expression = "EpisodeOfCare.managingOrganization"

Instance: cm-referral-delay
InstanceOf: Measure
Usage: #definition
Title: "Délai de l'orientation au début de l'accompagnement (Referral to start delay)"
* insert MeasureMetadata(cm-referral-delay)
* subjectCodeableConcept = http://hl7.org/fhir/resource-types#EpisodeOfCare
* name = "CMReferralDelay"
* title = "Délai de l'orientation au début de l'accompagnement (Referral to start delay)"
* description = "Pour les accompagnements qui ont commencé pendant la période (period.start entre periodStart et periodEnd) et dont l'orientation (referralRequest, ServiceRequest lisible par l'appelant) a une date (authoredOn) : le nombre de jours calendaires (UTC) entre la date de l'orientation et le début de l'accompagnement ; médiane et 90e centile (rang le plus proche). Un accompagnement qui a plusieurs orientations compte depuis la plus ancienne ; un délai négatif (données incohérentes) est exclu. Days from referral (ServiceRequest.authoredOn) to the start of the episode of care, median and 90th percentile."
* scoring = http://terminology.hl7.org/CodeSystem/measure-scoring#continuous-variable
* improvementNotation = http://terminology.hl7.org/CodeSystem/measure-improvement-notation#decrease
* group[+].code = CMIndicator#delay-median
* group[=].description = "Médiane du délai, en jours."
* group[=].population[+].code = $measure-population#initial-population
* group[=].population[=].description = "Accompagnements commencés pendant la période dont l'orientation est datée."
* group[=].population[=].criteria.language = #text/fhirpath
* group[=].population[=].criteria.expression = "EpisodeOfCare.where(period.start >= %periodStart and period.start <= %periodEnd and referralRequest.resolve().authoredOn.exists())"
* group[=].population[+].code = $measure-population#measure-population
* group[=].population[=].description = "Les mêmes, délai positif ou nul."
* group[=].population[=].criteria.language = #text/fhirpath
* group[=].population[=].criteria.expression = "EpisodeOfCare.where(period.start >= referralRequest.resolve().authoredOn.min())"
* group[=].population[+].code = $measure-population#measure-population-exclusion
* group[=].population[=].description = "Délai négatif (données incohérentes)."
* group[=].population[=].criteria.language = #text/fhirpath
* group[=].population[=].criteria.expression = "EpisodeOfCare.where(period.start < referralRequest.resolve().authoredOn.min())"
* group[=].population[+].code = $measure-population#measure-observation
* group[=].population[=].description = "Jours calendaires (UTC) entre les deux dates que l'expression sélectionne : la plus ancienne orientation et le début de l'accompagnement."
* group[=].population[=].criteria.language = #text/fhirpath
* group[=].population[=].criteria.expression = "EpisodeOfCare.referralRequest.resolve().authoredOn.min() | EpisodeOfCare.period.start"
* group[=].stratifier[+].code = CMIndicator#case-manager
* group[=].stratifier[=].description = "Par case manager (EpisodeOfCare.careManager)."
* group[=].stratifier[=].criteria.language = #text/fhirpath
* group[=].stratifier[=].criteria.expression = "EpisodeOfCare.careManager"
* group[=].stratifier[+].code = CMIndicator#structure
* group[=].stratifier[=].description = "Par structure pivot (EpisodeOfCare.managingOrganization)."
* group[=].stratifier[=].criteria.language = #text/fhirpath
* group[=].stratifier[=].criteria.expression = "EpisodeOfCare.managingOrganization"
* group[+].code = CMIndicator#delay-p90
* group[=].description = "90e centile du délai (rang le plus proche), en jours."
* group[=].population[+].code = $measure-population#initial-population
* group[=].population[=].description = "Accompagnements commencés pendant la période dont l'orientation est datée."
* group[=].population[=].criteria.language = #text/fhirpath
* group[=].population[=].criteria.expression = "EpisodeOfCare.where(period.start >= %periodStart and period.start <= %periodEnd and referralRequest.resolve().authoredOn.exists())"
* group[=].population[+].code = $measure-population#measure-population
* group[=].population[=].description = "Les mêmes, délai positif ou nul."
* group[=].population[=].criteria.language = #text/fhirpath
* group[=].population[=].criteria.expression = "EpisodeOfCare.where(period.start >= referralRequest.resolve().authoredOn.min())"
* group[=].population[+].code = $measure-population#measure-population-exclusion
* group[=].population[=].description = "Délai négatif (données incohérentes)."
* group[=].population[=].criteria.language = #text/fhirpath
* group[=].population[=].criteria.expression = "EpisodeOfCare.where(period.start < referralRequest.resolve().authoredOn.min())"
* group[=].population[+].code = $measure-population#measure-observation
* group[=].population[=].description = "Jours calendaires (UTC) entre les deux dates que l'expression sélectionne : la plus ancienne orientation et le début de l'accompagnement."
* group[=].population[=].criteria.language = #text/fhirpath
* group[=].population[=].criteria.expression = "EpisodeOfCare.referralRequest.resolve().authoredOn.min() | EpisodeOfCare.period.start"
* group[=].stratifier[+].code = CMIndicator#case-manager
* group[=].stratifier[=].description = "Par case manager (EpisodeOfCare.careManager)."
* group[=].stratifier[=].criteria.language = #text/fhirpath
* group[=].stratifier[=].criteria.expression = "EpisodeOfCare.careManager"
* group[=].stratifier[+].code = CMIndicator#structure
* group[=].stratifier[=].description = "Par structure pivot (EpisodeOfCare.managingOrganization)."
* group[=].stratifier[=].criteria.language = #text/fhirpath
* group[=].stratifier[=].criteria.expression = "EpisodeOfCare.managingOrganization"

Instance: cm-goals-by-domain
InstanceOf: Measure
Usage: #definition
Title: "Objectifs atteints, non atteints et en cours par domaine de vie (Goals by life domain)"
* insert MeasureMetadata(cm-goals-by-domain)
* subjectCodeableConcept = http://hl7.org/fhir/resource-types#Goal
* name = "CMGoalsByDomain"
* title = "Objectifs atteints, non atteints et en cours par domaine de vie (Goals by life domain)"
* description = "Objectifs commencés au plus tard à la fin de la période (startDate absente ou <= periodEnd) dont le statut est planned, accepted, active, on-hold ou completed (les objectifs proposés, refusés, annulés ou saisis par erreur ne comptent pas), selon leur état enregistré : atteints (achievementStatus achieved ou sustaining), non atteints (not-achieved ou not-attainable, ou terminés sans être atteints), en cours (les autres), par domaine de vie. Avec un sujet (case manager, structure, territoire), seuls comptent les objectifs des personnes dont un accompagnement de ce sujet couvre une partie de la période. Goals achieved, not achieved and ongoing, by life domain."
* scoring = http://terminology.hl7.org/CodeSystem/measure-scoring#cohort
* improvementNotation = http://terminology.hl7.org/CodeSystem/measure-improvement-notation#increase
* group[+].code = CMIndicator#goals-achieved
* group[=].population[+].code = $measure-population#initial-population
* group[=].population[=].description = "Objectifs atteints."
* group[=].population[=].criteria.language = #text/fhirpath
* group[=].population[=].criteria.expression = "Goal.where(lifecycleStatus in ('planned' | 'accepted' | 'active' | 'on-hold' | 'completed') and (start.empty() or start <= %periodEnd)).where(achievementStatus.coding.where(system = 'http://terminology.hl7.org/CodeSystem/goal-achievement' and (code = 'achieved' or code = 'sustaining')).exists())"
* group[=].stratifier[+].code = CMIndicator#life-domain
* group[=].stratifier[=].description = "Par domaine de vie (Goal.category)."
* group[=].stratifier[=].criteria.language = #text/fhirpath
* group[=].stratifier[=].criteria.expression = "Goal.category"
* group[+].code = CMIndicator#goals-not-achieved
* group[=].population[+].code = $measure-population#initial-population
* group[=].population[=].description = "Objectifs non atteints, ou terminés sans être atteints."
* group[=].population[=].criteria.language = #text/fhirpath
* group[=].population[=].criteria.expression = "Goal.where(lifecycleStatus in ('planned' | 'accepted' | 'active' | 'on-hold' | 'completed') and (start.empty() or start <= %periodEnd)).where((achievementStatus.coding.where(system = 'http://terminology.hl7.org/CodeSystem/goal-achievement' and (code = 'achieved' or code = 'sustaining')).exists()).not() and (achievementStatus.coding.where(system = 'http://terminology.hl7.org/CodeSystem/goal-achievement' and (code = 'not-achieved' or code = 'not-attainable')).exists() or lifecycleStatus = 'completed'))"
* group[=].stratifier[+].code = CMIndicator#life-domain
* group[=].stratifier[=].description = "Par domaine de vie (Goal.category)."
* group[=].stratifier[=].criteria.language = #text/fhirpath
* group[=].stratifier[=].criteria.expression = "Goal.category"
* group[+].code = CMIndicator#goals-ongoing
* group[=].population[+].code = $measure-population#initial-population
* group[=].population[=].description = "Objectifs en cours : ni atteints ni non atteints."
* group[=].population[=].criteria.language = #text/fhirpath
* group[=].population[=].criteria.expression = "Goal.where(lifecycleStatus in ('planned' | 'accepted' | 'active' | 'on-hold' | 'completed') and (start.empty() or start <= %periodEnd)).where((achievementStatus.coding.where(system = 'http://terminology.hl7.org/CodeSystem/goal-achievement' and (code = 'achieved' or code = 'sustaining')).exists()).not() and ((achievementStatus.coding.where(system = 'http://terminology.hl7.org/CodeSystem/goal-achievement' and (code = 'not-achieved' or code = 'not-attainable')).exists() or lifecycleStatus = 'completed')).not())"
* group[=].stratifier[+].code = CMIndicator#life-domain
* group[=].stratifier[=].description = "Par domaine de vie (Goal.category)."
* group[=].stratifier[=].criteria.language = #text/fhirpath
* group[=].stratifier[=].criteria.expression = "Goal.category"

Instance: cm-ruptures
InstanceOf: Measure
Usage: #definition
Title: "Ruptures de parcours (Care pathway ruptures)"
* insert MeasureMetadata(cm-ruptures)
* subjectCodeableConcept = http://hl7.org/fhir/resource-types#EpisodeOfCare
* name = "CMRuptures"
* title = "Ruptures de parcours (Care pathway ruptures)"
* description = "Deux mesures de rupture. (1) Interruptions enregistrées : accompagnements dont l'historique des statuts (statusHistory) a une période au statut onhold qui commence pendant la période (R4 n'a pas de motif de fin d'accompagnement : une fin prévue et un perdu de vue ne se distinguent pas, seules les suspensions sont comptées comme événements). (2) Sans contact : personnes dont un accompagnement est en cours à la fin de la période (comme pour la file active) et dont le dernier contact (Encounter de la personne, statut ni planned ni cancelled ni entered-in-error, commencé au plus tard à periodEnd ; à défaut le début de l'accompagnement) date de plus de N jours à periodEnd (N : paramètre contactGapDays, par défaut le réglage contact_gap_days du serveur, 60). (3) Ruptures enregistrées : événements de rupture (Observation du profil cm-rupture : code de cm-rupture-kind, statut final, amended ou corrected) dont la date (effective, ou le début de sa période) est dans la période, alors qu'un accompagnement de la personne était en cours (commencé ce jour-là ou avant, pas terminé avant), par type de rupture et par case manager. Recorded interruptions, people without contact for more than N days, and recorded rupture events by kind."
* scoring = http://terminology.hl7.org/CodeSystem/measure-scoring#cohort
* improvementNotation = http://terminology.hl7.org/CodeSystem/measure-improvement-notation#decrease
* group[+].code = CMIndicator#interruption
* group[=].population[+].code = $measure-population#initial-population
* group[=].population[=].description = "Accompagnements suspendus (statusHistory onhold) pendant la période."
* group[=].population[=].criteria.language = #text/fhirpath
* group[=].population[=].criteria.expression = "EpisodeOfCare.where(statusHistory.where(status = 'onhold' and period.start >= %periodStart and period.start <= %periodEnd).exists())"
* group[=].stratifier[+].code = CMIndicator#case-manager
* group[=].stratifier[=].description = "Par case manager (EpisodeOfCare.careManager)."
* group[=].stratifier[=].criteria.language = #text/fhirpath
* group[=].stratifier[=].criteria.expression = "EpisodeOfCare.careManager"
* group[+].code = CMIndicator#contact-gap
* group[=].population[+].code = $measure-population#initial-population
* group[=].population[=].description = "Personnes en accompagnement à la fin de la période dont le dernier contact (Encounter ni planned ni cancelled ni entered-in-error, à défaut le début de l'accompagnement) date de plus de %contactGapDays jours à periodEnd ; l'expression sélectionne les accompagnements en cours, le dernier contact est cherché parmi les Encounter de la personne."
* group[=].population[=].criteria.language = #text/fhirpath
* group[=].population[=].criteria.expression = "EpisodeOfCare.where(status in ('active' | 'onhold' | 'finished') and period.start <= %periodEnd and (period.end.empty() or period.end >= %periodEnd))"
* group[=].stratifier[+].code = CMIndicator#case-manager
* group[=].stratifier[=].description = "Par case manager (EpisodeOfCare.careManager)."
* group[=].stratifier[=].criteria.language = #text/fhirpath
* group[=].stratifier[=].criteria.expression = "EpisodeOfCare.careManager"
* group[+].code = CMIndicator#rupture-event
* group[=].population[+].code = $measure-population#initial-population
* group[=].population[=].description = "Ruptures enregistrées (Observation cm-rupture, statut final, amended ou corrected) commencées pendant la période au cours d'un accompagnement de la personne."
* group[=].population[=].criteria.language = #text/fhirpath
* group[=].population[=].criteria.expression = "Observation.where(code.coding.where(system = 'https://interop.cm-sante-mentale.fr/fhir/CodeSystem/cm-rupture-kind').exists() and (status = 'final' or status = 'amended' or status = 'corrected') and (effective.ofType(dateTime) | effective.ofType(Period).start).first() >= %periodStart and (effective.ofType(dateTime) | effective.ofType(Period).start).first() <= %periodEnd)"
* group[=].stratifier[+].code = CMIndicator#rupture-kind
* group[=].stratifier[=].description = "Par type de rupture (Observation.code, cm-rupture-kind)."
* group[=].stratifier[=].criteria.language = #text/fhirpath
* group[=].stratifier[=].criteria.expression = "Observation.code"
* group[=].stratifier[+].code = CMIndicator#case-manager
* group[=].stratifier[=].description = "Par case manager de l'accompagnement en cours à la date de la rupture (une rupture pendant deux accompagnements compte dans les deux strates, une fois dans le total)."
* group[=].stratifier[=].criteria.language = #text/fhirpath
* group[=].stratifier[=].criteria.expression = "EpisodeOfCare.careManager"

Instance: cm-episode-outcomes
InstanceOf: Measure
Usage: #definition
Title: "Fins d'accompagnement par issue (Episodes ended by outcome)"
* insert MeasureMetadata(cm-episode-outcomes)
* subjectCodeableConcept = http://hl7.org/fhir/resource-types#EpisodeOfCare
* name = "CMEpisodeOutcomes"
* title = "Fins d'accompagnement par issue (Episodes ended by outcome)"
* description = "Accompagnements terminés (statut finished) dont la date de fin (period.end) est dans la période, par issue (extension cm-episode-outcome : objectifs atteints, relais, déménagement, arrêt à la demande de la personne, perdu de vue, décès, autre ; « aucun » quand l'issue n'est pas renseignée) et par case manager. Seuls comptent les accompagnements que l'appelant peut lire ; un accompagnement annulé (cancelled) n'a pas commencé et ne compte pas. Episodes of care finished in the period, by outcome and by case manager."
* scoring = http://terminology.hl7.org/CodeSystem/measure-scoring#cohort
* group[+].code = CMIndicator#episodes-ended
* group[=].population[+].code = $measure-population#initial-population
* group[=].population[=].description = "Accompagnements terminés dont la date de fin est dans la période."
* group[=].population[=].criteria.language = #text/fhirpath
* group[=].population[=].criteria.expression = "EpisodeOfCare.where(status = 'finished' and period.end >= %periodStart and period.end <= %periodEnd)"
* group[=].stratifier[+].code = CMIndicator#outcome
* group[=].stratifier[=].description = "Par issue (extension cm-episode-outcome)."
* group[=].stratifier[=].criteria.language = #text/fhirpath
* group[=].stratifier[=].criteria.expression = "EpisodeOfCare.extension.where(url = 'https://interop.cm-sante-mentale.fr/fhir/StructureDefinition/cm-episode-outcome').value"
* group[=].stratifier[+].code = CMIndicator#case-manager
* group[=].stratifier[=].description = "Par case manager (EpisodeOfCare.careManager)."
* group[=].stratifier[=].criteria.language = #text/fhirpath
* group[=].stratifier[=].criteria.expression = "EpisodeOfCare.careManager"

Instance: cm-hospitalisations
InstanceOf: Measure
Usage: #definition
Title: "Hospitalisations pendant l'accompagnement (Hospital stays during case management)"
* insert MeasureMetadata(cm-hospitalisations)
* subjectCodeableConcept = http://hl7.org/fhir/resource-types#Patient
* name = "CMHospitalisations"
* title = "Hospitalisations pendant l'accompagnement (Hospital stays during case management)"
* description = "Séjours hospitaliers commencés pendant la période alors qu'un accompagnement de la personne était en cours (commencé, pas encore terminé) : Encounter de classe IMP (hospitalisation), ACUTE ou NONAC (v3-ActCode), de statut ni planned ni cancelled ni entered-in-error, que l'appelant peut lire ; le nombre de séjours et le nombre de personnes hospitalisées. Là où les partenaires transmettent leurs séjours. Hospital stays that started in the period during an episode of care of the person; stays and people."
* scoring = http://terminology.hl7.org/CodeSystem/measure-scoring#cohort
* improvementNotation = http://terminology.hl7.org/CodeSystem/measure-improvement-notation#decrease
* group[+].code = CMIndicator#hospital-stays
* group[=].population[+].code = $measure-population#initial-population
* group[=].population[=].description = "Séjours hospitaliers commencés pendant la période au cours d'un accompagnement de la personne."
* group[=].population[=].criteria.language = #text/fhirpath
* group[=].population[=].criteria.expression = "Encounter.where(class.where(system = 'http://terminology.hl7.org/CodeSystem/v3-ActCode' and (code = 'IMP' or code = 'ACUTE' or code = 'NONAC')).exists() and (status = 'planned' or status = 'cancelled' or status = 'entered-in-error').not() and period.start >= %periodStart and period.start <= %periodEnd)"
* group[=].stratifier[+].code = CMIndicator#case-manager
* group[=].stratifier[=].description = "Par case manager de l'accompagnement en cours au début du séjour."
* group[=].stratifier[=].criteria.language = #text/fhirpath
* group[=].stratifier[=].criteria.expression = "EpisodeOfCare.careManager"
* group[+].code = CMIndicator#hospitalised-people
* group[=].population[+].code = $measure-population#initial-population
* group[=].population[=].description = "Personnes ayant au moins un tel séjour."
* group[=].population[=].criteria.language = #text/fhirpath
* group[=].population[=].criteria.expression = "Patient.where(%hospitalStays.subject.reference contains ('Patient/' + id))"
* group[=].stratifier[+].code = CMIndicator#case-manager
* group[=].stratifier[=].description = "Par case manager de l'accompagnement en cours au début du séjour."
* group[=].stratifier[=].criteria.language = #text/fhirpath
* group[=].stratifier[=].criteria.expression = "EpisodeOfCare.careManager"

Instance: cm-episodeofcare-interruption
InstanceOf: SearchParameter
Usage: #definition
Title: "Interruptions d'un accompagnement (EpisodeOfCare interruption)"
* insert SearchParameterMetadata(cm-episodeofcare-interruption)
* name = "Interruption"
* description = "Périodes où l'accompagnement a été suspendu (statusHistory au statut onhold) ; sert à l'indicateur de ruptures. Periods in which the episode of care was on hold."
* code = #interruption
* base = #EpisodeOfCare
* type = #date
* expression = "EpisodeOfCare.statusHistory.where(status = 'onhold').period"

Extension: CMReportStructure
Id: cm-report-structure
Title: "Structure ou territoire d'un rapport d'indicateur (Structure or territory of a measure report)"
Description: "La structure (ou le territoire : une Organization et celles qui lui sont rattachées par partOf) dont un rapport d'indicateur compte les accompagnements. R4 MeasureReport.subject n'accepte pas Organization. The structure or territory whose episodes a MeasureReport counts; R4 MeasureReport.subject does not allow Organization."
* insert ConformanceMetadata
* ^context[+].type = #element
* ^context[=].expression = "MeasureReport"
* . ^short = "Structure ou territoire | Structure or territory"
* value[x] only Reference(Organization)
