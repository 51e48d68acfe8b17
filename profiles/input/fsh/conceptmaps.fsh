// Life domains → Gravity SDOH Clinical Care categories, only where the meaning matches.

Instance: cm-life-domain-to-sdoh
InstanceOf: ConceptMap
Usage: #definition
Title: "Domaines de vie → catégories SDOH (Gravity)"
* url = "https://interop.cm-sante-mentale.fr/fhir/ConceptMap/cm-life-domain-to-sdoh"
* version = "0.1.0"
* name = "CMLifeDomainToSDOHCategory"
* title = "Domaines de vie → catégories SDOH (Gravity) / Life domains to SDOH categories"
* status = #draft
* experimental = false
* publisher = "Projet open source cm-fhir"
* jurisdiction = urn:iso:std:iso:3166#FR "France"
* description = "Correspondances des domaines de vie vers les catégories de déterminants sociaux de santé du guide HL7 Gravity SDOH Clinical Care, là où le sens correspond. Les domaines sans équivalent (santé, loisirs, vie affective, hygiène de vie, organisation du quotidien) sont déclarés 'unmatched'. Maps life domains to Gravity SDOH categories where the meaning matches."
* sourceCanonical = Canonical(CMLifeDomainVS)
* targetCanonical = "http://hl7.org/fhir/us/sdoh-clinicalcare/ValueSet/SDOHCC-ValueSetSDOHCategory"
* group.source = "https://interop.cm-sante-mentale.fr/fhir/CodeSystem/cm-life-domain"
* group.target = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
* group.element[+].code = #logement
* group.element[=].display = "Logement"
* group.element[=].target[+].code = #housing-instability
* group.element[=].target[=].display = "Housing Instability"
* group.element[=].target[=].equivalence = #narrower
* group.element[=].target[=].comment = "Le domaine logement couvre aussi l'accès au logement et sa qualité. The housing domain also covers access to housing and its quality."
* group.element[=].target[+].code = #homelessness
* group.element[=].target[=].display = "Homelessness"
* group.element[=].target[=].equivalence = #narrower
* group.element[=].target[=].comment = "Absence de logement : une situation du domaine logement. Homelessness is one situation of the housing domain."
* group.element[=].target[+].code = #inadequate-housing
* group.element[=].target[=].display = "Inadequate Housing"
* group.element[=].target[=].equivalence = #narrower
* group.element[=].target[=].comment = "Logement inadapté : une situation du domaine logement. Inadequate housing is one situation of the housing domain."
* group.element[+].code = #emploi
* group.element[=].display = "Emploi"
* group.element[=].target[+].code = #employment-status
* group.element[=].target[=].display = "Employment Status"
* group.element[=].target[=].equivalence = #relatedto
* group.element[+].code = #scolarite-formation
* group.element[=].display = "Scolarité / formation"
* group.element[=].target[+].code = #educational-attainment
* group.element[=].target[=].display = "Educational Attainment"
* group.element[=].target[=].equivalence = #relatedto
* group.element[+].code = #vie-sociale
* group.element[=].display = "Vie sociale"
* group.element[=].target[+].code = #social-connection
* group.element[=].target[=].display = "Social Connection"
* group.element[=].target[=].equivalence = #equivalent
* group.element[+].code = #droits-demarches
* group.element[=].display = "Accès aux droits et démarches"
* group.element[=].target[+].code = #health-insurance-coverage-status
* group.element[=].target[=].display = "Health Insurance Coverage Status"
* group.element[=].target[=].equivalence = #narrower
* group.element[=].target[=].comment = "La couverture maladie n'est qu'une partie de l'accès aux droits (MDPH, prestations…). Health coverage is only part of access to rights."
* group.element[+].code = #sante
* group.element[=].display = "Santé"
* group.element[=].target[+].equivalence = #unmatched
* group.element[+].code = #loisirs
* group.element[=].display = "Loisirs"
* group.element[=].target[+].equivalence = #unmatched
* group.element[+].code = #vie-affective-sexualite
* group.element[=].display = "Vie affective et sexuelle"
* group.element[=].target[+].equivalence = #unmatched
* group.element[+].code = #hygiene-de-vie
* group.element[=].display = "Hygiène de vie"
* group.element[=].target[+].equivalence = #unmatched
* group.element[+].code = #organisation-quotidien
* group.element[=].display = "Organisation du quotidien"
* group.element[=].target[+].equivalence = #unmatched
