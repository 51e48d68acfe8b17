// Team functions <-> the roles of ANS Cercle de Soins (CareTeam.participant.role, ValueSet
// careteam-roles-vs: TRE_R260 HL7RoleClass and TRE_R259 PCP). Used by $convert
// (fhir_service/national/careteam.py); docs/national-guides.md.

Instance: cm-team-function-to-cds-role
InstanceOf: ConceptMap
Usage: #definition
Title: "Fonctions dans l'équipe → rôles Cercle de Soins (TRE_R260 / TRE_R259)"
* url = "https://interop.cm-sante-mentale.fr/fhir/ConceptMap/cm-team-function-to-cds-role"
* version = "0.1.0"
* name = "CMTeamFunctionToCDSRole"
* title = "Fonctions dans l'équipe → rôles Cercle de Soins / Team functions to Cercle de Soins roles"
* status = #draft
* experimental = false
* publisher = "Projet open source cm-fhir"
* jurisdiction = urn:iso:std:iso:3166#FR "France"
* description = "Rôles ANS (TRE_R260 HL7RoleClass, TRE_R259 HL7ParticipationFunction) ajoutés à la fonction dans l'équipe quand une équipe est transmise au format Cercle de Soins ; la fonction d'origine est conservée à côté. La personne accompagnée n'a pas de rôle : elle est le sujet du cercle de soins. Maps team functions to the ANS roles added when a team is sent as a Cercle de Soins CareTeam; the original function stays beside them."
* sourceCanonical = Canonical(CMTeamFunctionVS)
* targetCanonical = "https://interop.esante.gouv.fr/ig/fhir/cds/ValueSet/careteam-roles-vs"
* group[+].source = "https://interop.cm-sante-mentale.fr/fhir/CodeSystem/cm-team-function"
* group[=].target = "https://mos.esante.gouv.fr/NOS/TRE_R260-HL7RoleClass/FHIR/TRE-R260-HL7RoleClass"
* group[=].element[+].code = #aidant
* group[=].element[=].target[+].code = #CAREGIVER
* group[=].element[=].target[=].display = "Aidant"
* group[=].element[=].target[=].equivalence = #equivalent
* group[=].element[+].code = #psychiatre
* group[=].element[=].target[+].code = #PROV
* group[=].element[=].target[=].display = "Professionnel de santé"
* group[=].element[=].target[=].equivalence = #wider
* group[=].element[+].code = #psychologue
* group[=].element[=].target[+].code = #PROV
* group[=].element[=].target[=].display = "Professionnel de santé"
* group[=].element[=].target[=].equivalence = #wider
* group[=].element[+].code = #neuropsychologue
* group[=].element[=].target[+].code = #PROV
* group[=].element[=].target[=].display = "Professionnel de santé"
* group[=].element[=].target[=].equivalence = #wider
* group[=].element[+].code = #infirmier
* group[=].element[=].target[+].code = #PROV
* group[=].element[=].target[=].display = "Professionnel de santé"
* group[=].element[=].target[=].equivalence = #wider
* group[=].element[+].code = #ergotherapeute
* group[=].element[=].target[+].code = #PROV
* group[=].element[=].target[=].display = "Professionnel de santé"
* group[=].element[=].target[=].equivalence = #wider
* group[=].element[+].code = #medecin-generaliste
* group[=].element[=].target[+].code = #PROV
* group[=].element[=].target[=].display = "Professionnel de santé"
* group[=].element[=].target[=].equivalence = #wider
* group[=].element[+].code = #assistant-social
* group[=].element[=].target[+].code = #AGNT
* group[=].element[=].target[=].display = "Professionnel caractérisé par son rôle"
* group[=].element[=].target[=].equivalence = #wider
* group[=].element[+].code = #educateur
* group[=].element[=].target[+].code = #AGNT
* group[=].element[=].target[=].display = "Professionnel caractérisé par son rôle"
* group[=].element[=].target[=].equivalence = #wider
* group[=].element[+].code = #pair-aidant
* group[=].element[=].target[+].code = #AGNT
* group[=].element[=].target[=].display = "Professionnel caractérisé par son rôle"
* group[=].element[=].target[=].equivalence = #wider
* group[=].element[+].code = #personne-accompagnee
* group[=].element[=].target[+].equivalence = #unmatched
* group[=].element[=].target[=].comment = "La personne est le sujet du cercle de soins (CareTeam.subject), pas un membre. The person is the subject of the Cercle de Soins CareTeam, not a member."
* group[=].element[+].code = #other
* group[=].element[=].target[+].equivalence = #unmatched
* group[=].element[=].target[=].comment = "Fonction précisée en texte ; le texte est transmis tel quel. A function given as text, sent as is."
* group[+].source = "https://interop.cm-sante-mentale.fr/fhir/CodeSystem/cm-team-function"
* group[=].target = "https://mos.esante.gouv.fr/NOS/TRE_R259-HL7ParticipationFunction/FHIR/TRE-R259-HL7ParticipationFunction"
* group[=].element[+].code = #case-manager
* group[=].element[=].target[+].code = #ATTPHYS
* group[=].element[=].target[=].display = "Référent - Responsable du patient dans la structure de soins"
* group[=].element[=].target[=].equivalence = #relatedto
* group[=].element[=].target[=].comment = "Le case manager est le référent de parcours ; TRE_R259 n'a pas de code plus proche. The case manager is the pathway referent; TRE_R259 has no closer code."
* group[=].element[+].code = #medecin-generaliste
* group[=].element[=].target[+].code = #PCP
* group[=].element[=].target[=].display = "Médecin traitant"
* group[=].element[=].target[=].equivalence = #relatedto
* group[=].element[=].target[=].comment = "Le médecin généraliste de l'équipe est le plus souvent le médecin traitant. The team's GP is most often the declared médecin traitant."

Instance: cm-cds-role-to-team-function
InstanceOf: ConceptMap
Usage: #definition
Title: "Rôles Cercle de Soins (TRE_R260 / TRE_R259) → fonctions dans l'équipe"
* url = "https://interop.cm-sante-mentale.fr/fhir/ConceptMap/cm-cds-role-to-team-function"
* version = "0.1.0"
* name = "CMCDSRoleToTeamFunction"
* title = "Rôles Cercle de Soins → fonctions dans l'équipe / Cercle de Soins roles to team functions"
* status = #draft
* experimental = false
* publisher = "Projet open source cm-fhir"
* jurisdiction = urn:iso:std:iso:3166#FR "France"
* description = "Fonction dans l'équipe donnée à un membre d'un cercle de soins reçu au format ANS. Un rôle sans correspondance devient la fonction 'other' avec le libellé du rôle en texte ; le rôle d'origine est conservé. Team function given to a member of a Cercle de Soins CareTeam received; a role without a match becomes 'other' with the role's display as text, the original role kept."
* sourceCanonical = "https://interop.esante.gouv.fr/ig/fhir/cds/ValueSet/careteam-roles-vs"
* targetCanonical = Canonical(CMTeamFunctionVS)
* group[+].source = "https://mos.esante.gouv.fr/NOS/TRE_R260-HL7RoleClass/FHIR/TRE-R260-HL7RoleClass"
* group[=].target = "https://interop.cm-sante-mentale.fr/fhir/CodeSystem/cm-team-function"
* group[=].element[+].code = #CAREGIVER
* group[=].element[=].target[+].code = #aidant
* group[=].element[=].target[=].display = "Aidant·e"
* group[=].element[=].target[=].equivalence = #equivalent
* group[=].element[+].code = #NOK
* group[=].element[=].target[+].equivalence = #unmatched
* group[=].element[=].target[=].comment = "Personne de confiance : un rôle de l'entourage (RelatedPerson.relationship), pas une fonction dans l'équipe. A role of the entourage, carried by RelatedPerson.relationship."
* group[=].element[+].code = #GUARD
* group[=].element[=].target[+].equivalence = #unmatched
* group[=].element[=].target[=].comment = "Responsable légal : rôle de l'entourage (RelatedPerson.relationship). A role of the entourage."
* group[=].element[+].code = #ECON
* group[=].element[=].target[+].equivalence = #unmatched
* group[=].element[=].target[=].comment = "Personne à prévenir : rôle de l'entourage (RelatedPerson.relationship). A role of the entourage."
* group[=].element[+].code = #PROV
* group[=].element[=].target[+].equivalence = #unmatched
* group[=].element[=].target[=].comment = "La profession est portée par PractitionerRole.code. The profession is carried by PractitionerRole.code."
* group[=].element[+].code = #AGNT
* group[=].element[=].target[+].equivalence = #unmatched
* group[=].element[=].target[=].comment = "La profession est portée par PractitionerRole.code. The profession is carried by PractitionerRole.code."
* group[+].source = "https://mos.esante.gouv.fr/NOS/TRE_R259-HL7ParticipationFunction/FHIR/TRE-R259-HL7ParticipationFunction"
* group[=].target = "https://interop.cm-sante-mentale.fr/fhir/CodeSystem/cm-team-function"
* group[=].element[+].code = #PCP
* group[=].element[=].target[+].code = #medecin-generaliste
* group[=].element[=].target[=].display = "Médecin généraliste"
* group[=].element[=].target[=].equivalence = #relatedto
* group[=].element[+].code = #ATTPHYS
* group[=].element[=].target[+].code = #case-manager
* group[=].element[=].target[=].display = "Case manager / référent de parcours"
* group[=].element[=].target[=].equivalence = #relatedto

// Plan types -> TRE_R390 (TDDUI projet personnalisé, JDV_J367)
Instance: cm-plan-type-to-tre-r390
InstanceOf: ConceptMap
Usage: #definition
Title: "Types de projet → TRE_R390 (projet personnalisé médico-social)"
* url = "https://interop.cm-sante-mentale.fr/fhir/ConceptMap/cm-plan-type-to-tre-r390"
* version = "0.1.0"
* name = "CMPlanTypeToTRER390"
* title = "Types de projet → TRE_R390 / Plan types to TRE_R390"
* status = #draft
* experimental = false
* publisher = "Projet open source cm-fhir"
* jurisdiction = urn:iso:std:iso:3166#FR "France"
* description = "Type de projet personnalisé TDDUI (TRE_R390, JDV_J367) donné à un projet de ce guide transmis au format TDDUI. Le PPCS, plan de coordination sanitaire, n'a pas d'équivalent médico-social. Maps our plan types to TRE_R390 when a plan is sent as a TDDUI projet personnalisé."
* sourceCanonical = Canonical(CMPlanTypeVS)
* targetCanonical = "https://smt.esante.gouv.fr/fhir/ValueSet/jdv-j367-type-projet-personnalise-ms"
* group[+].source = "https://interop.cm-sante-mentale.fr/fhir/CodeSystem/cm-plan-type"
* group[=].target = "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-r390-type-projet-personnalise"
* group[=].element[+].code = #projet-soins-vie
* group[=].element[=].target[+].code = #PP
* group[=].element[=].target[=].display = "Projet Personnalisé"
* group[=].element[=].target[=].equivalence = #relatedto
* group[=].element[=].target[=].comment = "Le projet de soins et de vie co-construit est un projet personnalisé. The co-constructed care and life plan is a projet personnalisé."
* group[=].element[+].code = #ppcs
* group[=].element[=].target[+].equivalence = #unmatched
* group[=].element[=].target[=].comment = "Le PPCS est un plan de coordination sanitaire (DAC), pas un projet personnalisé médico-social. The PPCS is a health coordination plan."

// Life domains <-> SERAFIN-PH needs (JDV_J285): the category of a need sent as a TDDUI besoin
// (TDDUIServiceRequestBesoin.category, required binding to JDV_J285) and back.
Instance: cm-life-domain-to-serafin-besoin
InstanceOf: ConceptMap
Usage: #definition
Title: "Domaines de vie → besoins SERAFIN-PH (JDV_J285)"
* url = "https://interop.cm-sante-mentale.fr/fhir/ConceptMap/cm-life-domain-to-serafin-besoin"
* version = "0.1.0"
* name = "CMLifeDomainToSerafinBesoin"
* title = "Domaines de vie → besoins SERAFIN-PH / Life domains to SERAFIN-PH needs"
* status = #draft
* experimental = false
* publisher = "Projet open source cm-fhir"
* jurisdiction = urn:iso:std:iso:3166#FR "France"
* description = "Catégorie SERAFIN-PH (JDV_J285) donnée à un besoin de ce guide transmis au format TDDUI (TDDUIServiceRequestBesoin), à partir de son domaine de vie. Maps the life domain of a need to the SERAFIN-PH need category when the need is sent as a TDDUI besoin."
* sourceCanonical = Canonical(CMLifeDomainVS)
* targetCanonical = "https://mos.esante.gouv.fr/NOS/JDV_J285-Besoins_SERAFIN/FHIR/JDV-J285-Besoins-SERAFIN"
* group[+].source = "https://interop.cm-sante-mentale.fr/fhir/CodeSystem/cm-life-domain"
* group[=].target = "https://smt.esante.gouv.fr/terminologie-SERAFINPH"
* group[=].element[+].code = #sante
* group[=].element[=].target[+].code = #1.1
* group[=].element[=].target[=].display = "Besoins en matière de santé somatique ou psychique"
* group[=].element[=].target[=].equivalence = #equivalent
* group[=].element[+].code = #loisirs
* group[=].element[=].target[+].code = #1.3.4.1
* group[=].element[=].target[=].display = "Besoins pour participer à la vie sociale"
* group[=].element[=].target[=].equivalence = #wider
* group[=].element[=].target[=].comment = "Les loisirs relèvent de la participation à la vie sociale. Leisure is part of social participation."
* group[=].element[+].code = #scolarite-formation
* group[=].element[=].target[+].code = #1.3.3.1
* group[=].element[=].target[=].display = "Besoins en lien avec la vie scolaire et étudiante"
* group[=].element[=].target[=].equivalence = #relatedto
* group[=].element[=].target[=].comment = "La formation continue relève aussi de 1.3.3.3 (apprentissages). Continuing training is also 1.3.3.3."
* group[=].element[+].code = #emploi
* group[=].element[=].target[+].code = #1.3.3.2
* group[=].element[=].target[=].display = "Besoins en lien avec le travail et l'emploi"
* group[=].element[=].target[=].equivalence = #equivalent
* group[=].element[+].code = #vie-affective-sexualite
* group[=].element[=].target[+].code = #1.3.3.4
* group[=].element[=].target[=].display = "Besoins pour la vie familiale, la parentalité, la vie affective et sexuelle"
* group[=].element[=].target[=].equivalence = #wider
* group[=].element[+].code = #organisation-quotidien
* group[=].element[=].target[+].code = #1.3.2.2
* group[=].element[=].target[=].display = "Besoins pour accomplir les activités domestiques"
* group[=].element[=].target[=].equivalence = #relatedto
* group[=].element[=].target[=].comment = "Le budget et les revenus relèvent de 1.3.5.1. Budget and income are 1.3.5.1."
* group[=].element[+].code = #hygiene-de-vie
* group[=].element[=].target[+].code = #1.2.1.1
* group[=].element[=].target[=].display = "Besoins en lien avec l'entretien personnel"
* group[=].element[=].target[=].equivalence = #relatedto
* group[=].element[=].target[=].comment = "L'hygiène de vie (alimentation, sommeil, activité physique) relève aussi de 1.1.10 (prendre soin de sa santé). Lifestyle is also 1.1.10 (taking care of one's health)."
* group[=].element[+].code = #vie-sociale
* group[=].element[=].target[+].code = #1.3.4.1
* group[=].element[=].target[=].display = "Besoins pour participer à la vie sociale"
* group[=].element[=].target[=].equivalence = #equivalent
* group[=].element[+].code = #logement
* group[=].element[=].target[+].code = #1.3.2.1
* group[=].element[=].target[=].display = "Besoins pour vivre dans un logement"
* group[=].element[=].target[=].equivalence = #equivalent
* group[=].element[+].code = #droits-demarches
* group[=].element[=].target[+].code = #1.3.1.1
* group[=].element[=].target[=].display = "Besoins pour accéder aux droits et à la citoyenneté"
* group[=].element[=].target[=].equivalence = #equivalent

