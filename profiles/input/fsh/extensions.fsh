// Extensions, only where FHIR R4 has no element (core extensions are reused elsewhere:
// workflow-episodeOfCare on CarePlan, ServiceRequest and QuestionnaireResponse — a CareTeam
// is linked by EpisodeOfCare.team —, goal-acceptance, patient-birthPlace).

Extension: CMCaseManagementModelExtension
Id: cm-case-management-model
Title: "Modèle de case management (Case-management model)"
Description: "Modèle(s) de case management appliqué(s) dans l'accompagnement. R4 EpisodeOfCare n'a qu'un `type` (utilisé pour le programme). Case-management model(s) applied in the accompaniment; R4 EpisodeOfCare only has `type`, used for the programme."
* insert ConformanceMetadata
* ^context[+].type = #element
* ^context[=].expression = "EpisodeOfCare"
* . ^short = "Modèle de case management | Case-management model"
* value[x] only CodeableConcept
* valueCodeableConcept 1..1
* valueCodeableConcept from CMCaseManagementModelVS (required)

Extension: CMCarePillarExtension
Id: cm-care-pillar
Title: "Pilier du soin d'une action (Pillar of care of an action)"
Description: "Pilier du soin dont relève une action du projet personnalisé. R4 CarePlan.activity.detail n'a pas de catégorie. Pillar of care an action of the plan belongs to; R4 CarePlan.activity.detail has no category."
* insert ConformanceMetadata
* ^context[+].type = #element
* ^context[=].expression = "CarePlan.activity.detail"
* . ^short = "Pilier du soin | Pillar of care"
* value[x] only CodeableConcept
* valueCodeableConcept 1..1
* valueCodeableConcept from CMCarePillarVS (required)

Extension: CMPersonAgreementExtension
Id: cm-person-agreement
Title: "Accord de la personne avec son projet (Agreement of the person with the plan)"
Description: "Accord de la personne accompagnée avec son projet personnalisé (co-construction). R4 CarePlan n'a pas d'élément pour cela ; pour un objectif, l'extension core goal-acceptance est utilisée. The person's agreement with the personal plan; R4 CarePlan has no element for it (for a Goal, the core goal-acceptance extension is used)."
* insert ConformanceMetadata
* ^context[+].type = #element
* ^context[=].expression = "CarePlan"
* . ^short = "Accord de la personne | Agreement of the person"
* extension contains status 1..1 MS and date 0..1 MS
* extension[status] ^short = "agree | disagree | pending"
* extension[status].value[x] only code
* extension[status].valueCode 1..1
* extension[status].valueCode from CMAgreementStatusVS (required)
* extension[date] ^short = "Date de l'accord | Date of the agreement"
* extension[date].value[x] only dateTime
* extension[date].valueDateTime 1..1

// ---------------------------------------------------------------------------------------
// FR Core stand-ins. hl7.fhir.fr.core cannot be loaded by this offline build; these
// definitions keep FR Core's canonical URL so that instances are wire-compatible with
// FR Core, and declare only the subset this guide uses. Remove them when FR Core becomes a
// dependency (see profiles/README.md, "FR Core gap").

Extension: FRCoreIdentityReliabilityStandIn
Id: fr-core-identity-reliability
Title: "FR Core identity reliability (stand-in, subset)"
Description: "Sous-ensemble re-déclaré de l'extension FR Core fr-core-identity-reliability (même URL) : statut de confiance de l'identité au sens du RNIV, date et mode de validation. Re-declared subset of the FR Core identity reliability extension (same URL): RNIV identity status, validation date and mode."
* insert ConformanceMetadata
* ^url = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability"
* ^context[+].type = #element
* ^context[=].expression = "Patient"
* . ^short = "Fiabilité de l'identité | Identity reliability"
* extension contains identityStatus 0..1 MS and validationDate 0..1 and validationMode 0..1
* extension[identityStatus] ^short = "Statut de confiance RNIV : PROV | RECUP | VALI | QUAL"
* extension[identityStatus].value[x] only Coding
* extension[identityStatus].valueCoding 1..1
* extension[identityStatus].valueCoding from CMIdentityStatusVS (required)
* extension[validationDate] ^short = "Date de vérification de l'identité | Identity check date"
* extension[validationDate].value[x] only date
* extension[validationMode] ^short = "Pièce d'identité contrôlée (CN | PA | ...) | Identity document checked"
* extension[validationMode].value[x] only Coding

Extension: FRCoreAddressInseeCodeStandIn
Id: fr-core-address-insee-code
Title: "FR Core address INSEE code (stand-in)"
Description: "Extension FR Core re-déclarée (même URL) : code INSEE de la commune, utilisé pour le lieu de naissance (trait INS). Re-declared FR Core extension (same URL): INSEE code of the municipality, used for the place of birth (INS trait)."
* insert ConformanceMetadata
* ^url = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code"
* ^context[+].type = #element
* ^context[=].expression = "Address"
* . ^short = "Code INSEE de la commune | INSEE municipality code"
* value[x] only Coding
* valueCoding 1..1
* valueCoding.system 1..1
* valueCoding.code 1..1
