// The accompaniment, its team, plan and goals, the referral, the functional review.

Profile: CMEpisodeOfCare
Parent: EpisodeOfCare
Id: cm-episode-of-care
Title: "Accompagnement (Case-management episode)"
Description: "Un accompagnement de case management, de l'orientation (waitlist / planned) à la fin d'accompagnement (finished) : programme, modèle(s), historique des statuts, case manager, équipe, structure pivot, orientation. A case-management accompaniment, from referral to closure."
* insert ConformanceMetadata
* obeys cm-ep-1 and cm-ep-2
* extension contains CMCaseManagementModelExtension named model 0..* MS
* extension contains CMEpisodeOutcomeExtension named outcome 0..1 MS
* extension[outcome] ^short = "Issue de l'accompagnement, quand il est terminé | Episode outcome"
* identifier 1..* MS
* identifier ^short = "Identifiant de l'accompagnement dans la structure | Business identifier"
* status MS
* status ^short = "waitlist | planned (orientation reçue) | active | onhold | finished (fin d'accompagnement) | cancelled | entered-in-error"
* statusHistory MS
* type 1..* MS
* type from CMProgrammeVS (extensible)
* type ^short = "Programme d'accompagnement | Programme"
* diagnosis ^comment = "Facultatif : l'accompagnement peut commencer avant tout diagnostic. Optional: care may start before any diagnosis."
* patient MS
* patient only Reference(CMPatient)
* managingOrganization 1..1 MS
* managingOrganization only Reference(CMOrganization)
* managingOrganization ^short = "Structure pivot qui porte l'accompagnement | Pivot structure"
* period MS
* period.start MS
* period.end MS
* referralRequest MS
* referralRequest only Reference(CMServiceRequest)
* careManager MS
* careManager only Reference(CMPractitioner)
* careManager ^short = "Case manager (R4 : Practitioner seulement ; sa structure est dans l'équipe) | Case manager"
* careManager ^comment = "R4 limits careManager to Practitioner (and the standard care-manager search parameter resolves to Practitioner). The same person appears in the CareTeam as the participant with function case-manager, through a PractitionerRole that carries the structure."
* team MS
* team only Reference(CMCareTeam)

Profile: CMCareTeam
Parent: CareTeam
Id: cm-care-team
Title: "Équipe d'accompagnement (Care team)"
Description: "L'équipe pluridisciplinaire et le réseau d'intervenants d'un accompagnement, la personne et son entourage compris ; un et un seul case manager en fonction. Aligné sur ANS Cercle de Soins / IHE DCTM. The multidisciplinary team of an accompaniment, with exactly one current case manager."
* insert ConformanceMetadata
* obeys cm-team-1 and cm-team-2
* ^purpose = "Une équipe est rattachée à son accompagnement par EpisodeOfCare.team (élément R4), pas par l'extension workflow-episodeOfCare : le paquet d'extensions HL7 actuel (hl7.fhir.uv.extensions.r4 5.x) ne l'autorise plus sur CareTeam. A team is linked to its episode by EpisodeOfCare.team; the current HL7 extensions package no longer allows workflow-episodeOfCare on CareTeam."
* identifier MS
* status 1..1 MS
* name MS
* subject 1..1 MS
* subject only Reference(CMPatient)
* period MS
* category MS
* category ^short = "Modèle de la référence (cm-referral-model : interne | externe) | Referral model"
* category ^comment = "The seeds' two models of the référence: interne (the case manager belongs to the care team of the structure) or externe (an external coordinator follows, regulates and relays). R4 CareTeam.category types the team; other categories (e.g. LOINC care team categories) may sit beside it."
* participant 1..* MS
* participant.role 1..* MS
* participant.role from CMTeamFunctionVS (extensible)
* participant.role ^short = "Fonction dans l'équipe (cm-team-function ; 'other' + texte) | Team function"
* participant.member 1..1 MS
* participant.member only Reference(CMPractitionerRole or CMRelatedPerson or CMPatient or CMOrganization)
* participant.member ^short = "PractitionerRole (professionnel et sa structure), RelatedPerson, Patient ou Organization"
* participant.onBehalfOf 0..0
* participant.onBehalfOf ^comment = "Not used: members are PractitionerRole resources, which carry the structure (R4 ctm-1 allows onBehalfOf only with a Practitioner member)."
* participant.period 1..1 MS
* participant.period.start 1..1 MS
* participant.period.end MS
* managingOrganization MS
* managingOrganization only Reference(CMOrganization)
* note MS

Profile: CMCarePlan
Parent: CarePlan
Id: cm-care-plan
Title: "Projet personnalisé (Personal care and life plan)"
Description: "Le projet personnalisé (projet de soins et de vie, PPCS) co-construit avec la personne : titre et description en mots simples, la personne contributrice et son accord, lien à l'accompagnement, objectifs, équipe, actions rattachées à un pilier, bilan fonctionnel en information support. Une révision est une nouvelle version ; un projet qui en remplace un autre utilise `replaces`. The personal plan co-constructed with the person."
* insert ConformanceMetadata
* obeys cm-cp-1 and cm-cp-2
* extension contains
    $workflow-episodeOfCare named episodeOfCare 1..1 MS and
    CMPersonAgreementExtension named personAgreement 0..1 MS
