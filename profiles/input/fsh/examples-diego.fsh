// Scenario "Diego" (shared/casefile/examples/diego-intervention-precoce.json): early
// intervention in a young adults' assessment centre. Every resource is a standalone example
// (one valid instance per profile) and an entry of the transaction Bundle diego-transaction.
// Test INS OID only (urn:oid:1.2.250.1.213.1.4.10), never a production one.


Instance: org-cjaad
InstanceOf: CMOrganization
Usage: #example
Title: "Centre d'évaluation jeunes adultes (exemple)"
* insert LocalId(https://ids.exemple-ghu-psy.fr/cjaad, S-CJAAD)
* identifier[1].system = $finess
* identifier[1].type = $fr-core-cs-v2-0203#FINEG
* identifier[1].value = "750000011"
* active = true
* type = $TRE-R66#292 "Centre Hospitalier Spécialisé lutte Maladies Mentales"
* name = "Centre d'évaluation jeunes adultes (exemple)"

Instance: org-cmp14
InstanceOf: CMOrganization
Usage: #example
Title: "CMP Paris 14 (exemple)"
* insert LocalId(https://ids.exemple-ghu-psy.fr/cjaad, S-CMP14)
* identifier[1].system = $finess
* identifier[1].type = $fr-core-cs-v2-0203#FINEG
* identifier[1].value = "750000029"
* active = true
* type = $TRE-R66#156 "Centre Médico-Psychologique (C.M.P.)"
* name = "CMP Paris 14 (exemple)"

Instance: org-univ
InstanceOf: CMOrganization
Usage: #example
Title: "Service handicap de l'université (exemple)"
* insert LocalId(https://ids.exemple-ghu-psy.fr/cjaad, S-UNIV)
* active = true
* name = "Service handicap de l'université (exemple)"

Instance: pract-durand
InstanceOf: CMPractitioner
Usage: #example
Title: "David Durand, infirmier case manager"
* insert LocalId(https://ids.exemple-ghu-psy.fr/cjaad, P-CM1)
* identifier[1].system = $rpps
* identifier[1].type = $fr-core-cs-v2-0203#RPPS
* identifier[1].value = "10000000001"
* name.family = "Durand"
* name.given = "David"

Instance: pract-lefebvre
InstanceOf: CMPractitioner
Usage: #example
Title: "Claire Lefebvre, psychiatre"
* insert LocalId(https://ids.exemple-ghu-psy.fr/cjaad, P-PSY1)
* identifier[1].system = $rpps
* identifier[1].type = $fr-core-cs-v2-0203#RPPS
* identifier[1].value = "10000000002"
* name.family = "Lefebvre"
* name.given = "Claire"

Instance: pract-nguyen
InstanceOf: CMPractitioner
Usage: #example
Title: "Lina Nguyen, psychologue"
* insert LocalId(https://ids.exemple-ghu-psy.fr/cjaad, P-PSYCHO1)
* identifier[1].system = $rpps
* identifier[1].type = $fr-core-cs-v2-0203#RPPS
* identifier[1].value = "10000000003"
* name.family = "Nguyen"
* name.given = "Lina"

Instance: pract-morel
InstanceOf: CMPractitioner
Usage: #example
Title: "Julie Morel, chargée d'accompagnement handicap"
* insert LocalId(https://ids.exemple-ghu-psy.fr/cjaad, P-UNIV1)
* name.family = "Morel"
* name.given = "Julie"

Instance: role-durand
InstanceOf: CMPractitionerRole
Usage: #example
Title: "David Durand au centre d'évaluation"
* active = true
* practitioner = Reference(pract-durand)
* organization = Reference(org-cjaad)
* code = $TRE-G15#60 "Infirmier"

Instance: role-lefebvre
InstanceOf: CMPractitionerRole
Usage: #example
Title: "Claire Lefebvre au centre d'évaluation"
* active = true
* practitioner = Reference(pract-lefebvre)
* organization = Reference(org-cjaad)
* code = $TRE-G15#10 "Médecin"
* specialty = $TRE-R38#SM42 "Psychiatrie (SM)"

Instance: role-nguyen
InstanceOf: CMPractitionerRole
Usage: #example
Title: "Lina Nguyen au CMP Paris 14"
* active = true
* practitioner = Reference(pract-nguyen)
* organization = Reference(org-cmp14)
* code = $TRE-R95#93 "Psychologue"

Instance: role-morel
InstanceOf: CMPractitionerRole
Usage: #example
Title: "Julie Morel au service handicap de l'université"
* active = true
* practitioner = Reference(pract-morel)
* organization = Reference(org-univ)

Instance: diego-patient
InstanceOf: CMPatient
Usage: #example
Title: "Diego Martin"
* extension[identityReliability].extension[identityStatus].valueCoding = $fr-core-cs-v2-0445#QUAL "Identité qualifiée"
* extension[birthPlace].valueAddress.extension[0].url = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code"
* extension[birthPlace].valueAddress.extension[0].valueCoding = https://mos.esante.gouv.fr/NOS/TRE_R13-CommuneOM/FHIR/TRE-R13-CommuneOM#75114
* identifier[0].system = "https://ids.exemple-ghu-psy.fr/cjaad"
* identifier[0].type = $v2-0203#PI
* identifier[0].value = "IPP-204511"
* identifier[1].system = $ins-nir-test
* identifier[1].type = $fr-core-cs-v2-0203#INS-NIR
* identifier[1].value = "104037511445612"
* name[0].use = #usual
* name[0].family = "Martin"
* name[0].given = "Diego"
* name[1].use = #official
* name[1].family = "Martin"
* name[1].given = "Diego"
* telecom[0].system = #phone
* telecom[0].value = "+33600000001"
* telecom[1].system = #email
* telecom[1].value = "diego.martin@example.org"
* gender = #male
* birthDate = "2004-03-12"
* address.line = "12 rue de l'Exemple"
* address.city = "Paris"
* address.postalCode = "75014"
* address.country = "FR"

Instance: diego-sofia
InstanceOf: CMRelatedPerson
Usage: #example
Title: "Sofia Martin, sœur et aidante de Diego"
* insert LocalId(https://ids.exemple-ghu-psy.fr/cjaad, RP-1)
* active = true
* patient = Reference(diego-patient)
* relationship[0] = $TRE-R260#CAREGIVER "Aidant"
* relationship[1] = $v3-RoleCode#SIS "sister"
* name.family = "Martin"
* name.given = "Sofia"
* telecom.system = #phone
* telecom.value = "+33600000002"

Instance: diego-referral
InstanceOf: CMServiceRequest
Usage: #example
Title: "Orientation de Diego par sa psychiatre"
* extension[episodeOfCare].valueReference = Reference(diego-episode)
* status = #completed
* intent = #order
* code = CMServiceType#accompagnement-case-management
* subject = Reference(diego-patient)
* authoredOn = "2026-01-08"
* requester = Reference(role-lefebvre)
* performer = Reference(org-cjaad)
* reasonCode.text = "Difficultés psychiques débutantes, décrochage des études"

Instance: diego-episode
InstanceOf: CMEpisodeOfCare
Usage: #example
Title: "Accompagnement de Diego (intervention précoce)"
* insert LocalId(https://ids.exemple-ghu-psy.fr/cjaad, EP-2026-0042)
* extension[model][0].valueCodeableConcept = CMCaseManagementModel#clinique
* extension[model][1].valueCodeableConcept = CMCaseManagementModel#forces
* status = #active
* statusHistory[0].status = #planned
* statusHistory[0].period.start = "2026-01-08"
* statusHistory[0].period.end = "2026-01-12"
* statusHistory[1].status = #active
* statusHistory[1].period.start = "2026-01-12"
* type = CMProgramme#intervention-precoce
* patient = Reference(diego-patient)
* managingOrganization = Reference(org-cjaad)
* period.start = "2026-01-12"
* referralRequest = Reference(diego-referral)
* careManager = Reference(pract-durand)
* team = Reference(diego-careteam)

Instance: diego-careteam
InstanceOf: CMCareTeam
Usage: #example
Title: "Équipe d'accompagnement de Diego"
* insert LocalId(https://ids.exemple-ghu-psy.fr/cjaad, EP-2026-0042-equipe)
* status = #active
* name = "Équipe d'accompagnement de Diego Martin"
* subject = Reference(diego-patient)
* period.start = "2026-01-12"
* insert Participant(case-manager, role-durand, 2026-01-12)
* insert Participant(psychiatre, role-lefebvre, 2026-01-12)
* insert Participant(psychologue, role-nguyen, 2026-02-01)
* insert Participant(other, role-morel, 2026-02-15)
* participant[=].role.text = "Chargée d'accompagnement handicap, université"
* insert Participant(personne-accompagnee, diego-patient, 2026-01-12)
* insert Participant(aidant, diego-sofia, 2026-01-12)
* managingOrganization = Reference(org-cjaad)

Instance: diego-bilan
InstanceOf: CMFunctionalReviewResponse
Usage: #example
Title: "Bilan fonctionnel de Diego"
* extension[episodeOfCare].valueReference = Reference(diego-episode)
* questionnaire = "https://interop.cm-sante-mentale.fr/fhir/Questionnaire/cm-bilan-fonctionnel"
* status = #completed
* subject = Reference(diego-patient)
* authored = "2026-01-19"
* author = Reference(role-durand)
* source = Reference(diego-patient)
* insert ReviewDomain(scolarite-formation)
* insert ReviewAnswer(domain.works, J'aime mes cours de biologie)
* insert ReviewAnswer(domain.stuck, Je n'arrive plus à aller en cours depuis novembre)
* insert ReviewAnswer(domain.wish, Reprendre mes études en septembre)
* insert ReviewAnswer(domain.barriers, Fatigue\, peur du regard des autres)
* insert ReviewAnswer(domain.drivers, Mon projet de devenir technicien de laboratoire)
* insert ReviewDomain(hygiene-de-vie)
* insert ReviewAnswer(domain.works, Je fais du vélo)
* insert ReviewAnswer(domain.stuck, Je dors mal\, je me couche à 4h)
* insert ReviewAnswer(domain.wish, Retrouver un rythme de sommeil)
* insert ReviewAnswer(domain.barriers, Écrans la nuit)
* insert ReviewAnswer(domain.drivers, Me sentir moins fatigué)
* insert ReviewDomain(sante)
* insert ReviewAnswer(domain.works, Je prends mon traitement)
* insert ReviewAnswer(domain.stuck, Je ne comprends pas toujours à quoi il sert)
* insert ReviewAnswer(domain.wish, Mieux comprendre ma maladie et mon traitement)
* insert ReviewAnswer(domain.drivers, Ne plus être hospitalisé)
* insert ReviewDomain(vie-sociale)
* insert ReviewAnswer(domain.works, Ma sœur me soutient)
* insert ReviewAnswer(domain.stuck, J'ai perdu contact avec mes amis)
* insert ReviewAnswer(domain.wish, Revoir des amis)
* insert ReviewAnswer(domain.barriers, Je n'ose pas les appeler)
* insert ReviewAnswer(domain.drivers, Mon club de vélo)

Instance: diego-goal-1
InstanceOf: CMGoal
Usage: #example
Title: "Objectif G-1 de Diego : reprendre ses études"
* insert LocalId(https://ids.exemple-ghu-psy.fr/cjaad, G-1)
* insert GoalAcceptedByPerson(diego-patient)
* lifecycleStatus = #active
* achievementStatus = $goal-achievement#in-progress "In Progress"
* category = CMLifeDomain#scolarite-formation
* priority = $goal-priority#high-priority "High Priority"
* description.text = "Reprendre mes études en septembre avec un aménagement d'emploi du temps"
* subject = Reference(diego-patient)
* startDate = "2026-01-26"
* target.dueDate = "2026-09-01"
* expressedBy = Reference(diego-patient)

Instance: diego-goal-2
InstanceOf: CMGoal
Usage: #example
Title: "Objectif G-2 de Diego : rythme de sommeil"
* insert LocalId(https://ids.exemple-ghu-psy.fr/cjaad, G-2)
* insert GoalAcceptedByPerson(diego-patient)
* lifecycleStatus = #active
* achievementStatus = $goal-achievement#improving "Improving"
* category = CMLifeDomain#hygiene-de-vie
* priority = $goal-priority#medium-priority "Medium Priority"
* description.text = "Me coucher avant minuit cinq soirs par semaine"
* subject = Reference(diego-patient)
* startDate = "2026-01-26"
* target.dueDate = "2026-04-30"
* expressedBy = Reference(diego-patient)

Instance: diego-goal-3
InstanceOf: CMGoal
Usage: #example
Title: "Objectif G-3 de Diego : comprendre son traitement"
* insert LocalId(https://ids.exemple-ghu-psy.fr/cjaad, G-3)
* insert GoalAcceptedByPerson(diego-patient)
* lifecycleStatus = #active
* achievementStatus = $goal-achievement#in-progress "In Progress"
* category = CMLifeDomain#sante
* priority = $goal-priority#high-priority "High Priority"
* description.text = "Comprendre le rôle de mon traitement et savoir quoi faire en cas de signes d'alerte"
* subject = Reference(diego-patient)
* startDate = "2026-01-26"
* target.dueDate = "2026-03-31"
* expressedBy = Reference(diego-patient)

Instance: diego-goal-4
InstanceOf: CMGoal
Usage: #example
Title: "Objectif G-4 de Diego : revoir ses amis (proposé)"
* insert LocalId(https://ids.exemple-ghu-psy.fr/cjaad, G-4)
* lifecycleStatus = #proposed
* category = CMLifeDomain#vie-sociale
* priority = $goal-priority#low-priority "Low Priority"
* description.text = "Revoir un ami au moins une fois par mois"
* subject = Reference(diego-patient)
* startDate = "2026-02-15"
* target.dueDate = "2026-06-30"
* expressedBy = Reference(diego-patient)
* note.text = "Proposé par Diego lors du bilan, à reprendre en mars"

Instance: diego-careplan
InstanceOf: CMCarePlan
Usage: #example
Title: "Projet de soins et de vie de Diego"
* insert LocalId(https://ids.exemple-ghu-psy.fr/cjaad, PP-2026-0042)
* extension[episodeOfCare].valueReference = Reference(diego-episode)
* extension[personAgreement].extension[status].valueCode = #agree
* extension[personAgreement].extension[date].valueDateTime = "2026-01-26"
* status = #active
* intent = #plan
* category = CMPlanType#projet-soins-vie
* title = "Projet de soins et de vie de Diego"
* description = "Reprendre mes études à mon rythme, mieux dormir, comprendre mon traitement et retrouver mes amis."
* subject = Reference(diego-patient)
* period.start = "2026-01-26"
* period.end = "2026-09-30"
* created = "2026-01-26"
* author = Reference(role-durand)
* contributor[0] = Reference(diego-patient)
* contributor[1] = Reference(role-durand)
* careTeam = Reference(diego-careteam)
* supportingInfo = Reference(diego-bilan)
* goal[0] = Reference(diego-goal-1)
* goal[1] = Reference(diego-goal-2)
* goal[2] = Reference(diego-goal-3)
* goal[3] = Reference(diego-goal-4)
* insert Action(A-1, soutien, Rendez-vous avec le service handicap de l'université pour un aménagement d'emploi du temps, scheduled, role-morel, 2026-03-10, diego-goal-1)
* insert Action(A-2, hygiene-de-vie, Agenda du sommeil tenu pendant quatre semaines et revu en entretien, in-progress, role-durand, 2026-02-02, diego-goal-2)
* insert Action(A-3, medicaments, Séance d'éducation thérapeutique sur le traitement, completed, role-lefebvre, 2026-02-12, diego-goal-3)
* insert Action(A-4, strategies-psychologiques, Travail sur l'anxiété sociale en séances, not-started, role-nguyen, 2026-03-05, diego-goal-4)

Instance: diego-consent
InstanceOf: CMConsent
Usage: #example
Title: "Consentement de Diego au partage de son projet"
* insert LocalId(https://ids.exemple-ghu-psy.fr/cjaad, C-1)
* status = #active
* category[sharing] = CMConsentCategory#shared-care-plan
* category[patientConsent] = $loinc#59284-0 "Patient consent"
* patient = Reference(diego-patient)
* dateTime = "2026-01-26"
* performer = Reference(diego-patient)
* organization = Reference(org-cjaad)
* policyRule = $v3-ActCode#OPTIN "opt-in"
* provision.type = #permit
* provision.period.start = "2026-01-26"
* insert ConsentActor(org-cjaad)
* insert ConsentActor(org-cmp14)
* provision.purpose = $v3-ActReason#COC "coordination of care"
* provision.data.meaning = #related
* provision.data.reference = Reference(diego-careplan)

Instance: diego-provenance
InstanceOf: CMProvenance
Usage: #example
Title: "Import du dossier d'accompagnement de Diego"
* target[0] = Reference(diego-careplan)
* target[1] = Reference(diego-episode)
* target[2] = Reference(diego-careteam)
* recorded = "2026-03-02T09:30:00+01:00"
* activity = $v3-DataOperation#CREATE "create"
* agent.type = $provenance-participant-type#author "Author"
* agent.who = Reference(role-durand)
* agent.onBehalfOf = Reference(org-cjaad)
* entity.role = #source
* entity.what.identifier.system = "https://ids.exemple-ghu-psy.fr/cjaad"
* entity.what.identifier.value = "casefile-2026-03-02T09:30:00+01:00"
* entity.what.display = "Dossier d'accompagnement (case file v1) exporté par le centre d'évaluation jeunes adultes"

Instance: diego-transaction
InstanceOf: Bundle
Usage: #example
Title: "Scénario Diego : transaction complète"
Description: "Le dossier d'accompagnement de Diego comme transaction FHIR (PUT avec ids : rejouer la transaction ne crée rien de nouveau). Diego's case file as a transaction Bundle."
* type = #transaction
* insert PutEntry(5d5b36c9-d3c8-5fa1-9369-84be76063d78, Organization, org-cjaad)
* insert PutEntry(f11bc01c-36c8-5a02-bff5-3b77cca05d55, Organization, org-cmp14)
* insert PutEntry(508a4d58-545b-5b81-a71d-661a2b22f0f1, Organization, org-univ)
* insert PutEntry(3318779c-ff6d-56bb-8465-bbade1c3a125, Practitioner, pract-durand)
* insert PutEntry(b7b5e5ce-5552-5bbb-a0c7-e1f8cc49b6ce, Practitioner, pract-lefebvre)
* insert PutEntry(3ebb241e-3992-56d6-956b-357ed472ef96, Practitioner, pract-nguyen)
* insert PutEntry(93f89408-5a4a-542f-9592-a562ae397855, Practitioner, pract-morel)
* insert PutEntry(ea7b2fc9-3477-50d4-ba7f-35178026a187, PractitionerRole, role-durand)
* insert PutEntry(441a979a-bdcf-55fa-8cec-3bd6a757d838, PractitionerRole, role-lefebvre)
* insert PutEntry(afe333c6-44b7-598e-80e8-a1cbdbc0017c, PractitionerRole, role-nguyen)
* insert PutEntry(8de131bb-1d6e-59a2-8906-6c42baf5d44a, PractitionerRole, role-morel)
* insert PutEntry(7886bf9d-2600-596d-a3bf-c2b14378f0cb, Patient, diego-patient)
* insert PutEntry(13cc451e-a225-54e9-875f-be1bb41df2f2, RelatedPerson, diego-sofia)
* insert PutEntry(ade11ebd-2319-57bf-b801-fb3d351e3225, ServiceRequest, diego-referral)
* insert PutEntry(d6f0d02d-4bae-58c7-a40b-1899ddac230e, EpisodeOfCare, diego-episode)
* insert PutEntry(76aed08b-de96-5b36-a80d-1a424ece3b3e, CareTeam, diego-careteam)
* insert PutEntry(3ccb3d33-e49f-59ba-911f-17d6000b9744, QuestionnaireResponse, diego-bilan)
* insert PutEntry(196c5f2e-3064-5a37-b677-73f94d506ea9, Goal, diego-goal-1)
* insert PutEntry(b94efc1c-fa05-5570-add4-66870a770dcf, Goal, diego-goal-2)
* insert PutEntry(48f7781f-0177-578e-bd67-5f5c53b426b2, Goal, diego-goal-3)
* insert PutEntry(5f57cbfa-33fa-51bb-ba6f-d1b221e3d2d8, Goal, diego-goal-4)
* insert PutEntry(a5cce1fe-1f42-504e-85c8-7cf3d43f1c1c, CarePlan, diego-careplan)
* insert PutEntry(0c5cf6d6-388d-535f-ad21-4a8a14d97fd8, Consent, diego-consent)
* insert PutEntry(e54a3a5e-0c35-55e3-828d-10b09509b114, Provenance, diego-provenance)
