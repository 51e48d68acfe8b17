// Aliases: canonical URLs of external code systems, identifier systems and core extensions.

// HL7 terminology (THO) — code systems referenced by URL only (the THO package is not loaded).
Alias: $v2-0203 = http://terminology.hl7.org/CodeSystem/v2-0203
Alias: $v3-RoleCode = http://terminology.hl7.org/CodeSystem/v3-RoleCode
Alias: $v3-ActCode = http://terminology.hl7.org/CodeSystem/v3-ActCode
Alias: $v3-ActReason = http://terminology.hl7.org/CodeSystem/v3-ActReason
Alias: $v3-ParticipationType = http://terminology.hl7.org/CodeSystem/v3-ParticipationType
Alias: $consentscope = http://terminology.hl7.org/CodeSystem/consentscope
Alias: $provenance-participant-type = http://terminology.hl7.org/CodeSystem/provenance-participant-type
Alias: $v3-DataOperation = http://terminology.hl7.org/CodeSystem/v3-DataOperation
Alias: $goal-priority = http://terminology.hl7.org/CodeSystem/goal-priority
Alias: $goal-achievement = http://terminology.hl7.org/CodeSystem/goal-achievement
Alias: $loinc = http://loinc.org
Alias: $goal-acceptance-status = http://terminology.hl7.org/CodeSystem/goal-acceptance-status

// Core R4 extensions (present in hl7.fhir.r4.core#4.0.1)
Alias: $workflow-episodeOfCare = http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare
Alias: $goal-acceptance = http://hl7.org/fhir/StructureDefinition/goal-acceptance
Alias: $patient-birthPlace = http://hl7.org/fhir/StructureDefinition/patient-birthPlace
Alias: $humanname-own-name = http://hl7.org/fhir/StructureDefinition/humanname-own-name
Alias: $translation = http://hl7.org/fhir/StructureDefinition/translation

// FR Core (hl7.fhir.fr.core) — not loadable offline: URLs re-declared here (see README, "FR Core gap")
Alias: $fr-core-cs-v2-0203 = https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203
Alias: $fr-core-cs-v2-0445 = https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0445
Alias: $fr-core-identity-reliability = https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability

// French identifier systems
Alias: $ins-nir = urn:oid:1.2.250.1.213.1.4.8
Alias: $ins-nia = urn:oid:1.2.250.1.213.1.4.9
Alias: $ins-nir-test = urn:oid:1.2.250.1.213.1.4.10
Alias: $ins-nir-demo = urn:oid:1.2.250.1.213.1.4.11
Alias: $rpps = https://rpps.esante.gouv.fr
Alias: $finess = https://finess.esante.gouv.fr
Alias: $siret = https://sirene.fr

// ANS NOS terminologies (ans.fr.terminologies — not loadable offline: codes enumerated in our ValueSets)
Alias: $TRE-G15 = https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante
Alias: $TRE-R95 = https://mos.esante.gouv.fr/NOS/TRE_R95-UsagerTitre/FHIR/TRE-R95-UsagerTitre
Alias: $TRE-R94 = https://mos.esante.gouv.fr/NOS/TRE_R94-ProfessionSocial/FHIR/TRE-R94-ProfessionSocial
Alias: $TRE-R85 = https://mos.esante.gouv.fr/NOS/TRE_R85-RolePriseCharge/FHIR/TRE-R85-RolePriseCharge
Alias: $TRE-R243 = https://mos.esante.gouv.fr/NOS/TRE_R243-CompetenceSpecifique/FHIR/TRE-R243-CompetenceSpecifique
Alias: $TRE-R38 = https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale
Alias: $TRE-R66 = https://mos.esante.gouv.fr/NOS/TRE_R66-CategorieEtablissement/FHIR/TRE-R66-CategorieEtablissement
Alias: $TRE-R260 = https://mos.esante.gouv.fr/NOS/TRE_R260-HL7RoleClass/FHIR/TRE-R260-HL7RoleClass
Alias: $TRE-R390 = https://smt.esante.gouv.fr/fhir/CodeSystem/tre-r390-type-projet-personnalise

// Gravity SDOH Clinical Care (target of the life-domain ConceptMap)
Alias: $sdohcc-temp = http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes
