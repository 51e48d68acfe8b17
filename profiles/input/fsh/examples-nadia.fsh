// Scenario "Nadia" (shared/casefile/examples/nadia-coordination-dac.json): coordination of a
// complex pathway by a DAC after a hospital stay. The resources are inline: they exist only
// as entries of the transaction Bundle nadia-transaction. No INS (identity not qualified).

Instance: org-dac
InstanceOf: CMOrganization
Usage: #inline
* insert LocalId(https://ids.exemple-dac-rhone.fr/parcours, S-DAC)
* identifier[1].system = $finess
* identifier[1].type = $fr-core-cs-v2-0203#FINEG
* identifier[1].value = "690000017"
* active = true
* type = $TRE-R66#606 "Dispositif d'appui à la coordination (DAC)"
* name = "DAC exemple Rhône"

Instance: org-cmp-vaulx
InstanceOf: CMOrganization
Usage: #inline
* insert LocalId(https://ids.exemple-dac-rhone.fr/parcours, S-CMP)
* identifier[1].system = $finess
* identifier[1].type = $fr-core-cs-v2-0203#FINEG
* identifier[1].value = "690000025"
* active = true
* type = $TRE-R66#156 "Centre Médico-Psychologique (C.M.P.)"
* name = "CMP Vaulx-en-Velin (exemple)"

Instance: org-samsah
InstanceOf: CMOrganization
Usage: #inline
* insert LocalId(https://ids.exemple-dac-rhone.fr/parcours, S-SAMSAH)
* identifier[1].system = $finess
* identifier[1].type = $fr-core-cs-v2-0203#FINEG
* identifier[1].value = "690000033"
* active = true
* type = $TRE-R66#445 "Service d'accompagnement médico-social adultes handicapés (SAMSAH)"
* name = "SAMSAH exemple"

Instance: org-ml
InstanceOf: CMOrganization
Usage: #inline
* insert LocalId(https://ids.exemple-dac-rhone.fr/parcours, S-ML)
* identifier[1].system = $siret
* identifier[1].type = $fr-core-cs-v2-0203#SIRET
* identifier[1].value = "12345678900017"
* active = true
* name = "Mission locale (exemple)"

Instance: pract-roux
InstanceOf: CMPractitioner
Usage: #inline
* insert LocalId(https://ids.exemple-dac-rhone.fr/parcours, P-10)
* name.family = "Roux"
* name.given = "Amandine"

Instance: pract-petit
InstanceOf: CMPractitioner
Usage: #inline
* insert LocalId(https://ids.exemple-dac-rhone.fr/parcours, P-11)
* identifier[1].system = $rpps
* identifier[1].type = $fr-core-cs-v2-0203#RPPS
* identifier[1].value = "10000000011"
* name.family = "Petit"
* name.given = "Marc"

Instance: pract-garcia
InstanceOf: CMPractitioner
Usage: #inline
* insert LocalId(https://ids.exemple-dac-rhone.fr/parcours, P-12)
* name.family = "Garcia"
* name.given = "Inès"

Instance: pract-lambert
InstanceOf: CMPractitioner
Usage: #inline
* insert LocalId(https://ids.exemple-dac-rhone.fr/parcours, P-13)
* name.family = "Lambert"
* name.given = "Hugo"

Instance: role-roux
InstanceOf: CMPractitionerRole
Usage: #inline
* active = true
* practitioner = Reference(pract-roux)
* organization = Reference(org-dac)
* code = $TRE-R94#41 "Assistant de service social"

Instance: role-petit
InstanceOf: CMPractitionerRole
Usage: #inline
* active = true
* practitioner = Reference(pract-petit)
* organization = Reference(org-cmp-vaulx)
* code = $TRE-G15#69 "Infirmier psychiatrique"

Instance: role-garcia
InstanceOf: CMPractitionerRole
Usage: #inline
* active = true
* practitioner = Reference(pract-garcia)
* organization = Reference(org-samsah)
* code = $TRE-R85#326 "Educateur spécialisé"

Instance: role-lambert
InstanceOf: CMPractitionerRole
Usage: #inline
* active = true
* practitioner = Reference(pract-lambert)
* organization = Reference(org-samsah)
* code = $TRE-R243#08 "Intervenant pair (médiateur, pair-aidant)"

Instance: nadia-patient
InstanceOf: CMPatient
Usage: #inline
* identifier[0].system = "https://ids.exemple-dac-rhone.fr/parcours"
* identifier[0].type = $v2-0203#PI
* identifier[0].value = "DAC-88213"
* name.use = #usual
* name.family = "Benali"
* name.given = "Nadia"
* gender = #female
* birthDate = "1987-09-30"
* address.city = "Vaulx-en-Velin"
* address.postalCode = "69120"
* address.country = "FR"

Instance: nadia-karim
InstanceOf: CMRelatedPerson
Usage: #inline
* insert LocalId(https://ids.exemple-dac-rhone.fr/parcours, RP-7)
* active = true
* patient = Reference(nadia-patient)
* relationship[0] = $TRE-R260#ECON "personne à prévenir en cas d'urgence"
* relationship[1] = $v3-RoleCode#BRO "brother"
* name.family = "Benali"
* name.given = "Karim"

Instance: nadia-referral
InstanceOf: CMServiceRequest
Usage: #inline
* extension[episodeOfCare].valueReference = Reference(nadia-episode)
* status = #completed
* intent = #order
* code = CMServiceType#accompagnement-case-management
* subject = Reference(nadia-patient)
* authoredOn = "2026-03-02"
* requester = Reference(nadia-patient)
* performer = Reference(org-dac)
* reasonCode.text = "Sortie d'hospitalisation, ruptures de suivi répétées"

Instance: nadia-episode
InstanceOf: CMEpisodeOfCare
Usage: #inline
* extension[model][0].valueCodeableConcept = CMCaseManagementModel#courtage
* extension[model][1].valueCodeableConcept = CMCaseManagementModel#readaptation
* insert LocalId(https://ids.exemple-dac-rhone.fr/parcours, DAC-EP-5521)
* status = #active
* statusHistory[0].status = #planned
* statusHistory[0].period.start = "2026-03-02"
* statusHistory[0].period.end = "2026-03-09"
* statusHistory[1].status = #active
* statusHistory[1].period.start = "2026-03-09"
* type = CMProgramme#coordination-parcours-complexe
* patient = Reference(nadia-patient)
* managingOrganization = Reference(org-dac)
* period.start = "2026-03-09"
* referralRequest = Reference(nadia-referral)
* careManager = Reference(pract-roux)
* team = Reference(nadia-careteam)

Instance: nadia-careteam
InstanceOf: CMCareTeam
Usage: #inline
* insert LocalId(https://ids.exemple-dac-rhone.fr/parcours, DAC-EP-5521-equipe)
* status = #active
* name = "Équipe de coordination du parcours de Nadia Benali"
* subject = Reference(nadia-patient)
* period.start = "2026-03-09"
* insert Participant(case-manager, role-roux, 2026-03-09)
* insert Participant(infirmier, role-petit, 2026-03-09)
* insert Participant(educateur, role-garcia, 2026-04-01)
* insert Participant(pair-aidant, role-lambert, 2026-04-01)
* insert Participant(personne-accompagnee, nadia-patient, 2026-03-09)
* managingOrganization = Reference(org-dac)

Instance: nadia-goal-1
InstanceOf: CMGoal
Usage: #inline
* insert GoalAcceptedByPerson(nadia-patient)
* insert LocalId(https://ids.exemple-dac-rhone.fr/parcours, O-1)
* lifecycleStatus = #active
* achievementStatus = $goal-achievement#in-progress "In Progress"
* category = CMLifeDomain#logement
* priority = $goal-priority#high-priority "High Priority"
* description.text = "Garder mon appartement"
* subject = Reference(nadia-patient)
* startDate = "2026-03-20"
* expressedBy = Reference(nadia-patient)

Instance: nadia-goal-2
InstanceOf: CMGoal
Usage: #inline
* insert GoalAcceptedByPerson(nadia-patient)
* insert LocalId(https://ids.exemple-dac-rhone.fr/parcours, O-2)
* lifecycleStatus = #active
* achievementStatus = $goal-achievement#improving "Improving"
* category = CMLifeDomain#sante
* priority = $goal-priority#high-priority "High Priority"
* description.text = "Aller à mes rendez-vous au CMP une fois par mois"
* subject = Reference(nadia-patient)
* startDate = "2026-03-20"
* expressedBy = Reference(nadia-patient)

Instance: nadia-goal-3
InstanceOf: CMGoal
Usage: #inline
* insert GoalAcceptedByPerson(nadia-patient)
* insert LocalId(https://ids.exemple-dac-rhone.fr/parcours, O-3)
* lifecycleStatus = #accepted
* category = CMLifeDomain#emploi
* priority = $goal-priority#medium-priority "Medium Priority"
* description.text = "Rencontrer la mission locale pour une formation"
* subject = Reference(nadia-patient)
* startDate = "2026-05-01"
* target.dueDate = "2026-10-31"
* expressedBy = Reference(role-roux)

Instance: nadia-goal-4
InstanceOf: CMGoal
Usage: #inline
* insert GoalAcceptedByPerson(nadia-patient)
* insert LocalId(https://ids.exemple-dac-rhone.fr/parcours, O-4)
* lifecycleStatus = #completed
* achievementStatus = $goal-achievement#achieved "Achieved"
* category = CMLifeDomain#droits-demarches
* priority = $goal-priority#medium-priority "Medium Priority"
* description.text = "Renouveler mon dossier MDPH"
* subject = Reference(nadia-patient)
* startDate = "2026-03-20"
* target.dueDate = "2026-05-15"
* expressedBy = Reference(nadia-patient)

Instance: nadia-careplan
InstanceOf: CMCarePlan
Usage: #inline
* extension[episodeOfCare].valueReference = Reference(nadia-episode)
* extension[personAgreement].extension[status].valueCode = #agree
* extension[personAgreement].extension[date].valueDateTime = "2026-03-20"
* insert LocalId(https://ids.exemple-dac-rhone.fr/parcours, PPCS-5521)
* status = #active
* intent = #plan
* category = CMPlanType#ppcs
* title = "Plan personnalisé de coordination"
* description = "Stabiliser le logement, garder le lien avec le CMP, préparer un retour vers l'emploi."
* subject = Reference(nadia-patient)
* period.start = "2026-03-20"
* created = "2026-03-20"
* author = Reference(role-roux)
* contributor[0] = Reference(nadia-patient)
* contributor[1] = Reference(role-roux)
* careTeam = Reference(nadia-careteam)
* goal[0] = Reference(nadia-goal-1)
* goal[1] = Reference(nadia-goal-2)
* goal[2] = Reference(nadia-goal-3)
* goal[3] = Reference(nadia-goal-4)
* insert Action(AC-1, soutien, Visite à domicile avec le SAMSAH pour l'organisation du budget, in-progress, role-garcia, 2026-04-10, nadia-goal-1)
* insert Action(AC-2, medicaments, Rappel SMS la veille de chaque rendez-vous CMP, in-progress, role-petit, 2026-03-25, nadia-goal-2)
* insert Action(AC-3, soutien, Premier rendez-vous à la mission locale\, accompagnée par le pair-aidant, scheduled, role-lambert, 2026-06-04, nadia-goal-3)
* insert Action(AC-4, soutien, Constitution du dossier MDPH, completed, role-roux, 2026-04-02, nadia-goal-4)

Instance: nadia-consent
InstanceOf: CMConsent
Usage: #inline
* insert LocalId(https://ids.exemple-dac-rhone.fr/parcours, CS-1)
* status = #active
* category[sharing] = CMConsentCategory#shared-care-plan
* patient = Reference(nadia-patient)
* dateTime = "2026-03-20"
* performer = Reference(nadia-patient)
* organization = Reference(org-dac)
* policyRule = $v3-ActCode#OPTIN "opt-in"
* provision.type = #permit
* provision.period.start = "2026-03-20"
* insert ConsentActor(org-dac)
* insert ConsentActor(org-cmp-vaulx)
* insert ConsentActor(org-samsah)
* provision.purpose = $v3-ActReason#COC "coordination of care"

Instance: nadia-provenance
InstanceOf: CMProvenance
Usage: #inline
* target[0] = Reference(nadia-careplan)
* target[1] = Reference(nadia-episode)
* target[2] = Reference(nadia-careteam)
* recorded = "2026-05-18T16:05:00+02:00"
* activity = $v3-DataOperation#CREATE "create"
* agent.type = $provenance-participant-type#author "Author"
* agent.who = Reference(role-roux)
* agent.onBehalfOf = Reference(org-dac)
* entity.role = #source
* entity.what.identifier.system = "https://ids.exemple-dac-rhone.fr/parcours"
* entity.what.identifier.value = "casefile-2026-05-18T16:05:00+02:00"
* entity.what.display = "Dossier d'accompagnement (case file v1) exporté par le DAC exemple Rhône"

Instance: nadia-transaction
InstanceOf: Bundle
Usage: #example
Title: "Scénario Nadia : transaction complète"
Description: "Le dossier de coordination de Nadia (DAC) comme transaction FHIR (PUT avec ids : rejouer la transaction ne crée rien de nouveau). Nadia's case file as a transaction Bundle."
* type = #transaction
* insert PutEntry(13fa8bc2-3c79-5da2-b0d4-fbe403513729, Organization, org-dac)
* insert PutEntry(90d195d7-d69b-5b2a-9a9d-b2cffbfdf84d, Organization, org-cmp-vaulx)
* insert PutEntry(cd699d16-151b-5a07-b616-0d80d31e0d81, Organization, org-samsah)
* insert PutEntry(215de2cb-cfe7-5a5e-8140-b50aa40d7bae, Organization, org-ml)
* insert PutEntry(fb20762b-fb20-5d98-ac75-8736edc02749, Practitioner, pract-roux)
* insert PutEntry(c2c27b6b-2f06-5935-a900-952dc39c55ed, Practitioner, pract-petit)
* insert PutEntry(b68453a7-48cc-5809-bbf1-124d4ac206b8, Practitioner, pract-garcia)
* insert PutEntry(586bb2aa-f734-5042-980d-6c13c9cebb4e, Practitioner, pract-lambert)
* insert PutEntry(71280e34-f3b4-5513-a43d-553fb9990129, PractitionerRole, role-roux)
* insert PutEntry(14f69a7f-c02a-5d27-8fb1-487fb6c83d54, PractitionerRole, role-petit)
* insert PutEntry(bf545e34-7dbb-5cb2-9081-9b04d53e6a52, PractitionerRole, role-garcia)
* insert PutEntry(15c6d640-ab5d-5e51-a453-5d9e6801cb72, PractitionerRole, role-lambert)
* insert PutEntry(48269a61-d31b-52c5-a10b-643794876506, Patient, nadia-patient)
* insert PutEntry(8240b954-1c83-5ee4-9419-3b9c3e952fb3, RelatedPerson, nadia-karim)
* insert PutEntry(cb7ead63-c1d1-5716-81ab-1c6ee0ab3142, ServiceRequest, nadia-referral)
* insert PutEntry(42a536c1-6495-5328-84ab-696ae51f8a3a, EpisodeOfCare, nadia-episode)
* insert PutEntry(1df7ae77-7eca-55f9-a730-c0417a0666f0, CareTeam, nadia-careteam)
* insert PutEntry(b185a131-4e4f-595f-8143-1644e4d1f3f1, Goal, nadia-goal-1)
* insert PutEntry(31ee5ef3-6e73-5f16-994b-408a7b6ee354, Goal, nadia-goal-2)
* insert PutEntry(f18d3d8b-959a-5df9-bbd2-1741bc09bd6c, Goal, nadia-goal-3)
* insert PutEntry(9c440d60-e531-5226-83bd-d97f22bd3ea5, Goal, nadia-goal-4)
* insert PutEntry(608232b4-ed06-5122-ba05-567f81387952, CarePlan, nadia-careplan)
* insert PutEntry(f290c57f-5786-57a6-b6cf-60afc6aed90b, Consent, nadia-consent)
* insert PutEntry(1b4f588f-2191-5e9b-a8a4-5ad3df05138c, Provenance, nadia-provenance)
