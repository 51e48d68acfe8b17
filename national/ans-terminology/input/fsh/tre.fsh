// Fragments of ANS terminology resources: only the concepts cm-fhir and the vendored guides
// use, as checked in fr-terminology-verified-codes.json (status as found there).

CodeSystem: TRE_R260_HL7RoleClass
Id: TRE-R260-HL7RoleClass
Title: "TRE_R260 HL7RoleClass (fragment)"
Description: "Rôles d'une personne ou d'une entité vis-à-vis de l'usager (fragment)."
* ^url = "https://mos.esante.gouv.fr/NOS/TRE_R260-HL7RoleClass/FHIR/TRE-R260-HL7RoleClass"
* ^identifier.system = "urn:ietf:rfc:3986"
* ^identifier.value = "urn:oid:2.16.840.1.113883.5.110"
* ^status = #active
* ^content = #fragment
* ^caseSensitive = true
* ^experimental = false
* #CAREGIVER "Aidant"
* #NOK "personne de confiance"
* #QUAL "Personne de confiance" "Deprecated 2024-03-29: use NOK"
* #GUARD "Responsable légal"
* #ECON "personne à prévenir en cas d'urgence"
* #PROV "Professionnel de santé"
* #AGNT "Professionnel caractérisé par son rôle"

CodeSystem: TRE_R259_HL7ParticipationFunction
Id: TRE-R259-HL7ParticipationFunction
Title: "TRE_R259 HL7ParticipationFunction (fragment)"
Description: "Fonction d'un participant (fragment)."
* ^url = "https://mos.esante.gouv.fr/NOS/TRE_R259-HL7ParticipationFunction/FHIR/TRE-R259-HL7ParticipationFunction"
* ^status = #active
* ^content = #fragment
* ^caseSensitive = true
* ^experimental = false
* #PCP "Médecin traitant"
* #ATTPHYS "Référent - Responsable du patient dans la structure de soins"
* #ADMPHYS "Responsable de l'admission"
* #DISPHYS "Responsable de la sortie"

CodeSystem: TRE_R390_TypeProjetPersonnalise
Id: tre-r390-type-projet-personnalise
Title: "TRE_R390 Type de projet personnalisé (médico-social)"
Description: "Types de projet personnalisé du médico-social."
* ^url = "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-r390-type-projet-personnalise"
* ^identifier.system = "urn:ietf:rfc:3986"
* ^identifier.value = "urn:oid:1.2.250.1.213.3.3.258"
* ^status = #active
* ^content = #complete
* ^caseSensitive = true
* ^experimental = false
* #PAI "Projet d'Accompagnement Individuel"
* #PPA "Projet Personnalisé d'Accompagnement"
* #PPIA "Projet Personnalisé Individuel d'Accompagnement"
* #PP "Projet Personnalisé"
* #PPI "Projet Personnalisé Individuel"
* #PA "Projet d'Accompagnement"
* #PI "Projet Individuel"

ValueSet: JDV_J367_TypeProjetPersonnaliseMS
Id: jdv-j367-type-projet-personnalise-ms
Title: "JDV_J367 Type de projet personnalisé (médico-social)"
Description: "Types de projet personnalisé du médico-social (TRE_R390)."
* ^url = "https://smt.esante.gouv.fr/fhir/ValueSet/jdv-j367-type-projet-personnalise-ms"
* ^status = #active
* ^experimental = false
* include codes from system https://smt.esante.gouv.fr/fhir/CodeSystem/tre-r390-type-projet-personnalise