* extension[episodeOfCare] ^short = "Accompagnement du projet | Episode of care"
* extension[episodeOfCare].valueReference only Reference(CMEpisodeOfCare)
* extension[personAgreement] ^short = "Accord de la personne | Agreement of the person"
* extension[personAgreement] ^comment = "extension[date] is the date the person agreed (or not) to the plan; the case file's plan.agreedOn, which defaults to the plan's created date."
* identifier 1..* MS
* replaces MS
* replaces only Reference(CMCarePlan)
* replaces ^comment = "A plan that supersedes another one uses replaces (basedOn means 'fulfils'). Revisions of the same plan are versions of the resource."
* status MS
* intent = #plan
* intent MS
* category 1..* MS
* category from CMPlanTypeVS (extensible)
* title 1..1 MS
* title ^short = "Titre en mots simples | Plain-language title"
* description MS
* description ^short = "Description dans les mots de la personne | Description in the person's words"
* subject MS
* subject only Reference(CMPatient)
* period MS
* created MS
* author 1..1 MS
* author only Reference(CMPractitionerRole or CMPractitioner)
* author ^short = "Auteur : le case manager | Author: the case manager"
* contributor MS
* contributor only Reference(CMPatient or CMPractitionerRole or CMPractitioner or CMRelatedPerson)
* contributor ^short = "Contributeurs, dont la personne (co-construction) | Contributors, including the person"
* careTeam MS
* careTeam only Reference(CMCareTeam)
* supportingInfo MS
* supportingInfo ^short = "Bilan fonctionnel (QuestionnaireResponse) | Functional review"
* goal MS
* goal only Reference(CMGoal)
* activity MS
* activity.reference 0..0
* activity.detail 1..1 MS
* activity.detail.extension contains CMCarePillarExtension named pillar 1..1 MS
* activity.detail.status MS
* activity.detail.description 1..1 MS
* activity.detail.description ^short = "L'action en mots simples | The action in plain words"
* activity.detail.goal MS
* activity.detail.goal only Reference(CMGoal)
* activity.detail.performer MS
* activity.detail.performer only Reference(CMPractitionerRole or CMRelatedPerson or CMPatient or CMOrganization or CMCareTeam)
* activity.detail.scheduled[x] MS
* activity.detail.scheduled[x] ^short = "Quand : une date ou une période (scheduledPeriod), ou un texte (scheduledString, « tous les mardis ») | When"
* activity.detail.location MS
* activity.detail.location ^short = "Lieu d'intervention : Location contenue de mode kind, Location.type de CMInterventionPlaceVS | Place of the action"
* activity.detail.location ^comment = "The kind of place (home visit, school, workplace, café…) is a contained Location with mode = kind (R4: 'a class of locations') whose type carries a cm-intervention-place code and its HL7 v3 ServiceDeliveryLocationRoleType equivalent (ConceptMap cm-intervention-place-to-v3); a named place of the directory may be referenced instead."
* note MS

Profile: CMGoal
Parent: Goal
Id: cm-goal
Title: "Objectif (Goal)"
Description: "Un objectif du projet personnalisé, dans un domaine de vie, formulé dans les mots de la personne, avec qui l'a exprimé et l'accord de la personne (extension core goal-acceptance). Un objectif n'a pas de lien vers son projet : c'est CarePlan.goal qui le référence. A goal of the personal plan, in a life domain, in the person's words."
* insert ConformanceMetadata
* obeys cm-goal-1 and cm-goal-2
* extension contains $goal-acceptance named acceptance 0..* MS
* extension[acceptance] ^short = "Accord de la personne (individual = la personne) | Agreement of the person"
* identifier 1..* MS
* lifecycleStatus MS
* achievementStatus MS
* category 1..1 MS
* category from CMLifeDomainVS (required)
* category ^short = "Domaine de vie | Life domain"
* priority MS
* description MS
* description.text 1..1 MS
* description ^short = "L'objectif dans les mots de la personne (description.text) | The goal in the person's words"
* subject MS
* subject only Reference(CMPatient)
* start[x] only date
* start[x] MS
* target MS
* target.due[x] only date
* target.due[x] MS
* statusDate MS
* expressedBy 1..1 MS
* expressedBy only Reference(CMPatient or CMPractitionerRole or CMPractitioner or CMRelatedPerson)
* expressedBy ^short = "Qui a exprimé l'objectif (la personne, le plus souvent) | Who expressed the goal"
* note MS