Instance: cm-serafin-besoin-to-life-domain
InstanceOf: ConceptMap
Usage: #definition
Title: "Besoins SERAFIN-PH (JDV_J285) → domaines de vie"
* url = "https://interop.cm-sante-mentale.fr/fhir/ConceptMap/cm-serafin-besoin-to-life-domain"
* version = "0.1.0"
* name = "CMSerafinBesoinToLifeDomain"
* title = "Besoins SERAFIN-PH → domaines de vie / SERAFIN-PH needs to life domains"
* status = #draft
* experimental = false
* publisher = "Projet open source cm-fhir"
* jurisdiction = urn:iso:std:iso:3166#FR "France"
* description = "Domaine de vie donné à un besoin TDDUI reçu, à partir de sa catégorie SERAFIN-PH ; la catégorie SERAFIN-PH est conservée à côté. Les besoins sans correspondance (mobilité, décisions et sécurité, pair-aidance, transport) gardent leur seule catégorie SERAFIN-PH. Life domain given to a TDDUI besoin received, from its SERAFIN-PH category, which is kept beside it; needs without a match keep their SERAFIN-PH category only."
* sourceCanonical = "https://mos.esante.gouv.fr/NOS/JDV_J285-Besoins_SERAFIN/FHIR/JDV-J285-Besoins-SERAFIN"
* targetCanonical = Canonical(CMLifeDomainVS)
* group[+].source = "https://smt.esante.gouv.fr/terminologie-SERAFINPH"
* group[=].target = "https://interop.cm-sante-mentale.fr/fhir/CodeSystem/cm-life-domain"
* group[=].element[+].code = #1.1
* group[=].element[=].target[+].code = #sante
* group[=].element[=].target[=].display = "Santé"
* group[=].element[=].target[=].equivalence = #equivalent
* group[=].element[+].code = #1.1.1
* group[=].element[=].target[+].code = #sante
* group[=].element[=].target[=].display = "Santé"
* group[=].element[=].target[=].equivalence = #narrower
* group[=].element[=].target[=].comment = "Le besoin SERAFIN-PH est une partie du domaine de vie. The SERAFIN-PH need is a part of the life domain."
* group[=].element[+].code = #1.1.2
* group[=].element[=].target[+].code = #sante
* group[=].element[=].target[=].display = "Santé"
* group[=].element[=].target[=].equivalence = #narrower
* group[=].element[=].target[=].comment = "Le besoin SERAFIN-PH est une partie du domaine de vie. The SERAFIN-PH need is a part of the life domain."
* group[=].element[+].code = #1.1.3
* group[=].element[=].target[+].code = #sante
* group[=].element[=].target[=].display = "Santé"
* group[=].element[=].target[=].equivalence = #narrower
* group[=].element[=].target[=].comment = "Le besoin SERAFIN-PH est une partie du domaine de vie. The SERAFIN-PH need is a part of the life domain."
* group[=].element[+].code = #1.1.4
* group[=].element[=].target[+].code = #sante
* group[=].element[=].target[=].display = "Santé"
* group[=].element[=].target[=].equivalence = #narrower
* group[=].element[=].target[=].comment = "Le besoin SERAFIN-PH est une partie du domaine de vie. The SERAFIN-PH need is a part of the life domain."
* group[=].element[+].code = #1.1.5
* group[=].element[=].target[+].code = #sante
* group[=].element[=].target[=].display = "Santé"
* group[=].element[=].target[=].equivalence = #narrower
* group[=].element[=].target[=].comment = "Le besoin SERAFIN-PH est une partie du domaine de vie. The SERAFIN-PH need is a part of the life domain."
* group[=].element[+].code = #1.1.6
* group[=].element[=].target[+].code = #sante
* group[=].element[=].target[=].display = "Santé"
* group[=].element[=].target[=].equivalence = #narrower
* group[=].element[=].target[=].comment = "Le besoin SERAFIN-PH est une partie du domaine de vie. The SERAFIN-PH need is a part of the life domain."
* group[=].element[+].code = #1.1.7
* group[=].element[=].target[+].code = #sante
* group[=].element[=].target[=].display = "Santé"
* group[=].element[=].target[=].equivalence = #narrower
* group[=].element[=].target[=].comment = "Le besoin SERAFIN-PH est une partie du domaine de vie. The SERAFIN-PH need is a part of the life domain."
* group[=].element[+].code = #1.1.8
* group[=].element[=].target[+].code = #sante
* group[=].element[=].target[=].display = "Santé"
* group[=].element[=].target[=].equivalence = #narrower
* group[=].element[=].target[=].comment = "Le besoin SERAFIN-PH est une partie du domaine de vie. The SERAFIN-PH need is a part of the life domain."
* group[=].element[+].code = #1.1.9
* group[=].element[=].target[+].code = #sante
* group[=].element[=].target[=].display = "Santé"
* group[=].element[=].target[=].equivalence = #narrower
* group[=].element[=].target[=].comment = "Le besoin SERAFIN-PH est une partie du domaine de vie. The SERAFIN-PH need is a part of the life domain."
* group[=].element[+].code = #1.1.10
* group[=].element[=].target[+].code = #sante
* group[=].element[=].target[=].display = "Santé"
* group[=].element[=].target[=].equivalence = #narrower
* group[=].element[=].target[=].comment = "Le besoin SERAFIN-PH est une partie du domaine de vie. The SERAFIN-PH need is a part of the life domain."
* group[=].element[+].code = #1.2.1.1
* group[=].element[=].target[+].code = #hygiene-de-vie
* group[=].element[=].target[=].display = "Hygiène de vie"
* group[=].element[=].target[=].equivalence = #relatedto
* group[=].element[+].code = #1.2.1.2
* group[=].element[=].target[+].code = #vie-sociale
* group[=].element[=].target[=].display = "Vie sociale"
* group[=].element[=].target[=].equivalence = #relatedto
* group[=].element[+].code = #1.3.1
* group[=].element[=].target[+].code = #droits-demarches
* group[=].element[=].target[=].display = "Accès aux droits et démarches"
* group[=].element[=].target[=].equivalence = #equivalent
* group[=].element[+].code = #1.3.1.1
* group[=].element[=].target[+].code = #droits-demarches
* group[=].element[=].target[=].display = "Accès aux droits et démarches"
* group[=].element[=].target[=].equivalence = #equivalent
* group[=].element[+].code = #1.3.2.1
* group[=].element[=].target[+].code = #logement
* group[=].element[=].target[=].display = "Logement"
* group[=].element[=].target[=].equivalence = #equivalent
* group[=].element[+].code = #1.3.2.2
* group[=].element[=].target[+].code = #organisation-quotidien
* group[=].element[=].target[=].display = "Organisation du quotidien"
* group[=].element[=].target[=].equivalence = #relatedto
* group[=].element[+].code = #1.3.3.1
* group[=].element[=].target[+].code = #scolarite-formation
* group[=].element[=].target[=].display = "Scolarité / formation"
* group[=].element[=].target[=].equivalence = #equivalent
* group[=].element[+].code = #1.3.3.2
* group[=].element[=].target[+].code = #emploi
* group[=].element[=].target[=].display = "Emploi"
* group[=].element[=].target[=].equivalence = #equivalent
* group[=].element[+].code = #1.3.3.3
* group[=].element[=].target[+].code = #scolarite-formation
* group[=].element[=].target[=].display = "Scolarité / formation"
* group[=].element[=].target[=].equivalence = #relatedto
* group[=].element[+].code = #1.3.3.4
* group[=].element[=].target[+].code = #vie-affective-sexualite
* group[=].element[=].target[=].display = "Vie affective et sexuelle"
* group[=].element[=].target[=].equivalence = #narrower
* group[=].element[=].target[=].comment = "Le besoin SERAFIN-PH est une partie du domaine de vie. The SERAFIN-PH need is a part of the life domain."
* group[=].element[+].code = #1.3.4.1
* group[=].element[=].target[+].code = #vie-sociale
* group[=].element[=].target[=].display = "Vie sociale"
* group[=].element[=].target[=].equivalence = #equivalent
* group[=].element[+].code = #1.3.5.1
* group[=].element[=].target[+].code = #organisation-quotidien
* group[=].element[=].target[=].display = "Organisation du quotidien"
* group[=].element[=].target[=].equivalence = #relatedto
* group[=].element[+].code = #1.3.5
* group[=].element[=].target[+].code = #organisation-quotidien
* group[=].element[=].target[=].display = "Organisation du quotidien"
* group[=].element[=].target[=].equivalence = #relatedto
* group[=].element[+].code = #1.2.1.3
* group[=].element[=].target[+].equivalence = #unmatched
* group[=].element[=].target[=].comment = "Pas de domaine de vie correspondant : la catégorie SERAFIN-PH est conservée seule. No matching life domain: the SERAFIN-PH category is kept alone."
* group[=].element[+].code = #1.2.1.4
* group[=].element[=].target[+].equivalence = #unmatched
* group[=].element[=].target[=].comment = "Pas de domaine de vie correspondant : la catégorie SERAFIN-PH est conservée seule. No matching life domain: the SERAFIN-PH category is kept alone."
* group[=].element[+].code = #1.3.3.5
* group[=].element[=].target[+].equivalence = #unmatched
* group[=].element[=].target[=].comment = "Pas de domaine de vie correspondant : la catégorie SERAFIN-PH est conservée seule. No matching life domain: the SERAFIN-PH category is kept alone."
* group[=].element[+].code = #1.3.4.2
* group[=].element[=].target[+].equivalence = #unmatched
* group[=].element[=].target[=].comment = "Pas de domaine de vie correspondant : la catégorie SERAFIN-PH est conservée seule. No matching life domain: the SERAFIN-PH category is kept alone."