Profile: CMServiceRequest
Parent: ServiceRequest
Id: cm-referral
Title: "Orientation (Referral to case management)"
Description: "La demande d'accompagnement (orientation) : qui l'a demandée (médecin, autre intervenant, proche ou la personne elle-même) et pourquoi. The referral to case management: who asked and why."
* insert ConformanceMetadata
* extension contains $workflow-episodeOfCare named episodeOfCare 0..1 MS
* extension[episodeOfCare].valueReference only Reference(CMEpisodeOfCare)
* identifier MS
* status MS
* intent MS
* code 1..1 MS
* code from CMServiceTypeVS (extensible)
* subject MS
* subject only Reference(CMPatient)
* authoredOn 1..1 MS
* requester 1..1 MS
* requester only Reference(CMPatient or CMPractitionerRole or CMPractitioner or CMRelatedPerson or CMOrganization)
* requester ^short = "Qui demande : médecin, intervenant, proche ou la personne | Who asks"
* performer MS
* performer only Reference(CMOrganization or CMPractitionerRole or CMCareTeam)
* reasonCode 1..* MS
* reasonCode ^short = "Motif de l'orientation (texte, et code si disponible) | Reason"
* note MS

Profile: CMFunctionalReviewResponse
Parent: QuestionnaireResponse
Id: cm-functional-review
Title: "Bilan fonctionnel (Functional review)"
Description: "Le bilan fonctionnel de la vie quotidienne, par domaine de vie : ce qui fonctionne, ce qui bloque, ce que la personne souhaite améliorer, ce qui la freine, ce qui la motive — dans ses mots. Réponse au Questionnaire cm-bilan-fonctionnel. The functional review, per life domain, in the person's words."
* insert ConformanceMetadata
* extension contains $workflow-episodeOfCare named episodeOfCare 0..1 MS
* extension[episodeOfCare].valueReference only Reference(CMEpisodeOfCare)
* identifier MS
* questionnaire 1..1 MS
* questionnaire = "https://interop.cm-sante-mentale.fr/fhir/Questionnaire/cm-bilan-fonctionnel" (exactly)
* status MS
* subject 1..1 MS
* subject only Reference(CMPatient)
* authored 1..1 MS
* author MS
* author only Reference(CMPractitionerRole or CMPractitioner or CMPatient)
* source MS
* item 1..* MS

Profile: CMConsent
Parent: Consent
Id: cm-consent
Title: "Consentement au partage (Consent to share)"
Description: "Le consentement de la personne au partage de son projet, de son équipe et de son accompagnement entre les structures désignées (une provision.actor par structure). Il pilote le contrôle d'accès du service. The person's consent to share the plan between the structures listed, one provision actor per structure."
* insert ConformanceMetadata
* status MS
* scope = $consentscope#patient-privacy
* scope MS
* category 1..* MS
* category ^slicing.discriminator.type = #pattern
* category ^slicing.discriminator.path = "$this"
* category ^slicing.rules = #open
* category contains sharing 1..1 MS and patientConsent 0..1
* category[sharing] = CMConsentCategory#shared-care-plan
* category[patientConsent] = $loinc#59284-0
* category[patientConsent] ^short = "LOINC 59284-0 Patient Consent (comme Gravity SDOH) | as in Gravity SDOH"
* patient 1..1 MS
* patient only Reference(CMPatient)
* dateTime 1..1 MS
* performer MS
* performer only Reference(CMPatient or CMRelatedPerson)
* performer ^short = "Qui a donné le consentement : la personne ou son représentant | Who consented"
* organization 1..* MS
* organization only Reference(CMOrganization)
* organization ^short = "Structure qui recueille et gère le consentement | Custodian structure"
* policyRule 1..1 MS
* policyRule ^short = "Règle de consentement (ppc-1), ex. v3-ActCode#OPTIN | Policy rule"
* provision 1..1 MS
* provision.type 1..1 MS
* provision.type = #permit
* provision.period MS
* provision.actor 1..* MS
* provision.actor ^short = "Une entrée par structure autorisée | One entry per structure allowed"
* provision.actor.role = $v3-ParticipationType#IRCP
* provision.actor.reference only Reference(CMOrganization)
* provision.purpose MS
* provision.data MS

Profile: CMProvenance
Parent: Provenance
Id: cm-provenance
Title: "Traçabilité d'une écriture (Provenance)"
Description: "Qui a écrit quoi, pour quelle structure, à partir de quelle source (par exemple un fichier d'accompagnement importé). Who wrote what, on behalf of which structure, from which source."
* insert ConformanceMetadata
* target MS
* occurred[x] MS
* recorded MS
* activity MS
* agent MS
* agent.type MS
* agent.who MS
* agent.who only Reference(CMPractitionerRole or CMPractitioner or CMOrganization or CMPatient or Device)
* agent.onBehalfOf MS
* agent.onBehalfOf only Reference(CMOrganization)
* agent.onBehalfOf ^short = "Structure pour laquelle l'agent agit | Structure the agent acts for"
* entity MS
* entity.role MS
* entity.what MS
